# Hop reliability, the receiving half for ordered frames (`04 <seq>`) on a reliable side, as
# 4.2.7 does it (shared/protocol/reliable.md, host_tests/test_reliable_parity.py): per (side,
# type) the next expected seq starts at 1; the expected frame is handled and releases the held
# ones after it, with one RELIABLE_ACK [ty, highest released]; a later frame is held and
# answered with PARTIAL_ACK [ty, its seq] and PACKET_REQUEST [ty, expected]; an older one is
# answered with RELIABLE_ACK [ty, expected - 1] and dropped. Unordered frames (`06`) never come
# here: the engine ACKs them one by one and delivers them at once, unless this module knows the
# seq as a repeat (our addition: 4.2.7 relies on its recent-ID cache only). Loaded with the first
# sequenced frame.
from array import array

from . import ids
from .compat import const
from .wire import pack_into

_ACK = const(1)
_REQUEST = const(2)
_PARTIAL = const(3)
_D_DUP = const(1)  # engine.D_DUP
_D_EVICTED = const(6)  # engine.D_EVICTED: a held frame that found no room


class _Stream:
    """One (side, type): the expected seq, held frames {seq: bytes}, and the range of held
    frames released into the node's RX queue but not handled yet."""

    def __init__(self):
        self.exp = 1
        self.held = {}
        self.lo = self.hi = 0


_SPAN = const(512)  # unordered repeats recognised by seq within this many of the newest
_MAX_STREAMS = const(32)  # ordered (type) streams per side; the 33rd evicts one (counted)


class _Seen:
    """One unordered (side, type): the nonce of each of the last _SPAN seqs that arrived, so a
    resend whose packet ID has left the node's recent-ID cache is still known as a repeat. A
    seq seen with another nonce is a new packet (a peer that restarted its counters), delivered
    as 4.2.7 does. 2 bytes per seq, charged to max_queue_budget."""

    def __init__(self):
        self.hi = 0
        self.tags = array("H", bytes(2 * _SPAN))  # 0 = nothing (4.2.7 nonces are odd)

    def repeat(self, seq, nonce):
        """True when seq arrived before with this nonce; remembers it."""
        hi = self.hi
        tags = self.tags
        tag = nonce | 1
        if seq > hi:
            if seq - hi >= _SPAN:
                for i in range(_SPAN):
                    tags[i] = 0
            else:
                for q in range(hi + 1, seq + 1):  # new seqs: their slots held older ones
                    tags[q % _SPAN] = 0
            self.hi = seq
        elif hi - seq >= _SPAN:
            return False  # too old to tell: the recent-ID cache decides
        i = seq % _SPAN
        if tags[i] == tag:
            return True
        tags[i] = tag
        return False


class OrderedRx:
    def __init__(self, node):
        self.node = node
        self.held_bytes = 0
        self.held_count = 0
        self.dropped = 0
        self.seen_bytes = 0  # _Seen tables
        self.streams_evicted = 0  # ordered streams dropped to stay within _MAX_STREAMS a side
        self.sides = []  # sides with streams, to give back a removed side's held bytes

    def forget_removed(self):
        live = self.node.sides
        for side in self.sides:
            if side.sid >= len(live) or live[side.sid] is not side:
                self.sides.remove(side)
                for st in getattr(side, "rrx", {}).values():
                    for f in st.held.values():
                        self._give(f)
                    st.held = {}
                n = 2 * _SPAN * len(getattr(side, "rseen", ()))
                self.node._budget.give(n)
                self.seen_bytes -= n
                side.rseen = {}
                return  # one per call is enough (periodic)

    def _stream(self, side, ty):
        m = getattr(side, "rrx", None)
        if m is None:
            m = side.rrx = {}  # on the Side: a re-added side ID starts anew
            if side not in self.sides:
                self.sides.append(side)
        st = m.get(ty)
        if st is None:
            if len(m) >= _MAX_STREAMS:  # hostile or many types: bounded, the idlest one goes
                old = None
                for k in m:
                    if not m[k].held:
                        old = k
                        break
                if old is None:
                    old = next(iter(m))
                for f in m.pop(old).held.values():
                    self._give(f)
                self.streams_evicted += 1
            st = m[ty] = _Stream()
        return st

    def unordered_repeat(self, side, ty, seq, nonce):
        m = getattr(side, "rseen", None)
        if m is None:
            m = side.rseen = {}
        st = m.get(ty)
        if st is None:
            if not self.node._budget.take(2 * _SPAN):
                return False  # no room: the recent-ID cache alone decides, as 4.2.7
            st = m[ty] = _Seen()
            self.seen_bytes += 2 * _SPAN
            if side not in self.sides:
                self.sides.append(side)
        if st.repeat(seq, nonce):
            side.drops[_D_DUP] += 1
            return True
        return False

    def _ctl(self, sid, kind, ty, seq):
        node = self.node
        p = node._ack_payload  # the engine's hop-ACK buffers (and their cached views)
        for i in range(4):
            p[i] = (ty >> (8 * i)) & 0xFF
            p[4 + i] = (seq >> (8 * i)) & 0xFF
        n = pack_into(node._ack_frame, kind, node.src_addr, None, node.now_ms(), ids.next_nonce(),
                      p)
        node._send(1 << sid, node._ack_frame, n, False)

    def rx(self, side, hdr, data, n):
        """True: handle this frame now; False: held or an old repeat (answered here)."""
        ty = hdr.ty
        seq = hdr.seq
        st = self._stream(side, ty)
        if st.lo and st.lo <= seq <= st.hi:  # a held frame we released: already ACKed
            side.rx_packets -= 1  # (counted when it first arrived)
            side.rx_bytes -= n
            st.lo = seq + 1
            if st.lo > st.hi:
                st.lo = st.hi = 0
            return True
        exp = st.exp
        if seq == exp:
            held = st.held
            k = seq
            while (k + 1) in held:
                k += 1
            self._ctl(side.sid, _ACK, ty, k)
            st.exp = k + 1
            if k > seq:
                st.lo = seq + 1
                st.hi = k
                node = self.node
                for q in range(seq + 1, k + 1):
                    f = held.pop(q)
                    self._give(f)
                    node._rx_defer(side, f)  # handled after this one, in order
            return True
        if seq < exp:
            self._ctl(side.sid, _ACK, ty, exp - 1)
            side.drops[_D_DUP] += 1
            return False
        held = st.held
        if seq not in held:
            cap = _max_pending()
            budget = self.node._budget
            if len(held) >= cap or not budget.take(n):
                side.drops[_D_EVICTED] += 1
                self.dropped += 1
            else:
                held[seq] = bytes(data[:n])
                self.held_bytes += n
                self.held_count += 1
        self._ctl(side.sid, _PARTIAL, ty, seq)
        self._ctl(side.sid, _REQUEST, ty, exp)
        return False

    def _give(self, f):
        self.node._budget.give(len(f))
        self.held_bytes -= len(f)
        self.held_count -= 1


def _max_pending():
    from .reliable import config
    return config()[2]
