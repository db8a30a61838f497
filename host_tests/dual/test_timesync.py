# Time sync (lib/sedsnet/timesync.py, timesync_api.py) on in-process links with fake clocks:
# lazy loading, roles and election, slew, holdover, failover, a clock that wraps, path-delay
# compensation, the API and bad input. Numbers asserted here were probed from 4.2.7
# (verified-4.2.7.md "Time sync"; host_tests/test_timesync_interop.py checks them live).
import sys

import sedsnet
from sedsnet import errors
from sedsnet.wire import pack_into
from support import Clock, micropython_only, raises

EP = 175
TY = 3750  # static f32 x1 -> EP (IDs no other dual module uses: CPython shares them)
JAN1 = 1767268800000  # 2026-01-01 12:00:00 UTC
WRAP = 1 << 30


def setup():
    if not sedsnet.data_type_exists(TY):
        sedsnet.register_endpoint(EP, "TS_EP")
        sedsnet.register_data_type(TY, "TS_F", True, 1, 1, 0, [EP])


class Net:
    """Routers joined by links with a delay per direction (ms; a list is cycled through, so a
    link can jitter deterministically); frames leave on the clock's tick."""

    def __init__(self, clock):
        self.clock = clock
        self.q = []
        self.nodes = []
        self.up = {}
        self.loss = None  # a _Lossy: drops frames

    def node(self, name, **kw):
        r = sedsnet.Router(now_ms=self.clock, hostname=name, **kw)
        self.nodes.append(r)
        return r

    def link(self, a, b, delay=0, back=None):
        back = delay if back is None else back
        sa = a.add_side_packed("to", self._tx(b, [0], delay, a))
        sb = b.add_side_packed("to", self._tx(a, [0], back, b))
        self._sides = getattr(self, "_sides", {})
        self._sides[(a, b)] = sb
        self._sides[(b, a)] = sa

    def _tx(self, dst, k, delay, src):
        def tx(frame):
            if not self.up.get(src, True) or not self.up.get(dst, True):
                return
            if self.loss is not None and self.loss.drop():
                return
            d = delay[k[0] % len(delay)] if isinstance(delay, list) else delay
            k[0] += 1
            self.q.append((self.clock.t + d, dst, src, bytes(frame)))
        return tx

    def run(self, until, step=10, each=None):
        c = self.clock
        while c.t < until:
            c.t += step
            for r in self.nodes:
                if self.up.get(r, True):
                    r.periodic(0)
            while True:  # (an answer on a 0 ms link arrives in the same tick)
                due = [x for x in self.q if x[0] <= c.t]
                if not due:
                    break
                self.q = [x for x in self.q if x[0] > c.t]
                for _, dst, src, f in due:
                    if self.up.get(dst, True):
                        dst.receive_packed_from_side(self._sides[(src, dst)], f)
            if each is not None:
                each()


def _ty(frame):
    return sedsnet.peek_header(bytes(frame))["ty"]


def _src_con(delay=0, back=None, **kw):
    clock = Clock()
    net = Net(clock)
    src = net.node("TS_SRC", timesync_role=1)
    con = net.node("TS_CON", **kw)
    net.link(src, con, delay, back)
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    return net, src, con


def test_a_plain_router_does_not_load_timesync():
    # (first in the module: later cases load it)
    for k in ("timesync", "timesync_api"):  # forget them, as in a fresh process
        if "sedsnet." + k in sys.modules:
            del sys.modules["sedsnet." + k]
        sedsnet.__dict__.pop(k, None)  # (the package caches what it imported)
    setup()
    clock = Clock()
    got = []
    # a default Router is a Consumer with time sync on (4.2.7): it needs the module only once
    # a TIME_SYNC frame or a time-sync call comes
    a = sedsnet.Router(now_ms=clock, hostname="PLAIN_A", timesync_enabled=False)
    b = sedsnet.Router(now_ms=clock, hostname="PLAIN_B",
                       handlers=[(EP, None, got.append)])
    sb = b.add_side_packed("a", lambda f: None)
    a.add_side_packed("b", lambda f: b.receive_packed_from_side(sb, f))
    relay = sedsnet.Relay(now_ms=clock)
    relay.add_side_packed("x", lambda f: None)
    for i in range(3):
        clock.t += 600
        a.log_f32(TY, [1.5])
        a.periodic(0)
        b.periodic(0)
        relay.periodic(0)
    assert len(got) == 3
    assert "sedsnet.timesync" not in sys.modules and "sedsnet.timesync_api" not in sys.modules
    # the first TIME_SYNC frame loads it; so does the API (4.2.7's setters work with time sync
    # disabled)
    ann = sedsnet.make_packet(4, "TS_FAR", [200], JAN1, bytes([9, 0, 0, 0, 0, 0, 0, 0])
                              + bytes((JAN1 >> (8 * i)) & 0xFF for i in range(8)))
    b.receive_packed_from_side(sb, ann.pack())
    assert "sedsnet.timesync" in sys.modules and b.network_time_ms() == JAN1
    assert b.ts.src_prio == 9 and a.ts is None and a.network_time_ms() is None
    a.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    assert a.network_time_ms() == JAN1 and not a.ts.enabled


