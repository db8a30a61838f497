# The per-side load meters (linkload.py) and 4.2.7's default choice between equal discovered
# paths (paths.adaptive), under CPython and MicroPython (docs/router-interop.md section 9).
# The live comparison with 4.2.7 is host_tests/test_burst_split.py.
import sys

import sedsnet
from sedsnet.router import Router
from support import micropython_only

EPS = (0x3301, 0x3302)
T_SMALL = 0x3311  # static f32 x2 -> EPS[1]
T_BIG = 0x3312  # dynamic f32 -> EPS[1]

# A 4.2.7 Router's one side, as its export_runtime_stats()["sides"][0]["adaptive"] read after
# each send on a fake clock (ADDRESS 80 B + TOPOLOGY 40 B at 0, then log_f32 frames):
# (t, bytes) -> (estimated, peak capacity, usage, peak usage, weight, last, samples)
REF = [((0, 80), None), ((0, 40), (75000, 80000, 0, 0, 80000, 0, 2)),
       ((0, 27), (69000, 80000, 0, 0, 80000, 0, 3)), ((0, 27), (63750, 80000, 0, 0, 80000, 0, 4)),
       ((1, 28), (59281, 80000, 28000, 28000, 52000, 1, 5)),
       ((5, 28), (55370, 80000, 14000, 28000, 66000, 5, 6)),
       ((10, 221), (158888, 221000, 30777, 30777, 190223, 10, 7)),
       ((250, 29), (142652, 221000, 1228, 30777, 219772, 250, 8)),
       ((1000, 28), (128320, 221000, 334, 30777, 220666, 1000, 9)),
       ((1001, 29), (115905, 221000, 363, 30777, 220637, 1001, 10)),
       ((1002, 28), (104916, 221000, 28000, 30777, 193000, 1002, 11)),
       ((1003, 29), (95426, 221000, 57000, 57000, 164000, 1003, 12)),
       ((1500, 28), (86997, 221000, 170, 57000, 220830, 1500, 13)),
       ((2002, 28), (79622, 221000, 113, 57000, 220887, 2002, 14)),
       ((2003, 29), (73294, 221000, 29000, 57000, 192000, 2003, 15)),
       ((2004, 222), (166235, 222000, 251000, 251000, 1, 2004, 16)),
       ((2005, 29), (149080, 222000, 140000, 251000, 82000, 2005, 17))]
KEYS = ("estimated_capacity_bps", "peak_capacity_bps", "current_usage_bps", "peak_usage_bps",
        "effective_weight", "last_observed_ms", "sample_count")


def _schema():
    for i in range(len(EPS)):
        if not sedsnet.endpoint_exists(EPS[i]):
            sedsnet.register_endpoint(EPS[i], "LEP%d" % i)
    if not sedsnet.data_type_exists(T_SMALL):
        sedsnet.register_data_type(T_SMALL, "LSMALL", True, 2, 1, 0, [EPS[1]])
        sedsnet.register_data_type(T_BIG, "LBIG", False, 0, 1, 0, [EPS[1]])


class _Side:
    def __init__(self):
        self.tx = self.send
        self.packet_side = False
        self.sent = []

    def send(self, data):
        self.sent.append(len(data))


class _Node:
    def __init__(self):
        self.t = 0

    def now_ms(self):
        return self.t


def test_meter_arithmetic_is_the_reference_adaptive_stats():
    from sedsnet.linkload import Meter
    node = _Node()
    side = _Side()
    m = Meter(node, side)
    for (t, n), want in REF:
        node.t = t
        side.tx(bytes(n))  # the Meter now is the side's tx
        if want is not None:
            snap = m.snapshot(t)
            assert tuple(snap[k] for k in KEYS) == want, (t, n, snap)
    assert side.sent == [n for (t, n), _ in REF]  # every frame reached the user's tx


def test_a_failed_send_is_no_sample():
    from sedsnet.linkload import Meter

    def bad(data):
        raise OSError("link down")
    side = _Side()
    side.tx = bad
    m = Meter(_Node(), side)
    try:
        side.tx(b"abc")
    except OSError:
        pass
    assert m.count == 0 and m.peak == 0


class _Meters:
    def __init__(self, weights, node):
        self.node = node
        self.meters = {}
        for s, w in weights.items():
            m = _Fixed(w)
            self.meters[s] = m


