# Time sync (issue 14): a Router's network clock, the TIME_SYNC frames (types 4/5/6, control-
# payloads.md, verified-4.2.7.md "Time sync") and the source election. Loaded only by a Router
# with timesync_enabled (or by a clock setter / configure_timesync call).
# The network clock is an 8-byte anchor (u64 LE epoch ms) plus a small-int `rel` (ms since the
# anchor): advancing, slewing and the timers touch small ints only, so periodic() makes no heap
# ints on a 32-bit board, and a ticks clock that wraps (2^30 / 2^29) is read wrap-safely.
from array import array

from .compat import const
from .options import NAMES

try:
    import supervisor  # noqa: F401  CircuitPython: supervisor.ticks_ms wraps at 2^29
    _PERIOD = 1 << 29
except ImportError:
    _PERIOD = 1 << 30  # MicroPython's ticks_ms period
_REBASE = const(1 << 27)  # rel past this is folded into the anchor (once in 1.5 days)
_W = const(16)  # requests remembered (and 2 * _W lower bounds): the bounds window
_FAR = const(1 << 28)  # |offset| beyond this is clipped (never one slew of days)
_TY_ANNOUNCE = const(4)
_TY_REQUEST = const(5)
_TY_RESPONSE = const(6)


def _le(data, off):
    """u64 LE at data[off:] as an int (API and setup paths only: may be a heap int)."""
    v = 0
    for i in range(7, -1, -1):
        v = (v << 8) | data[off + i]
    return v