def test_roles_and_bad_arguments():
    clock = Clock()
    r = sedsnet.Router(now_ms=clock, hostname="TS_ARGS")
    assert r.network_time_ms() is None and r.network_time() is None
    raises(errors.ArgumentError, sedsnet.Router, now_ms=clock, timesync_role=3)
    raises(errors.ArgumentError, r.configure_timesync, role=3)
    raises(errors.ArgumentError, r.configure_timesync, enabled=1)
    raises(errors.ArgumentError, r.set_local_network_datetime_millis, 2026, 13, 1, 0, 0, 0, 0)
    raises(errors.ArgumentError, r.set_local_network_datetime_millis, 2026, 1, 1, 24, 0, 0, 0)
    raises(errors.ArgumentError, r.set_local_network_datetime_millis, 2026, 1, 1, 0, 0, 0, 1000)
    raises(errors.ArgumentError, r.set_local_network_datetime_millis, 2026, 1, 1, 0, 0, 0, -1)
    raises(errors.ArgumentError, r.set_local_network_datetime_millis, 2026.0, 1, 1, 0, 0, 0, 0)
    assert r.network_time_ms() is None
    raises(errors.ArgumentError, sedsnet.Router, handlers=[(200, None, lambda f: None)])
    setup()
    for ty in (4, 5, 6):  # 4.2.7 lets these through; a user TIME_SYNC frame confuses peers
        raises(errors.ArgumentError, r.log_bytes, ty, bytes(16))
    assert r.sender_id == "TS_ARGS"
    raises(AttributeError, getattr, r, "set_nothing")


def test_setters_and_network_time_dict():
    clock = Clock(1000)
    r = sedsnet.Router(now_ms=clock, hostname="TS_SET")
    r.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    clock.t = 1500
    assert r.network_time_ms() == JAN1 + 500
    assert r.network_time() == {"unix_time_ms": JAN1 + 500, "year": 2026, "month": 1, "day": 1,
                                "hour": 12, "minute": 0, "second": 0, "nanosecond": 500000000}
    p = sedsnet.Router(now_ms=clock, hostname="TS_PART")
    p.set_local_network_date(2026, 2, 3)
    assert p.network_time_ms() is None and p.network_time() == {"year": 2026, "month": 2, "day": 3}
    p.set_local_network_time_hm(4, 5)  # no second yet: still partial (4.2.7)
    assert p.network_time_ms() is None
    p.set_local_network_time_hms_millis(4, 5, 6, 7)
    assert p.network_time_ms() == 1770091506007
    q = sedsnet.Router(now_ms=clock, hostname="TS_FEB")
    q.set_local_network_datetime(2026, 2, 30, 0, 0, 0)  # runs into March, as 4.2.7
    assert q.network_time_ms() == 1772409600000
    n = sedsnet.Router(now_ms=clock, hostname="TS_NS")
    n.set_local_network_datetime_nanos(2026, 1, 1, 0, 0, 0, 1500000)
    assert n.network_time_ms() == 1767225600001
    assert n.network_time()["nanosecond"] == 1000000
    t = sedsnet.Router(now_ms=clock, hostname="TS_KW")
    t.set_local_network_time(year=2026, month=2, day=3, hour=4, minute=5, second=6,
                             nanosecond=7000000)
    assert t.network_time_ms() == 1770091506007