class _Fixed:
    def __init__(self, w):
        self.w = w
        self.count = 0 if w is None else 1

    def weight(self, now):
        return self.w


class _Routes:
    def __init__(self):
        self.cursor = {}


def test_adaptive_choice_turns_over_unmeasured_sides_then_weighs_headroom():
    from sedsnet.paths import adaptive
    node = _Node()
    routes = _Routes()
    # sides 1 and 3 never sent: they take turns (cursor modulo 2) before any weighing
    ann = _Meters({1: None, 2: 5, 3: None}, node)
    assert [adaptive(ann, routes, 255, 0b1110) for _ in range(4)] == [2, 8, 2, 8]
    # weights 3 and 1: the cursor (now 4, one per source) falls in side 1's range 0..2 or
    # side 2's 3 (modulo 4)
    ann = _Meters({1: 3, 2: 1}, node)
    assert [adaptive(ann, routes, 255, 0b110) for _ in range(5)] == [2, 2, 2, 4, 2]
    assert [adaptive(ann, routes, 0, 0b110) for _ in range(4)] == [2, 2, 2, 4]  # src 0: own


def _net(k):
    """X with k sides, each to a holder of EPS[1]; run to 3000 ms."""
    _schema()
    t = [0]
    q = []
    links = {}
    nodes = {}
    order = []

    def tx_of(name, i):
        def tx(frame):
            if name == "X":
                order.append((i, bytes(frame)))
            peer = links.get((name, i))
            if peer is not None:
                q.append((peer[0], peer[1], bytes(frame)))
        return tx
    x = Router(now_ms=lambda: t[0], hostname="X", handlers=[(EPS[0], lambda p: None, None)])
    nodes["X"] = x
    for i in range(k):
        x.add_side_packed("s%d" % i, tx_of("X", i))
        h = Router(now_ms=lambda: t[0], hostname="H%d" % i,
                   handlers=[(EPS[1], lambda p: None, None)])
        h.add_side_packed("s0", tx_of("H%d" % i, 0))
        nodes["H%d" % i] = h
        links[("X", i)] = ("H%d" % i, 0)
        links[("H%d" % i, 0)] = ("X", i)

    def pump():
        while q:
            name, i, f = q.pop(0)
            nodes[name].receive_packed_from_side(i, f)

    while t[0] <= 3000:
        for n in nodes.values():
            n.periodic(0)
        pump()
        t[0] += 50
    return x, t, order, pump


def _replay(sent, k, cursor):
    """The rule, written out again: per side the largest sample (bytes * 1000: the fake clock
    stands still during a send) and the bytes of the window opened by the burst's first
    frame; a side's weight is max(1, peak - usage); the cursor modulo the sum picks."""
    peak = [0] * k
    wbytes = [0] * k
    for s, n in sent[0]:
        peak[s] = max(peak[s], n * 1000)
    out = []
    for n in sent[1]:
        w = [max(1, peak[s] - wbytes[s] * 1000) for s in range(k)]
        c = cursor % sum(w)
        cursor += 1
        s = 0
        while c >= w[s]:
            c -= w[s]
            s += 1
        out.append(s)
        wbytes[s] += n
        peak[s] = max(peak[s], n * 1000)
    return out


def test_a_burst_fills_the_lowest_side_then_spreads_as_the_rule_says():
    for k in (2, 3):
        x, t, order, pump = _net(k)
        before = [(s, len(f)) for s, f in order]  # X quiet since ~1100 ms: windows closed
        del order[:]
        t[0] = 5000
        values = [1.0 + j * 0.7391 for j in range(40)]
        for i in range(30):
            x.log_f32(T_BIG, values + [float(i)], None, True)
        x.process_all_queues()
        sides = [s for s, f in order]
        sizes = [len(f) for s, f in order]
        assert sides == _replay((before, sizes), k, 0), (k, sides)
        assert sides[0] == 0 and len(set(sides)) == k  # lowest first, then all of them
        stats = x.export_runtime_stats()["sides"]
        assert [s["adaptive"]["sample_count"] for s in stats] == [
            len([1 for s, n in before if s == i]) + sides.count(i) for i in range(k)]
        pump()


