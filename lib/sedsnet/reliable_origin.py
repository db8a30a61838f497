# End-to-end reliability, the origin side (shared/protocol/reliable.md "End-to-end",
# verified-4.2.7.md "Reliable"; host_tests/test_reliable_origin_parity.py): reliable user data
# we log towards discovered holders carries 4.2.7's wire contract (cflags 07: shape, the
# holders' sender hashes ascending, `84 00`), is kept until every holder named has sent its
# E2E ACK, and is resent only on the sides of the holders still missing. Ordered types go
# stop-and-wait per type, as 4.2.7 (the holder cannot reorder `84 00` frames); unordered ones
# are windowed. Once discovery forgets a type's holders, logs keep their contract to those
# still ACKing (reliable_holders.py). Loaded by the first reliable log with a discovered holder
# (router_log.py).
import sys

from . import ids
from .compat import const
from .control import eligible
from .errors import ArgumentError, IoError
from .reliable_e2e import peers
from .reliable_holders import Holders
from .schema import R_CLASS, R_COUNT, R_E2E, R_EPS, R_MDT, R_PRIORITY, R_RELIABLE, R_STATIC
from .wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, frame_size, pack_into, uleb_len

_ORDERED = const(1)
_LOCAL = const(255)  # routes.LOCAL
_TX_TAG = const(0xFE)  # router_log's ring tag of queued TX frames
# 4.2.7's defaults (tuning.py), used while tuning.py is not loaded
_MAX_RETRIES = const(8)
_MAX_PENDING = const(32)  # reliable_max_end_to_end_pending: all types together
_ENTRY_BYTES = const(128)  # a pending entry's list, ID and dict beside its frame (measured on the
# 32-bit heap: 196 B with a 46-byte frame and one holder)
_HOLDER_BYTES = const(24)  # a missing holder in an entry's dict
# an entry: [frame, ty, pid, {missing holder hash: its sides}, last send ms, resends,
#            ordered, sent (False: waiting behind its type's head), budget bytes, first send]
_F = const(0)
_TY = const(1)
_PID = const(2)
_MISS = const(3)
_AT = const(4)
_TRIES = const(5)
_ORD = const(6)
_SENT = const(7)
_COST = const(8)
_T0 = const(9)


def _tuned(k, default):
    t = sys.modules.get("sedsnet.tuning")  # (tuning.py's values, reliable keys from index 5)
    return default if t is None else t._values[5 + k]


def of(node):
    o = node.e2o
    if o is None:
        o = node.e2o = Origin(node)
        if node.discovery is not None:  # (its resends run from discovery's periodic())
            node.discovery.polls += (o.poll,)
    return o


def log(router, ty, rec, payload, ts, nonce, queue):
    """A reliable log: True when it went out (or waits) with a contract to the holders
    discovery knows; False when none is known (the caller sends it hop by hop, as 4.2.7).
    An E2E type is sealed after the contract is in (4.2.7: the contract is in the AAD).
    ts None: transmit_* (router_log.py), ty the frame's FrameHeader and payload the frame."""
    if ts is None:
        return transmit(router, ty, payload, rec, queue)
    eps = rec[R_EPS]
    local = router.local_endpoints()
    for e in eps:
        if e not in local:
            break
    else:
        return False  # all held here: 4.2.7 delivers it here only
    hold = holders(router, eps)
    o = router.e2o  # (holders discovery forgot that still ACK: sent to as well)
    sides = o.grace(ty, eps, hold, router.now_ms()) if o is not None else None
    if sides is not None:
        hold = sorted(sides)
    elif not hold:
        return False
    kid = -1
    if rec[R_E2E] or router._opts[10] == 3:  # (e2e_mode 3: every type sealed)
        from .e2e_frame import send_key
        kid = send_key(router, rec)
    return of(router).log(ty, rec, payload, ts, nonce, queue, hold, kid, sides)


def transmit(router, hdr, data, rec, queue):
    """transmit_* of a reliable type's frame (in hdr): as a log of it (4.2.7), with its own
    timestamp and nonce; False (sent as it is) with no holder known, or for a frame that is
    contracted or sealed already, names another sender or other endpoints than its type's."""
    if hdr.contract_start >= 0 or hdr.e2e or not hdr.has_nonce or hdr.src_addr != \
            router.src_addr or list(hdr.endpoints[:hdr.ep_count]) != list(rec[R_EPS]):
        return False
    return log(router, hdr.ty, rec, bytes(data[hdr.payload_start:hdr.payload_end]),
               hdr.timestamp_ms, hdr.nonce, queue)


def holders(node, eps):
    """Sorted sender hashes of the discovered routers holding any of eps, or None when one of
    eps is reachable where no TOPOLOGY board says who holds it (then nobody is named: a
    contract naming only some holders would keep the others from delivering it)."""
    disc = node.discovery
    m = peers(node)
    out = []
    for h in m:
        for e in m[h][1]:
            if e in eps:
                out.append(h)
                break
    for sid in disc.sides:
        bit = 1 << sid
        for e in eps:
            if disc.reachable(sid, e):
                for h in out:
                    if m[h][0] & bit and e in m[h][1]:
                        break
                else:
                    return None
    out.sort()
    return out