def test_a_later_set_is_slewed_at_max_slew_ppm_never_stepped():
    # 4.2.7: +1 s set at t=1000 -> +5 at 1100, +50 at 2000, +500 at 11000, +1000 at 21000
    for sign in (1, -1):
        clock = Clock(1000)
        r = sedsnet.Router(now_ms=clock, hostname="TS_SLEW")
        r.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 1 if sign < 0 else 0, 0)
        base = r.network_time_ms()
        r.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0 if sign < 0 else 1, 0)
        seen = {}
        last = base
        for t in range(1000, 25001, 10):
            clock.t = t
            r.periodic(0)
            now = r.network_time_ms()
            assert now >= last  # never a backwards step
            last = now
            seen[t] = now - base - (t - 1000)
        assert [seen[t] * sign for t in (1100, 2000, 5000, 11000, 21000, 25000)] == \
            [5, 50, 200, 500, 1000, 1000]
    clock = Clock(1000)
    z = sedsnet.Router(now_ms=clock, hostname="TS_PPM0", timesync_max_slew_ppm=0)
    z.set_local_network_datetime(2026, 1, 1, 0, 0, 0)
    z.set_local_network_datetime(2026, 1, 1, 0, 0, 1)
    clock.t = 5000
    assert z.network_time_ms() == 1767225600000 + 4000


def test_frames_and_log_timestamps():
    setup()
    got = []
    net, src, con = _src_con(handlers=[(EP, lambda p: got.append(p.timestamp_ms), None)])
    out = []
    src.add_side_packed("tap", lambda f: out.append(bytes(f)))
    net.run(1000 + 2500)
    ann = [sedsnet.unpack_packet(f) for f in out if _ty(f) == 4]
    assert len(ann) == 3  # every 1000 ms from the first periodic
    assert [p.timestamp_ms for p in ann] == [JAN1 + 10, JAN1 + 1010, JAN1 + 2010]
    assert ann[0].data_as_u64() == [100, JAN1 + 10]
    assert ann[0].endpoints == [200]
    # packets we log carry the network time once there is one (4.2.7); explicit stamps win
    con.log_f32(TY, [1.0])
    con.log_f32(TY, [2.0], timestamp_ms=5)
    assert got == [con.network_time_ms(), 5]
    assert abs(got[0] - src.network_time_ms()) <= 1


def test_consumer_follows_a_source_and_compensates_the_path():
    # 100 ms each way: 4.2.7's consumer runs 100 ms behind; ours measures the path
    net, src, con = _src_con(100)
    offs = []
    net.run(1000 + 20000, each=lambda: offs.append(con.network_time_ms() - src.network_time_ms()
                                                    if con.network_time_ms() else None))
    assert offs[5 * 100] is not None
    assert max(abs(x) for x in offs[5 * 100:]) <= 2
    # asymmetric jitter (20..200 ms, cycled): the minimum-delay sample keeps it close
    net, src, con = _src_con([20, 130, 70, 200, 45, 160], [180, 25, 90, 60, 200, 35])
    offs = []
    net.run(1000 + 40000, each=lambda: offs.append(con.network_time_ms() - src.network_time_ms()
                                                    if con.network_time_ms() else None))
    assert max(abs(x) for x in offs[20 * 100:]) <= 15


def test_election_lower_priority_wins_ties_by_sender():
    clock = Clock()
    net = Net(clock)
    con = net.node("TS_E_CON")
    s = []
    for name, prio, sec in (("TS_E1", 50, 10), ("TS_E2", 10, 20), ("TS_E3", 10, 30)):
        r = net.node(name, timesync_role=1, timesync_priority=prio)
        net.link(r, con)
        r.set_local_network_datetime_millis(2026, 1, 1, 12, 0, sec, 0)
        s.append(r)
    net.run(1000 + 3000)
    best = s[1] if s[1].src_addr < s[2].src_addr else s[2]
    assert con.ts.src == best.src_addr and con.ts.src_prio == 10
    net.run(1000 + 10000)
    assert abs(con.network_time_ms() - best.network_time_ms()) <= 1


def test_holdover_promotion_and_failover_without_a_backward_step():
    clock = Clock()
    net = Net(clock)
    con = net.node("TS_F_CON")
    a = net.node("TS_F_A", timesync_role=1, timesync_priority=5)
    b = net.node("TS_F_B", timesync_role=1, timesync_priority=9)
    net.link(a, con, 30)
    net.link(b, con, 30)
    a.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    b.set_local_network_datetime_millis(2026, 1, 1, 11, 59, 59, 700)  # 300 ms behind a
    last = [0]

    def mono():
        t = con.network_time_ms()
        if t is not None:
            assert t >= last[0]
            last[0] = t
    net.run(1000 + 8000, each=mono)
    assert con.ts.src == a.src_addr and abs(con.network_time_ms() - a.network_time_ms()) <= 1
    net.up[a] = False  # a goes away: after 5000 ms con follows b, slewing, never stepping back
    net.run(1000 + 8000 + 3500, each=mono)
    assert con.ts.src == a.src_addr
    net.run(1000 + 8000 + 6500, each=mono)
    assert con.ts.src == b.src_addr
    net.run(1000 + 30000, each=mono)
    assert abs(con.network_time_ms() - b.network_time_ms()) <= 1
    net.up[b] = False  # holdover, then promotion: con announces the time it holds
    taps = []
    con.add_side_packed("tap", lambda f: taps.append(bytes(f)))
    t0 = con.network_time_ms()
    net.run(1000 + 34000, each=mono)
    assert con.network_time_ms() - t0 == 4000 and con.ts.src == b.src_addr
    net.run(1000 + 40000, each=mono)
    assert con.ts.src == -1 and [f for f in taps if _ty(f) == 4]
    no = sedsnet.Router(now_ms=clock, hostname="TS_NOPROMO",
                        timesync_consumer_promotion_enabled=False)
    taps2 = []
    no.add_side_packed("tap", lambda f: taps2.append(bytes(f)))
    no.set_local_network_datetime(2026, 1, 1, 0, 0, 0)
    for i in range(30):
        clock.t += 100
        no.periodic(0)
    assert not [f for f in taps2 if _ty(f) == 4]


