# Hop reliability, the sending half (shared/protocol/reliable.md, frame.md "Reliable header"):
# on a side added with reliable_enabled=True, frames with a reliable header get a sequence
# number per (side, data type), are kept until the peer's RELIABLE_ACK [ty u32, seq u32],
# resent byte-identical after reliable_retransmit_ms (at most reliable_max_retries times) and
# answered at once on a PACKET_REQUEST. Loaded by node.py when the first reliable side is added.
import sys

from . import schema
from .compat import const
from .kernels import copy_into
from .queues import _Views
from .schema import R_RELIABLE
from .wire import REL_ACK_ONLY, REL_HAS_ACK, REL_HAS_SEQ, REL_MODE, REL_UNORDERED, \
    FrameHeader, crc32_write, put_uleb, uleb_len

_F_CONTRACT = const(0x04)
_F_REL = const(0x42)  # reliable header present, compact form
_ORDERED = const(1)
_ACK = const(1)
_REQUEST = const(2)
_PARTIAL = const(3)
# 4.2.7's defaults (tuning.py), used while tuning.py is not loaded
_RETRANSMIT_MS = const(200)
_MAX_RETRIES = const(8)
_MAX_PENDING = const(32)


def config():
    """(retransmit_ms, max_retries, max_pending) from set_runtime_tuning_config()."""
    return _tuned(0, _RETRANSMIT_MS), _tuned(1, _MAX_RETRIES), _tuned(2, _MAX_PENDING)


def _tuned(k, default):
    # one key, read in place (no tuple per packet): tuning.py's list of values, reliable keys
    # from index 5 (tuning.reliable_config() order)
    t = sys.modules.get("sedsnet.tuning")
    return default if t is None else t._values[5 + k]


class SideTx:
    """The in-flight frames of one reliable side: a pool of slots (grown as needed, each
    buffer reused), at most max_pending of one data type in flight (4.2.7's window is per
    (side, type): discovery frames still go while a user type's window is full), and a
    backlog of frames waiting for their type's window (4.2.7 holds them: the log call does
    not fail when the hop window is full)."""

    def __init__(self):
        self.next_seq = {}  # data type -> last seq sent on this side
        self.bufs = []  # slot buffers (bytearray, grow-only)
        self.lens = []  # frame length in a slot, 0 = free
        self.views = []  # per slot a queues._Views of its buffer: no memoryview per send
        self.tys = []
        self.seqs = []
        self.sent = []  # ms of the last send
        self.tries = []  # resends so far
        self.skip = []  # 1: a PARTIAL_ACK named it, its next due resend is skipped
        self.used = 0
        self.backlog = []  # (ty, bytes frame, relayed) waiting for the window
        self.retransmits = 0
        self.given_up = 0
        self.backlog_dropped = 0
        self.unkept = 0

    def inflight(self, ty):
        n = 0
        lens = self.lens
        tys = self.tys
        for i in range(len(lens)):
            if lens[i] and tys[i] == ty:
                n += 1
        return n

    def waiting(self, ty):
        for f in self.backlog:
            if f[0] == ty:
                return True
        return False

    def free_slot(self):
        lens = self.lens
        for i in range(len(lens)):
            if not lens[i]:
                return i
        self.bufs.append(bytearray(0))  # sized (and charged) by the first frame
        self.views.append(None)
        for a in (lens, self.tys, self.seqs, self.sent, self.tries, self.skip):
            a.append(0)
        return len(lens) - 1

    def view(self, i):
        v = self.views[i]
        if v is None:
            v = self.views[i] = _Views(self.bufs[i], 8)  # (with the lengths next to it)
        return v.get(self.lens[i])

    def release(self, i):
        self.lens[i] = 0
        self.used -= 1

    def bytes_allocated(self):
        n = 0
        for b in self.bufs:
            n += len(b)
        return n