def test_linkload_loads_only_with_a_second_side():
    _schema()
    sys.modules.pop("sedsnet.linkload", None)
    r = Router(now_ms=lambda: 0, hostname="L1", handlers=[(EPS[0], lambda p: None, None)])
    r.add_side_packed("a", lambda f: None)
    r.log_f32(T_SMALL, [1.0, 2.0])
    r.receive_packed_from_side(0, _a_frame())
    r.periodic(0)
    assert "sedsnet.linkload" not in sys.modules
    assert "adaptive" not in r.export_runtime_stats()["sides"][0]
    r.add_side_packed("b", lambda f: None)
    assert "sedsnet.linkload" in sys.modules
    assert [("adaptive" in s) for s in r.export_runtime_stats()["sides"]] == [True, True]


def _a_frame():
    got = []
    o = Router(now_ms=lambda: 0, hostname="L2", discovery=False)
    o.add_side_packed("a", lambda f: got.append(bytes(f)))
    o.log_f32(T_SMALL, [3.0, 4.0])
    return got[0]


def test_route_rule_calls_announce_a_change_and_restart_the_cursor():
    """As 4.2.7: any route rule call is a discovery change (ADDRESS on every side at the
    next run, then +250 and +750 ms); a weight or mode call restarts the source's cursor,
    a set_route does not."""
    x, t, order, pump = _net(2)
    x._routes.cursor[255] = 7
    h = sedsnet.peek_header
    for call, args, cursor in (("set_route", (None, 1, True), 7),
                               ("set_route_weight", (None, 0, 2), None),
                               ("set_source_route_mode", (None, 1), None)):
        t[0] += 5000
        x.periodic(0)
        pump()
        del order[:]
        x._routes.cursor[255] = 7
        getattr(x, call)(*args)
        assert x._routes.cursor.get(255) == cursor, call
        start = t[0]
        sent = []
        for _ in range(20):
            x.periodic(0)
            sent += [(t[0] - start, s, h(f)["ty"]) for s, f in order]
            del order[:]
            pump()
            t[0] += 50
        assert [(dt, s) for dt, s, ty in sent if ty == 17] == [
            (0, 0), (0, 1), (250, 0), (250, 1), (750, 0), (750, 1)], (call, sent)
    stats = x.export_runtime_stats()["route_modes"]
    assert stats[0]["selection_mode"] == "Weighted"


def _locked(fn, n):
    from micropython import heap_lock, heap_unlock
    i = 0
    heap_lock()
    try:
        while i < n:  # (a range object would be an allocation)
            fn(i)
            i += 1
    finally:
        heap_unlock()


class _Burst:
    # (a method, not a closure: calling a closure over more than a few names allocates)
    def __init__(self, node, ann, routes, sides, adaptive):
        self.node, self.ann, self.routes, self.sides = node, ann, routes, sides
        self.adaptive = adaptive
        self.frame = bytearray(180)
        self.picks = [0, 0]

    def one(self, i):
        self.node.t = 5000 + (i >> 4)  # several frames per millisecond, windows roll over
        s = self.adaptive(self.ann, self.routes, 255, 3) >> 1
        self.picks[s] += 1
        self.sides[s].tx(self.frame)


@micropython_only("heap_lock exists only under MicroPython")
def test_the_meter_and_the_choice_allocate_nothing():
    """A meter's tx (a sample per frame) and paths.adaptive (a choice per packet) run with
    the heap locked: a board pays no allocation for the burst split."""
    from sedsnet.linkload import Meter
    from sedsnet.paths import adaptive
    node = _Node()
    sides = [_Side(), _Side()]
    for s in sides:
        s.tx = _sink  # (the fake's own tx appends to a list: an allocation)
    ann = _Meters({}, node)
    ann.meters = {0: Meter(node, sides[0]), 1: Meter(node, sides[1])}
    routes = _Routes()
    routes.cursor[255] = 0
    b = _Burst(node, ann, routes, sides, adaptive)
    for i in range(40):  # both sides measured, the cursor's key present: the steady state
        b.one(i)
    _locked(b.one, 2000)
    assert b.picks[0] > 0 and b.picks[1] > 0
    assert ann.meters[0].count + ann.meters[1].count == 2040


def _sink(data):
    pass