def test_a_clock_that_wraps():
    # a ticks_ms clock 3 s before its 2^30 wrap (MicroPython's period), on both nodes
    clock = Clock(WRAP - 3000, WRAP)
    net = Net(clock)
    src = net.node("TS_W_SRC", timesync_role=1)
    con = net.node("TS_W_CON")
    net.link(src, con, 40)
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    start = clock.t
    offs = []
    last = [0]

    def each():
        t = src.network_time_ms()
        assert t == JAN1 + clock.t - start  # exact across the wrap
        c = con.network_time_ms()
        if c is not None:
            assert c >= last[0]
            last[0] = c
            offs.append(c - t)
    net.run(start + 12000, each=each)
    assert clock() < 12000  # it did wrap
    assert max(abs(x) for x in offs[-500:]) <= 1


def test_bad_time_sync_frames_are_counted_drops():
    clock = Clock()
    r = sedsnet.Router(now_ms=clock, hostname="TS_BAD")
    sid = r.add_side_packed("a", lambda f: None)
    short = bytearray(64)  # an ANNOUNCE of 8 bytes (make_packet would pad it)
    n = pack_into(short, 4, 12345, None, 5, 1, bytes(8))
    e = raises(errors.DecodeError, r.receive_packed_from_side, sid, bytes(short[:n]))
    assert "SizeMismatch" in str(e)
    ok = sedsnet.make_packet(6, "EVIL", [200], 5, bytes(32))  # a RESPONSE nobody asked for
    r.receive_packed_from_side(sid, ok.pack())
    assert r.network_time_ms() is None
    far = sedsnet.make_packet(4, "EVIL", [200], 5, bytes(8) + b"\xff" * 8)
    r.receive_packed_from_side(sid, far.pack())  # a time past 2^63 ms: dropped, counted
    assert r.network_time_ms() is None and r.ts.dropped == 1


@micropython_only("heap_lock exists only under MicroPython")
def test_periodic_clock_path_allocates_nothing():
    from micropython import heap_lock, heap_unlock
    net, _src, con = _src_con(20)
    net.run(1000 + 3000)
    assert con.network_time_ms() is not None
    con.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 5, 0)  # something to slew
    ts = con.ts
    ts.t_req = ts.t_ann = 1 << 28  # nothing due: the clock path alone
    clock = net.clock
    heap_lock()
    try:
        for i in range(500):
            clock.t += 7
            ts.poll()
    finally:
        heap_unlock()
    assert ts.corr > 0 and ts.rel > 0


def test_a_source_days_away_is_slewed_towards_the_right_way():
    clock = Clock()
    r = sedsnet.Router(now_ms=clock, hostname="TS_DAYS")
    sid = r.add_side_packed("a", lambda f: None)

    def ann(t):
        return sedsnet.make_packet(4, "TS_DAYS_SRC", [200], 5, bytes([9, 0, 0, 0, 0, 0, 0, 0])
                                   + bytes((t >> (8 * i)) & 0xFF for i in range(8))).pack()
    r.receive_packed_from_side(sid, ann(JAN1))
    assert r.network_time_ms() == JAN1
    r.receive_packed_from_side(sid, ann(JAN1 - 10000000000))  # 116 days behind: slow down
    assert r.ts.corr == -(1 << 28)
    clock.t += 1000
    assert r.network_time_ms() == JAN1 + 950  # 5% slower, never backwards
    r.receive_packed_from_side(sid, ann(JAN1 + 10000000000))  # ahead: speed up
    assert r.ts.corr == 1 << 28


