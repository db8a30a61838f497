"""Live time-sync interop (issue 14): reference 4.2.7 Routers in a CPython lab, ours in a
MicroPython lab, one fake clock, links with per-frame delays (netlab.py, seeded). Offset =
consumer network_time_ms() - source network_time_ms() at the same fake time, every step."""
import pytest

from netlab import network

STEP = 10  # ms between periodic() calls; delayed frames land at their own ms in between
JAN1 = [2026, 1, 1, 12, 0, 0, 0]


def fast(t, rng):
    return rng.randint(1, 4)  # a 1-4 ms link (UART)


class Radio:
    """A 20-200 ms link that changes: a base delay that moves every 2 s (20..170 ms), plus
    0..30 ms of jitter per frame; both directions share the base."""

    def __init__(self, rng):
        self.rng = rng
        self.base = 100
        self.until = 0

    def __call__(self, t, rng):
        if t >= self.until:
            self.until = t + 2000
            self.base = min(170, max(20, self.base + self.rng.choice((-40, -20, 20, 40))))
        return self.base + rng.randint(0, 30)


@pytest.fixture(scope="module")
def net_factory():
    with network([]) as net:
        yield net.reset  # net_factory(seed)


def _pair(net, src_lab, con_lab, delay, back=None):
    net.node(src_lab, "S", 1, kw={"timesync_role": 1})
    net.node(con_lab, "C", 1)
    net.link("S", 0, "C", 0, delay, back)
    net.call("S", "set_local_network_datetime_millis", *JAN1)


def _now(net, name):
    lab = net.labs[net.where[name]]
    return lab.call("batch", cmds=[{"op": "call", "node": name,
                                     "method": "network_time_ms"}])["results"][0]["result"]


def _offsets(net, to, src="S", con="C"):
    offs = []

    def each(t):
        s = _now(net, src)
        c = _now(net, con)
        offs.append((t, None if c is None else c - s))
    net.run(to, STEP, each)
    return offs


def _after(offs, t0):
    return [o for t, o in offs if t >= t0]


def test_reference_source_our_consumer_fast_link(net_factory):
    net = net_factory(1)
    _pair(net, "ref", "mp", fast)
    offs = _offsets(net, 15000)
    late = _after(offs, 5000)
    assert None not in late and max(abs(o) for o in late) <= 5, late


def test_our_source_reference_consumer_fast_link(net_factory):
    net = net_factory(2)
    _pair(net, "mp", "ref", fast)
    offs = _offsets(net, 15000)
    late = _after(offs, 5000)
    assert None not in late and max(abs(o) for o in late) <= 5, late


@pytest.mark.parametrize("seed", [3, 4])
def test_reference_source_our_consumer_radio_link(net_factory, seed):
    net = net_factory(seed)
    radio = Radio(net.rng)  # one radio: both directions see the same base delay
    _pair(net, "ref", "mp", radio, radio)
    offs = _offsets(net, 40000)
    late = _after(offs, 15000)
    assert None not in late and max(abs(o) for o in late) <= 15, late
    print("our consumer, radio link, seed", seed, "max |offset| after 15 s:",
          max(abs(o) for o in late))


@pytest.mark.parametrize("seed", [5])
def test_our_source_reference_consumer_radio_link(net_factory, seed):
    # 4.2.7 follows announces only: behind by the path delay (<= 200 ms), never ahead
    net = net_factory(seed)
    radio = Radio(net.rng)
    _pair(net, "mp", "ref", radio, radio)
    offs = _offsets(net, 30000)
    late = _after(offs, 5000)
    assert None not in late and all(-200 <= o <= 0 for o in late), late
    print("reference consumer, radio link: offsets", min(late), "..", max(late))


def test_failover_between_reference_sources_no_backward_step(net_factory):
    net = net_factory(6)
    net.node("ref", "S1", 1, kw={"timesync_role": 1, "timesync_priority": 5})
    net.node("ref", "S2", 1, kw={"timesync_role": 1, "timesync_priority": 9})
    net.node("mp", "C", 2)
    net.link("S1", 0, "C", 0, 30)
    net.link("S2", 0, "C", 1, 30)
    net.call("S1", "set_local_network_datetime_millis", *JAN1)
    net.call("S2", "set_local_network_datetime_millis", 2026, 1, 1, 11, 59, 59, 700)
    times = []

    def each(t):
        times.append(_now(net, "C"))
    net.run(8000, STEP, each)
    assert abs(_now(net, "C") - _now(net, "S1")) <= 3
    del net.cross[("S1", 0)]  # S1's link goes dead both ways
    del net.cross[("C", 0)]
    net.run(30000, STEP, each)
    assert abs(_now(net, "C") - _now(net, "S2")) <= 3  # followed S2, 300 ms behind S1
    late = [x for x in times if x is not None]
    assert all(b >= a for a, b in zip(late, late[1:]))  # never a backward step