class TimeSync:
    """The network clock and the time-sync state machine of one Router (node)."""

    def __init__(self, node, enabled=True):
        self.node = node
        o = dict(zip(NAMES, node._opts))
        self.anchor = bytearray(8)
        self.have = False  # a usable network time exists
        self.fine = False  # a response sample has corrected the announce-based time
        self.rel = 0
        self.corr = 0  # ms still to slew in (+: move ahead)
        self.acc = 0  # slew remainder, in ms * ppm
        self.slewed = 0  # total slewed, so stored samples stay comparable
        self.last = node.now_ms()
        self.src = -1  # sender address of the followed source (-1: none)
        self.src_prio = 0
        self.src_age = 0
        self.src_sid = -1
        self.t_ann = 0
        self.t_req = 0
        self.seq = 0
        self.pend = -1  # seq of the request in flight (-1: none)
        self.pend_t1 = 0
        self.pend_sl = 0  # self.slewed when the request left (t2 - t1 is that moment's bound)
        # bounds on the source's offset from us, each + self.slewed when taken: lower bounds
        # from announces and responses (source time at send - our time at receipt), upper
        # bounds from requests (t2 - t1); the estimate is the middle of the tightest pair
        self.lo = array("i", [0] * (2 * _W))
        self.hi = array("i", [0] * _W)
        self.nlo = self.nhi = self.ilo = self.ihi = 0
        self.parts = {}  # date/time fields set before a full time exists
        self.pay = bytearray(32)
        self.frames_in = self.frames_out = self.dropped = 0
        # the options as Router checked them (configure_timesync checks its own)
        self.apply(enabled, o["timesync_role"], o["timesync_priority"],
                   o["timesync_source_timeout_ms"], o["timesync_announce_interval_ms"],
                   o["timesync_request_interval_ms"], o["timesync_consumer_promotion_enabled"],
                   o["timesync_max_slew_ppm"])

    def apply(self, enabled, role, priority, timeout, ann_ms, req_ms, promote, ppm):
        self.enabled = enabled
        self.role = role
        self.priority = priority
        self.timeout = timeout
        self.ann_ms = ann_ms
        self.req_ms = req_ms
        self.promote = promote
        self.ppm = min(ppm, 1000000)


    # ---- the clock (small ints only) ------------------------------------------------------
    def advance(self):
        now = self.node.now_ms()
        d = now - self.last
        if d < 0:
            d += _PERIOD  # a ticks clock wrapped
            if d < 0:
                d = 0  # a clock that went backwards: hold
        self.last = now
        if d == 0:
            return
        if self.src_age <= self.timeout:
            self.src_age += d
        self.t_ann -= d
        self.t_req -= d
        if self.t_ann < -_FAR:
            self.t_ann = -1
        if self.t_req < -_FAR:
            self.t_req = -1
        if not self.have:
            return
        self.rel += d
        c = self.corr
        if c:
            ppm = self.ppm
            acc = self.acc
            while d > 0:  # chunks keep d * ppm a small int
                k = d if d < 1000 else 1000
                acc += k * ppm
                d -= k
            step = acc // 1000000
            acc -= step * 1000000
            if c > 0:
                if step >= c:
                    step = c
                    acc = 0
            elif step >= -c:
                step = c
                acc = 0
            else:
                step = -step
            self.acc = acc
            self.corr = c - step
            self.rel += step
            self.slewed += step
        if self.rel > _REBASE:
            self._rebase()

    def _rebase(self):
        r = self.rel
        self.rel = 0
        self.pend_t1 -= r
        a = self.anchor
        carry = r
        for i in range(8):
            carry += a[i]
            a[i] = carry & 0xFF
            carry >>= 8

    def _put(self, buf, off, extra=0):
        """Write anchor + rel + extra (u64 LE) into buf[off:off+8] without a big int."""
        a = self.anchor
        carry = self.rel + extra
        for i in range(8):
            carry += a[i]
            buf[off + i] = carry & 0xFF
            carry >>= 8

    def _rel_of(self, data, off):
        """The u64 at data[off:] minus the anchor, as a small int, or None when it is too far."""
        a = self.anchor
        b = self.pay  # scratch 24..31
        borrow = 0
        for i in range(8):
            v = data[off + i] - a[i] - borrow
            borrow = 1 if v < 0 else 0
            b[24 + i] = v & 0xFF
        if b[28] == b[29] == b[30] == b[31] == 0 and b[27] < 0x10:
            return b[24] | (b[25] << 8) | (b[26] << 16) | (b[27] << 24)
        if b[28] == b[29] == b[30] == b[31] == 0xFF and b[27] >= 0xF0:
            return -(((b[24] ^ 0xFF) | ((b[25] ^ 0xFF) << 8) | ((b[26] ^ 0xFF) << 16)
                      | ((b[27] ^ 0xFF) << 24)) + 1)
        return None

    def step_to(self, data, off):
        self.anchor[:] = data[off:off + 8]
        self.rel = 0
        self.corr = self.acc = 0
        self.have = True

    # ---- periodic -------------------------------------------------------------------------
    def _live(self):
        return self.src >= 0 and self.src_age <= self.timeout

    def _acting_source(self):
        if self.role == 1:
            return not self._live()  # (the source it follows, if any, is a better one)
        # Auto, or a Consumer allowed to promote itself: with a time and no live source (a
        # source we follow won the election: worse ones are not followed)
        return self.have and (self.role == 2 or self.promote) and not self._live()

    def poll(self):
        """Advance the clock; send the announce or request that is due (4.2.7's poll_timesync)."""
        self.advance()
        if not self.enabled:
            return
        if self.src >= 0 and not self._live():
            self.src = -1  # source timed out: holdover (the clock runs on, slewing what is left)
            self.pend = -1
        if self._acting_source():
            if self.t_ann <= 0:
                self.t_ann = self.ann_ms
                self._announce()
        elif self._live() and self.t_req <= 0 and self.src_sid >= 0:
            self.t_req = self.req_ms
            self._request()

    def _stamp_into(self, buf, off):
        if self.have:
            self._put(buf, off)
        else:  # a source without a time announces its uptime, as 4.2.7
            t = self.node.now_ms()
            for i in range(8):
                buf[off + i] = t & 0xFF
                t >>= 8

    def _announce(self):
        p = self.pay
        pr = self.priority
        for i in range(8):
            p[i] = pr & 0xFF
            pr >>= 8
        self._stamp_into(p, 8)
        pl = memoryview(p)[:16]
        n = self.node
        ts = self.network_time_ms()
        for s in n.sides:
            if s is not None and s.egress:
                self._send(s.sid, _TY_ANNOUNCE, pl, ts)

    def _send(self, sid, ty, payload, ts):
        self.frames_out += 1
        n = self.node
        n.send_control(sid, ty, payload, ts=n.now_ms() if ts is None else ts)

    def _request(self):
        self.seq += 1
        if self.seq > 0x3FFFFFFF:
            self.seq = 1
        p = self.pay
        s = self.seq
        for i in range(8):
            p[i] = s & 0xFF
            s >>= 8
        self.pend = self.seq
        self.pend_t1 = self.rel
        self.pend_sl = self.slewed
        t = self.node.now_ms()  # t1: our local clock, as 4.2.7 sends it (the source echoes it)
        for i in range(8, 16):
            p[i] = t & 0xFF
            t >>= 8
        self._send(self.src_sid, _TY_REQUEST, memoryview(p)[:16], self.network_time_ms())

    # ---- frames ---------------------------------------------------------------------------
    def on_frame(self, sid, hdr, data):
        """A TIME_SYNC frame from side sid (never delivered to handlers): counted and dropped
        when its payload is not the type's size."""
        self.advance()
        p = hdr.payload_start
        n = hdr.payload_end - p
        ty = hdr.ty
        if n != (32 if ty == _TY_RESPONSE else 16) or not self.enabled \
                or data[p + 15] >= 0x80 or data[p + n - 1] >= 0x80:  # times past 2^63 ms
            self.dropped += 1
            return
        self.frames_in += 1
        if ty == _TY_ANNOUNCE:
            self._on_announce(sid, hdr.src_addr, data, p)
        elif ty == _TY_REQUEST:
            if self._acting_source():
                r = self.pay
                r[0:16] = data[p:p + 16]
                self._stamp_into(r, 16)
                r[24:32] = r[16:24]  # t3 = t2: answered at receipt, as 4.2.7 does
                self._send(sid, _TY_RESPONSE, memoryview(r)[:32], self.network_time_ms())
        elif self.pend >= 0 and hdr.src_addr == self.src:
            self._on_response(data, p)

    def _on_announce(self, sid, addr, data, p):
        if data[p + 7] or data[p + 6] or data[p + 5] or data[p + 4] or data[p + 3] >= 0x20:
            prio = _le(data, p)
        else:
            prio = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
        if self.role == 1 and (prio, addr) >= (self.priority, self.node.src_addr):
            if not self.have:  # a Source without a time takes a worse one's, and announces on
                self.step_to(data, p + 8)
                self.fine = False
            return  # (4.2.7: a Source follows a better one only, and is silent meanwhile)
        if self._live() and addr != self.src and (prio, addr) >= (self.src_prio, self.src):
            return  # a worse source than the one we follow
        if self.have and (self.role == 2 or self.promote) and not self._live() \
                and (self.priority, self.node.src_addr) < (prio, addr):
            return  # we announce ourselves and win the election
        if addr != self.src:  # a new source (first, better, or after a timeout): failover
            self.src = addr
            self.nlo = self.nhi = self.ilo = self.ihi = 0
            self.pend = -1
            self.t_req = 0
        self.src_prio = prio
        self.src_sid = sid
        self.src_age = 0
        if not self.have:
            self.step_to(data, p + 8)
            self.fine = False
        r = self._rel_of(data, p + 8)
        if r is None:  # days away (a new source's time): big ints, once; target() clips it
            self.target(_le(data, p + 8) - _le(self.anchor, 0) - self.rel)
            return
        self._bound(r - self.rel, None)
        self._estimate()  # (no response yet: follows the announce, late by the path, as 4.2.7)

    def _bound(self, lo, hi):
        if lo is not None:
            self.lo[self.ilo] = lo + self.slewed
            self.ilo = (self.ilo + 1) % (2 * _W)
            if self.nlo < 2 * _W:
                self.nlo += 1
        if hi is not None:
            self.hi[self.ihi] = hi + self.pend_sl
            self.ihi = (self.ihi + 1) % _W
            if self.nhi < _W:
                self.nhi += 1

    def _estimate(self):
        sl = self.slewed
        lo = self.lo[0]
        for i in range(1, self.nlo):
            if self.lo[i] > lo:
                lo = self.lo[i]
        lo -= sl
        if self.nhi == 0:
            self.target(lo)
            return lo
        hi = self.hi[0]
        for i in range(1, self.nhi):
            if self.hi[i] < hi:
                hi = self.hi[i]
        hi -= sl
        if lo > hi:  # bounds that disagree: the offset moved (drift, a new time): start over
            self.nlo = self.nhi = self.ilo = self.ihi = 0
            return None
        mid = (lo + hi) // 2
        self.target(mid)
        return mid

    def target(self, off):
        if off > _FAR:
            off = _FAR
        elif off < -_FAR:
            off = -_FAR
        self.corr = off

    def _on_response(self, data, p):
        if data[p + 4] or data[p + 5] or data[p + 6] or data[p + 7] or \
                (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) \
                != self.pend:
            return
        self.pend = -1
        t2 = self._rel_of(data, p + 16)
        t3 = self._rel_of(data, p + 24)
        if t2 is None or t3 is None:
            return
        t1 = self.pend_t1
        t4 = self.rel
        dly = (t4 - t1) - (t3 - t2)
        if dly < 0 or dly > _FAR:
            return
        self._bound(t3 - t4, t2 - t1)
        mid = self._estimate()
        if mid is None:  # (the bounds were reset: this sample alone)
            self._bound(t3 - t4, t2 - t1)
            mid = self._estimate()
        if not self.fine and mid is not None and mid > 0:
            self.rel += mid  # the announce time was late by the path: a forward step, once
            self.slewed += mid
            self.corr = 0
        self.fine = True

    # ---- API ------------------------------------------------------------------------------
    def network_time_ms(self):
        self.advance()
        if not self.have:
            return None
        return _le(self.anchor, 0) + self.rel

    def stamp(self):
        """The timestamp of a packet we log: the network time once one exists (4.2.7)."""
        if not self.have:  # (no clock read beyond the one log() always made)
            return self.node.now_ms()
        return self.network_time_ms()

    def poll_timesync(self):
        self.poll()

    def __getattr__(self, name):
        # the rest of the API (configure_timesync, network_time, the setters): timesync_api.py,
        # loaded by the first call of one
        if name[:1] == "_":
            raise AttributeError(name)
        from . import timesync_api
        f = getattr(timesync_api, name)
        return lambda *a, **kw: f(self, *a, **kw)


API = ("network_time_ms", "network_time", "configure_timesync", "poll_timesync",
       "set_local_network_date", "set_local_network_time", "set_local_network_time_hm",
       "set_local_network_time_hms", "set_local_network_time_hms_millis",
       "set_local_network_time_hms_nanos", "set_local_network_datetime",
       "set_local_network_datetime_millis", "set_local_network_datetime_nanos")