def test_periodic_no_timesync_and_poll_timesync():
    clock = Clock()
    src = sedsnet.Router(now_ms=clock, hostname="TS_POLL", timesync_role=1)
    sent = []
    src.add_side_packed("a", lambda f: sent.append(_ty(f)))
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    for i in range(30):
        clock.t += 100
        src.periodic_no_timesync(0)
    assert 4 not in sent  # skipped for those loops
    assert "sedsnet.timesync" in sys.modules and src.network_time_ms() == JAN1 + 3000
    src.poll_timesync()
    assert sent.count(4) == 1
    src.poll_timesync()  # not due again for 1000 ms
    assert sent.count(4) == 1
    clock.t += 1000
    src.periodic(0)
    assert sent.count(4) == 2
    # a Relay has no network clock and passes TIME_SYNC frames on (as 4.2.7: probed, announce,
    # request and response alike)
    relay = sedsnet.Relay(now_ms=clock, discovery=False)
    out = []
    rs = relay.add_side_packed("in", lambda f: None)
    relay.add_side_packed("out", lambda f: out.append(_ty(f)))
    for ty, size in ((4, 16), (5, 16), (6, 32)):
        relay.rx_packed_from_side(rs, sedsnet.make_packet(ty, "TS_R", [200], 5,
                                                          bytes(size)).pack())
    assert out == [4, 5, 6] and relay.ts is None
    raises(AttributeError, getattr, relay, "network_time_ms")


class _Lossy:
    """A seeded loss shim (tools/linksim.py is not in this checkout): drops a frame with
    probability pct/100, from a small LCG so every runtime draws the same."""

    def __init__(self, seed, pct):
        self.x = seed
        self.pct = pct

    def drop(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % 100 < self.pct


def test_a_lossy_jittered_link():
    # 30% of frames lost each way, 40..90 ms: the consumer still follows, never steps back
    net, src, con = _src_con([40, 75, 55, 90, 60], [85, 45, 70, 50, 65])
    net.loss = _Lossy(7, 30)
    offs = []
    last = [0]

    def each():
        c = con.network_time_ms()
        if c is not None:
            assert c >= last[0]
            last[0] = c
            offs.append(c - src.network_time_ms())
    net.run(1000 + 40000, each=each)
    assert max(abs(x) for x in offs[-1500:]) <= 10
    assert con.ts.src == src.src_addr


def test_a_better_source_heard_later_is_slewed_to():
    # 4.2.7 (probed): prio 50 says J, prio 10 says J + 100 s, both every second from 1000:
    # stepped to the first, then slewed towards the better one: +350 ms at 8000
    clock = Clock()
    c = sedsnet.Router(now_ms=clock, hostname="TS_TWO")
    sid = c.add_side_packed("a", lambda f: None)

    def ann(prio, t):
        return sedsnet.make_packet(4, "TS_TWO_%d" % prio, [200], 5,
                                   bytes([prio, 0, 0, 0, 0, 0, 0, 0])
                                   + bytes((t >> (8 * i)) & 0xFF for i in range(8))).pack()
    for t in range(1000, 8001, 100):
        clock.t = t
        if t % 1000 == 0:
            c.receive_packed_from_side(sid, ann(50, JAN1 + t))
            c.receive_packed_from_side(sid, ann(10, JAN1 + 100000 + t))
        c.periodic(0)
    assert c.network_time_ms() - JAN1 - 8000 == 350


def test_the_source_announcement_reaches_consumers_two_hops_away():
    # 4.2.7: a router passes the source's TIME_SYNC_ANNOUNCE on to its other sides, so a
    # consumer behind another router gets the network time too (probed: src -> mid -> leaf)
    clock = Clock()
    net = Net(clock)
    src = net.node("TS_HOP_SRC", timesync_role=1)
    mid = net.node("TS_HOP_MID")
    leaf = net.node("TS_HOP_LEAF")
    net.link(src, mid, 5)
    net.link(mid, leaf, 5)
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    net.run(1000 + 4000)
    assert mid.network_time_ms() is not None and leaf.network_time_ms() is not None
    assert abs(leaf.network_time_ms() - src.network_time_ms()) <= 20
    # a ring does not make the announcement go round for ever: each router passes it on once
    ring_clock = Clock()
    ring = Net(ring_clock)
    a = ring.node("TS_RING_A", timesync_role=1)
    b = ring.node("TS_RING_B")
    c = ring.node("TS_RING_C")
    ring.link(a, b, 3)
    ring.link(b, c, 3)
    ring.link(c, a, 3)
    a.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    ring.run(1000 + 3000)
    assert c.network_time_ms() is not None and len(ring.q) < 20