class HopReliable:
    """Per-node hop reliability (node.rel). send() takes over the reliable sides of a send
    mask; on_control() handles ACK / PACKET_REQUEST / PARTIAL_ACK; poll() resends."""

    def __init__(self, node):
        self.node = node
        self.hdr = FrameHeader(max_endpoints=32)
        self.inner = False  # True while our own sequenced frame goes through node._send
        self.orx = None  # reliable_rx.OrderedRx, made with the first sequenced frame received
        self.txs = []  # sides with a SideTx, to give back a removed side's backlog bytes

    def rx_seq(self, side, hdr, data, n):
        """A sequenced frame from a reliable side: True to handle it now. As 4.2.7: a type
        the schema calls not reliable gets no ACK at all; unordered (`06`) frames are ACKed
        one by one and handled at once; ordered (`04`) ones go through reliable_rx.py."""
        rec = schema.type_record(hdr.ty)
        if rec is not None and not rec[R_RELIABLE]:
            return True
        if self.orx is None:
            from .reliable_rx import OrderedRx
            self.orx = OrderedRx(self.node)
        if hdr.rel_flags & REL_UNORDERED:
            self.node._hop_ack(side.sid, hdr)  # every frame, repeats too (lost ACKs)
            return not self.orx.unordered_repeat(side, hdr.ty, hdr.seq, hdr.nonce)
        return self.orx.rx(side, hdr, data, n)

    # ---- sending --------------------------------------------------------------------------
    def send(self, mask, data, n, relayed):
        """Called by forward._send for a frame with a compact reliable header; sends it itself
        on the reliable sides of mask and returns the mask of the other sides."""
        if self.inner:
            return mask
        node = self.node
        sides = node.sides
        rmask = 0
        s = 0
        while mask >> s:
            if mask >> s & 1:
                side = sides[s]
                if side is not None and side.reliable:
                    rmask |= 1 << s
            s += 1
        if not rmask:
            return mask
        h = self.hdr
        h.parse(data, n, REL_MODE)
        rf = h.rel_flags
        if h.rel_form != 1 or rf & REL_ACK_ONLY:
            return mask
        rec = schema.type_record(h.ty)
        if rec is not None:
            mode = rec[R_RELIABLE]
        else:
            mode = 2 if rf & REL_UNORDERED else _ORDERED
        # 4.2.7: an ordered type sent over a wire contract (end to end) keeps "84 00"
        if not mode or (mode == _ORDERED and data[0] & _F_CONTRACT):
            return mask
        cap = _tuned(2, _MAX_PENDING)
        s = 0
        while rmask >> s:
            if rmask >> s & 1:
                st = getattr(sides[s], "rtx", None)
                if st is None:
                    st = sides[s].rtx = SideTx()  # on the Side: a re-added side ID starts anew
                    self.txs.append(sides[s])
                if st.inflight(h.ty) >= cap or st.waiting(h.ty):  # (keeps the order)
                    # 4.2.7 held 224 and more without an error: the wait is bounded by the
                    # node's max_queue_budget only
                    if not node._budget.take(n):
                        st.backlog_dropped += 1
                    else:
                        st.backlog.append((h.ty, bytes(node._view(data, n)), relayed))
                else:
                    self._first_send(s, st, data, n, mode, relayed, cap)
            s += 1
        return mask & ~rmask

    def _first_send(self, sid, st, data, n, mode, relayed, cap):
        h = self.hdr
        h.parse(data, n, REL_MODE)  # again: a tx callback may have used it for another side
        ty = h.ty
        seq = st.next_seq.get(ty, 0) + 1
        if seq > 0xFFFFFFFF:
            seq = 1
        st.next_seq[ty] = seq
        rf = h.rel_flags
        hl = 1 + (uleb_len(h.seq) if rf & REL_HAS_SEQ else 0) + (
            uleb_len(h.ack) if rf & REL_HAS_ACK else 0)
        rs = h.payload_start - hl  # where the reliable header starts
        tail = n - 4 - h.payload_start  # payload bytes
        size = rs + 1 + uleb_len(seq) + tail + 4
        i = st.free_slot()
        buf = st.bufs[i]
        if len(buf) < size:  # slot buffers are charged to max_queue_budget
            budget = self.node._budget
            if not budget.take(size + 16 - len(buf)):
                st.unkept += 1  # no room to keep it: sent once, as on a plain side
                buf = bytearray(size)
                self._fill(buf, data, h, rs, seq, mode, tail)
                self._tx(sid, buf, size, relayed)
                return
            buf = st.bufs[i] = bytearray(size + 16)
            st.views[i] = None
        self._fill(buf, data, h, rs, seq, mode, tail)
        st.lens[i] = size
        st.tys[i] = ty
        st.seqs[i] = seq
        st.sent[i] = self.node.now_ms()
        st.tries[i] = st.skip[i] = 0
        st.used += 1
        self._tx(sid, st.view(i), size, relayed)

    def _fill(self, buf, data, h, rs, seq, mode, tail):
        """The frame data with its reliable header made `04/06 <seq>`, into buf."""
        copy_into(buf, 0, data, 0, rs)
        buf[rs] = REL_HAS_SEQ | (REL_UNORDERED if mode != _ORDERED else 0)
        p = put_uleb(buf, rs + 1, seq)
        copy_into(buf, p, data, h.payload_start, tail)
        crc32_write(buf, 0, p + tail)

    def _tx(self, sid, buf, n, relayed):
        self.inner = True
        try:
            self.node._send(1 << sid, buf, n, relayed)
        finally:
            self.inner = False

    # ---- control frames -------------------------------------------------------------------
    def on_control(self, sid, hdr, data):
        """A hop ACK (1), PACKET_REQUEST (2) or PARTIAL_ACK (3) from side sid, payload
        [ty u32, seq u32] (checked by the engine)."""
        side = self.node.sides[sid]
        st = getattr(side, "rtx", None)
        if st is None or hdr.payload_end - hdr.payload_start != 8:
            return
        p = hdr.payload_start
        ty = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
        p += 4
        seq = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
        kind = hdr.ty
        rec = schema.type_record(ty)
        # 4.2.7's receiver ACKs an ordered type cumulatively (the highest seq it released)
        cumulative = kind == _ACK and rec is not None and rec[R_RELIABLE] == _ORDERED
        lens = st.lens
        if rec is not None and rec[R_RELIABLE] == _ORDERED and self._restarted(sid, st, kind,
                                                                                ty, seq):
            return
        for i in range(len(lens)):
            if lens[i] and st.tys[i] == ty:
                q = st.seqs[i]
                if q == seq or (cumulative and q < seq):
                    if kind == _REQUEST:
                        st.sent[i] = self.node.now_ms()
                        self._tx(sid, st.view(i), lens[i], False)
                    elif kind == _PARTIAL:
                        st.skip[i] = 1  # 4.2.7: kept, one resend round left out
                    else:
                        st.release(i)  # the backlog moves up at the next poll, as 4.2.7

    def _restarted(self, sid, st, kind, ty, seq):
        """One end of an ordered stream restarted (our addition: 4.2.7 stalls here for good).
        An ACK beyond our last seq: we restarted and the peer expects seq + 1. A request for
        seq 1 that we no longer hold: the peer restarted and expects 1. Either way what we
        have in flight of ty goes again, numbered from there. True when it was one."""
        nxt = st.next_seq.get(ty, 0)
        if kind == _ACK and seq > nxt:
            base = seq
        elif kind == _REQUEST and seq == 1 and nxt:
            base = 0
        else:
            return False
        lens = st.lens
        old = []
        for i in range(len(lens)):
            if lens[i] and st.tys[i] == ty:
                if base == 0 and st.seqs[i] == 1:
                    return False  # seq 1 still here: an ordinary request
                old.append((st.seqs[i], i))
        old.sort()
        frames = []
        for _q, i in old:
            frames.append(bytes(st.view(i)))
            st.release(i)
        st.next_seq[ty] = base
        for f in frames:
            self._first_send(sid, st, f, len(f), _ORDERED, False, 0)
        return True

    def _refill(self, sid, st):
        cap = _tuned(2, _MAX_PENDING)
        k = 0
        while k < len(st.backlog):
            ty, frame, relayed = st.backlog[k]
            if st.inflight(ty) >= cap:
                k += 1
                continue
            st.backlog.pop(k)
            self.node._budget.give(len(frame))
            h = self.hdr
            h.parse(frame, len(frame), REL_MODE)
            rec = schema.type_record(h.ty)
            mode = rec[R_RELIABLE] if rec is not None else (
                2 if h.rel_flags & REL_UNORDERED else _ORDERED)
            self._first_send(sid, st, frame, len(frame), mode, relayed, cap)

    # ---- timers ---------------------------------------------------------------------------
    def poll(self, now):
        """Resend what is due; give up on a frame after max_retries resends (4.2.7: silently,
        nothing raised); let the backlog into freed slots."""
        rto = _tuned(0, _RETRANSMIT_MS)
        retries = _tuned(1, _MAX_RETRIES)
        if self.orx is not None:
            self.orx.forget_removed()
        sides = self.node.sides
        for side in self.txs:
            if side.sid >= len(sides) or sides[side.sid] is not side:
                self.txs.remove(side)
                for f in side.rtx.backlog:
                    self.node._budget.give(len(f[1]))
                side.rtx.backlog = []
                self.node._budget.give(side.rtx.bytes_allocated())
                side.rtx.bufs = []
                break
        for sid in range(len(sides)):
            side = sides[sid]
            st = getattr(side, "rtx", None)
            if st is None or not (st.used or st.backlog):
                continue
            lens = st.lens
            for i in range(len(lens)):
                if lens[i] and now - st.sent[i] >= rto:
                    if st.skip[i]:
                        st.skip[i] = 0
                        st.sent[i] = now
                        continue
                    if st.tries[i] >= retries:
                        st.release(i)
                        st.given_up += 1
                        continue
                    st.tries[i] += 1
                    st.sent[i] = now
                    st.retransmits += 1
                    self._tx(sid, st.view(i), lens[i], False)
            self._refill(sid, st)

    def stats(self):
        """Hop counters over the reliable sides (export_runtime_stats()["reliable"]["hop"])."""
        out = {"in_flight": 0, "waiting": 0, "retransmits": 0, "given_up": 0,
               "wait_dropped": 0, "unkept": 0, "held": 0, "held_dropped": 0,
               "streams_evicted": 0, "bytes": self.budget_bytes()}
        for side in self.txs:
            st = side.rtx
            out["in_flight"] += st.used
            out["waiting"] += len(st.backlog)
            out["retransmits"] += st.retransmits
            out["given_up"] += st.given_up
            out["wait_dropped"] += st.backlog_dropped
            out["unkept"] += st.unkept
        if self.orx is not None:
            out["held"] = self.orx.held_count
            out["held_dropped"] = self.orx.dropped
            out["streams_evicted"] = self.orx.streams_evicted
        return out

    def budget_bytes(self):
        """What reliable delivery holds against max_queue_budget: in-flight slot buffers,
        frames waiting for the window, frames held after a gap."""
        n = self.orx.held_bytes + self.orx.seen_bytes if self.orx is not None else 0
        for side in self.txs:
            st = side.rtx
            n += st.bytes_allocated()
            for f in st.backlog:
                n += len(f[1])
        return n

    def pending(self, sid):
        """[(ty, seq)] in flight on side sid, oldest first (tests, stats)."""
        side = self.node.sides[sid]
        st = getattr(side, "rtx", None)
        if st is None:
            return []
        out = []
        for i in range(len(st.lens)):
            if st.lens[i]:
                out.append((st.tys[i], st.seqs[i]))
        out.sort(key=_by_seq)
        return out


def _by_seq(p):
    return p[1]
