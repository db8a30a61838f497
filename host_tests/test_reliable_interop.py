"""Reliable delivery live against 4.2.7 over lossy links: each node in its own process on one
fake clock (netlab.py: reference Routers in a CPython lab, ours in a MicroPython lab), every side
reliable, every link through tools/linksim.py (20% loss, 5% duplication, reordering, 2%
corruption, each way), retries raised with set_runtime_tuning_config on every node. Every packet
of an ordered and of an unordered type must reach the far handler exactly once, the ordered one
in order: reference -> ours -> reference, ours -> reference, reference -> ours."""
import os
import struct
import sys

import pytest

from netlab import network

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from linksim import Duplex  # noqa: E402

E_FAR = 0x1101  # held by the far reference router
E_MP = 0x1102  # held by our router
ORD_FAR, UNO_FAR, ORD_MP, UNO_MP = 0x2101, 0x2102, 0x2103, 0x2104
SCHEMA = [["register_endpoint", E_FAR, "REL_FAR"], ["register_endpoint", E_MP, "REL_MP"],
          ["register_data_type", ORD_FAR, "ORD_FAR", False, 0, 1, 0, [E_FAR], 1],
          ["register_data_type", UNO_FAR, "UNO_FAR", False, 0, 1, 0, [E_FAR], 2],
          ["register_data_type", ORD_MP, "ORD_MP", False, 0, 1, 0, [E_MP], 1],
          ["register_data_type", UNO_MP, "UNO_MP", False, 0, 1, 0, [E_MP], 2]]
FAULTS = {"loss": 0.2, "dup": 0.05, "reorder": 0.1, "hold_ms": 150, "corrupt": 0.02}
TUNING = {"reliable_max_retries": 60, "reliable_max_end_to_end_pending": 256}
N = 20


@pytest.fixture(scope="module")
def net():
    with network(SCHEMA) as n:
        yield n


def _fresh(net):
    for lab in net.labs.values():
        lab.call("reset", t=0, schema=SCHEMA)
        lab.call("fn", fn="set_runtime_tuning_config", kw=TUNING)
    net.where.clear()
    net.cross.clear()
    net.sims.clear()
    net.trace.clear()
    net.t = 0


def _faulty(sims):
    for d in sims:
        for s in (d.a_to_b, d.b_to_a):
            for k, v in FAULTS.items():
                setattr(s, k, v)


def _line(net, seed, middle=True):
    """R1 -(lossy)- M -(lossy)- R2 (or M -(lossy)- R2 alone); discovery on clean links first,
    then the faults switched on."""
    _fresh(net)
    sims = []
    if middle:
        net.node("ref", "R1", 1, reliable=True)
    net.node("mp", "M", 2 if middle else 1, handlers=[E_MP], reliable=True)
    net.node("ref", "R2", 1, handlers=[E_FAR], reliable=True)
    if middle:
        sims.append(Duplex(seed=seed))
        net.link("R1", 0, "M", 0, sim=sims[-1])
    sims.append(Duplex(seed=seed + 7))
    net.link("M", 1 if middle else 0, "R2", 0, sim=sims[-1])
    net.run(3000)
    net.got("R2")
    net.got("M")
    _faulty(sims)
    return sims


def _send_and_check(net, origin, sink, ordered, unordered, sims):
    for i in range(N):
        net.log_f32(origin, ordered, [float(i)])
        net.log_f32(origin, unordered, [float(100 + i)])
        net.run(net.t + 100)
    net.run(net.t + 20000)
    got = [(ty, struct.unpack("<f", bytes.fromhex(pl))[0]) for _, ep, ty, pl in net.got(sink)]
    ords = [v for ty, v in got if ty == ordered]
    unos = sorted(v for ty, v in got if ty == unordered)
    stats = [s.stats for d in sims for s in (d.a_to_b, d.b_to_a)]
    assert sum(s["lost"] for s in stats) > 10 and sum(s["corrupted"] for s in stats) > 0
    assert ords == [float(i) for i in range(N)], ords
    assert unos == [float(100 + i) for i in range(N)], unos


def test_reference_through_ours_to_reference(net):
    sims = _line(net, 11)
    _send_and_check(net, "R1", "R2", ORD_FAR, UNO_FAR, sims)


def test_ours_to_reference(net):
    sims = _line(net, 23, middle=False)
    _send_and_check(net, "M", "R2", ORD_FAR, UNO_FAR, sims)


def test_reference_to_ours(net):
    sims = _line(net, 37, middle=False)
    _send_and_check(net, "R2", "M", ORD_MP, UNO_MP, sims)