def contract(rec, targets):
    """cflags 07 (targets, inline shape, reliable header implied), the type's shape, the
    targets as u64le, as 4.2.7 writes them."""
    shape = rec[R_MDT] | (rec[R_CLASS] << 4)
    c = bytearray(b"\x07")
    if rec[R_STATIC]:
        c.append(shape | 0x40)
        _uleb(c, rec[R_COUNT])
    else:
        c.append(shape)
    _uleb(c, len(targets))
    for t in targets:
        for i in range(8):
            c.append((t >> (8 * i)) & 0xFF)
    return c


def _uleb(c, v):
    while v > 0x7F:
        c.append((v & 0x7F) | 0x80)
        v >>= 7
    c.append(v)


class Origin(Holders):
    """The reliable frames a Router originated and some holder has not ACKed yet (node.e2o):
    at most reliable_max_end_to_end_pending of them, their bytes charged to max_queue_budget."""

    def __init__(self, node):
        self.node = node
        self.pend = []
        self.hdr = FrameHeader(max_endpoints=32)
        self._holders_init()
        self.bytes = 0
        self.acked = self.resent = self.given_up = self.dropped = 0
        self.unkept = self.exhausted = 0

    # ---- logging --------------------------------------------------------------------------
    def log(self, ty, rec, payload, ts, nonce, queue, hold, kid=-1, sides=None):
        """hold: the holders (sorted hashes); sides: None when discovery names them all and
        knows the way, else {holder: side mask} (grace()), the frame sent on those sides."""
        node = self.node
        if len(self.pend) >= _tuned(4, _MAX_PENDING):
            raise IoError("reliable window full")  # as 4.2.7: nothing is sent or queued
        if sides is None:
            self.know(ty, hold)
        else:
            self.graced += 1
        c = contract(rec, hold)
        eps = rec[R_EPS]
        eb = 0
        for e in eps:
            eb += uleb_len(e)
        rel = REL_UNSEQUENCED | REL_HAS_SEQ
        size = frame_size(eb, ty, node.src_addr, ts, nonce, len(payload), len(c), rel)
        f = bytearray(size)
        pack_into(f, ty, node.src_addr, eps, ts, nonce, payload, c, rel)
        h = self.hdr
        h.parse(f, size, True)
        pid = bytearray(8)
        ids.write_packet_id(h, f, pid)
        clear = f  # (holders ACK the packet ID of the opened frame: the clear one's)
        if kid >= 0:
            from .e2e_frame import overhead, seal_frame
            f = bytearray(size + overhead(kid, len(payload)))
            f[:size] = clear
            size = seal_frame(f, 0, size, kid, ty, ts, nonce, payload)
        ordered = rec[R_RELIABLE] == _ORDERED
        wait = ordered and self._head(ty) is not None
        cost = size + _ENTRY_BYTES + _HOLDER_BYTES * len(hold)
        kept = node._budget.take(cost)
        if kept:
            m = peers(node) if sides is None else sides
            miss = {}
            for x in hold:
                p = m[x]  # its sides now: where to resend if discovery forgets it
                miss[x] = p if sides is not None else p[0]
            t = node.now_ms()
            self.pend.append([f, ty, pid, miss, t, 0, ordered, not wait, cost, t])
            self.bytes += cost
        else:
            self.unkept += 1  # no room to keep it: sent once, untracked
            wait = False
        if wait:  # stop-and-wait: delivered here now, sent when the type's head is done
            self._here(h, clear)
        elif queue or node._busy:
            # (with sides, its first copy may go nowhere: its resends go to their sides)
            if not node._tx.push(f, size, _TX_TAG, rec[R_PRIORITY], 0, True):
                if kept:
                    self._release(self.pend[-1])
                raise ArgumentError("frame of %d bytes does not fit the TX queue" % size)
            node._nested = node._nested or node._busy
        elif sides is not None:  # (discovery's route choice would miss the forgotten ones)
            mask = 0
            for x in sides:
                mask |= sides[x]
            mask &= eligible(node, _LOCAL, ty)
            if not mask:
                if kept:
                    self._release(self.pend[-1])
                raise IoError("no discovered route")
            node._busy = True
            try:
                self._here(h, clear)
                node._send(mask, f, size, False)
            finally:
                node._busy = False
                if node._nested:
                    node._drain()
        else:
            node._txbuf(size)[:size] = f
            try:
                node._originate(size)
            except IoError:  # ("no discovered route": no side leads to a holder now)
                if kept:
                    self._release(self.pend[-1])
                raise
        return True

    def _here(self, h, clear):
        # what _originate does before routing: its ID registered, local handlers called
        node = self.node
        ids.write_dup_key(h, clear, node._pid)
        node._recent.seen(node._pid)
        node._deliver(_LOCAL, h, clear, h.frame_len)

    def _head(self, ty):
        for e in self.pend:
            if e[_TY] == ty and e[_ORD] and e[_SENT]:
                return e
        return None

    def _release(self, e):
        self.pend.remove(e)
        self.bytes -= e[_COST]
        self.node._budget.give(e[_COST])
        if e[_ORD] and e[_SENT]:
            for w in self.pend:  # the next of its type (oldest first) goes now
                if w[_TY] == e[_TY] and w[_ORD]:
                    w[_SENT] = True
                    w[_AT] = w[_T0] = self.node.now_ms()
                    self._send(w)
                    break

    def _send(self, e):
        """e's frame on the sides where its missing holders are reachable (or were, when
        discovery no longer knows one that still ACKs)."""
        node = self.node
        m = peers(node)
        mask = 0
        miss = e[_MISS]
        for x in miss:
            p = m.get(x)
            mask |= p[0] if p is not None else miss[x]
        mask &= eligible(node, _LOCAL, e[_TY])
        if mask:
            f = e[_F]
            node._send(mask, f, len(f), False)

    # ---- E2E ACKs -------------------------------------------------------------------------
    def on_ack(self, hdr, data, holder):
        """An E2E ACK naming us, from holder (its sender hash): that holder is done."""
        p = hdr.payload_start
        if hdr.payload_end - p != 8:
            return
        for e in self.pend:
            pid = e[_PID]
            i = 0
            while i < 8 and pid[i] == data[p + i]:
                i += 1
            if i < 8:
                continue
            miss = e[_MISS]
            if holder in miss:
                self.acked_by(holder, miss.pop(holder), self.node.now_ms())
                if e[_SENT]:
                    self._ack_time(holder, e[_AT], e[_T0], e[_TRIES])
                self.acked += 1
                self.node._budget.give(_HOLDER_BYTES)
                e[_COST] -= _HOLDER_BYTES
                self.bytes -= _HOLDER_BYTES
                if not miss:
                    self._release(e)
            return

    # ---- timers ---------------------------------------------------------------------------
    def poll(self, now):
        """Drop holders discovery no longer knows; resend what is due toward the holders
        still missing; give up after reliable_max_retries resends (an ordered type: its
        waiting tail too, and IoError as 4.2.7's "exhausted retries" from periodic())."""
        if not self.pend:
            return
        m = peers(self.node)
        retries = _tuned(1, _MAX_RETRIES)
        failed = False
        # unordered entries first, then the ordered streams: 4.2.7's order within a round
        for e in [x for x in self.pend if not x[_ORD]] + [x for x in self.pend if x[_ORD]]:
            if e not in self.pend:
                continue  # released by an earlier entry's completion
            miss = e[_MISS]
            for x in list(miss):
                if x not in m and not self.alive(x, now):
                    # aged out of discovery: gone, unless its E2E ACKs still come (a lossy
                    # link can lose every announcement for 30 s while data gets through)
                    self._drop(e, x)
            if not miss:
                self._release(e)
                continue
            if not e[_SENT] or now - e[_AT] < self.rto(miss):
                continue
            if e[_TRIES] >= retries:
                self.given_up += 1
                if e[_ORD]:
                    failed = True
                    self.exhausted += 1
                    for w in list(self.pend):
                        if w is not e and w[_TY] == e[_TY] and w[_ORD]:
                            self.pend.remove(w)
                            self.bytes -= w[_COST]
                            self.node._budget.give(w[_COST])
                    e[_ORD] = False  # (nothing of its type is left to move up)
                self._release(e)
                continue
            e[_TRIES] += 1
            e[_AT] = now
            self.resent += 1
            self._send(e)
        if failed:
            raise IoError("ordered end-to-end delivery exhausted retries")

    def _drop(self, e, x):
        del e[_MISS][x]
        self.dropped += 1
        self.node._budget.give(_HOLDER_BYTES)
        e[_COST] -= _HOLDER_BYTES
        self.bytes -= _HOLDER_BYTES

    def left(self, src_addr):
        """A LEAVE from src_addr (control.dispatch, after discovery forgot it): that holder
        is done with everything pending, now. Entries left without a holder go at the next
        poll."""
        c = getattr(self.node, "_e2e_peers", None)
        h = c[3].get(src_addr) if c is not None else None  # (the table before the LEAVE)
        if h is None:
            return
        self.gone(h)
        for e in self.pend:
            if h in e[_MISS]:
                self._drop(e, h)

    def stats(self, out):
        """4.2.7's end_to_end counts and ours under "e2e" (export_runtime_stats()["reliable"])."""
        n = 0
        for e in self.pend:
            n += len(e[_MISS])
        out["end_to_end_pending_count"] = len(self.pend)
        out["end_to_end_pending_destination_count"] = n
        out["e2e"] = {"pending": len(self.pend), "holders_missing": n, "acked": self.acked,
                      "resent": self.resent, "given_up": self.given_up,
                      "exhausted": self.exhausted, "holders_dropped": self.dropped,
                      "unkept": self.unkept, "graced": self.graced, "bytes": self.bytes}
