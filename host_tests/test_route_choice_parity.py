"""Where a node sends a received data frame, as 4.2.7 decides it: a reference Router/Relay
(peers/ref_router_lab.py) and ours (peers/mp_router_lab.py, MicroPython) get the same
scenario (sides, discovery heard, route rules) and then one frame for endpoint 1 and one for
endpoint 2 on side 0; the sides each frame leaves on must be the same. Probed rules
(docs/router-interop.md section 3): a Relay with exactly one side left after egress and
set_route sends there whatever discovery says; a Router does that only while nothing is
announced; once something is announced an endpoint nobody announced goes nowhere, unless the
source side has set_route rules (then to every side they allow) or a typed rule for the frame's
type (then to the sides that rule enables)."""
import struct

import pytest

import test_reference_router_facts as F
from peerproc import micropython_peer, reference_peer


def S(i):
    return {"side": i}


def ann(side, host, eps):
    return (side, F.ctrl(17, host, F.addr(host, eps), 1000))


OFF = False
ON = True
# (sides, announcements heard first, route-rule calls)
SCENARIOS = [
    (2, [], []),
    (2, [ann(1, "g", [1])], []),
    (2, [ann(1, "g", [5])], []),
    (2, [ann(0, "f", [5])], []),
    (2, [ann(0, "f", [1])], []),
    (3, [], []),
    (3, [ann(1, "g", [1])], []),
    (3, [ann(1, "g", [5])], []),
    (3, [ann(0, "f", [1])], []),
    (3, [ann(1, "g", [1]), ann(2, "h", [5])], []),
    (3, [], [("set_route", [S(0), S(2), OFF])]),
    (3, [ann(1, "g", [5])], [("set_route", [S(0), S(2), OFF])]),
    (3, [ann(2, "g", [1])], [("set_route", [S(0), S(2), OFF])]),
    (3, [ann(1, "g", [5])], [("set_typed_route", [S(0), 101, S(2), OFF])]),
    (3, [], [("set_typed_route", [S(0), 101, S(2), OFF])]),
    (3, [ann(1, "g", [5])], [("set_side_egress_enabled", [S(2), OFF])]),
    (3, [], [("set_side_egress_enabled", [S(2), OFF])]),
    (2, [], [("set_route", [S(0), S(1), OFF])]),
    (4, [], [("set_route", [S(0), S(3), OFF])]),
    (4, [ann(1, "g", [1])], [("set_route", [S(0), S(3), OFF])]),
    (4, [ann(3, "g", [5])], [("set_route", [S(0), S(3), OFF])]),
    (3, [], [("set_route", [S(0), S(1), ON])]),
    (3, [ann(2, "g", [1])], [("set_route", [S(0), S(1), ON])]),
    (3, [ann(1, "g", [5])], [("set_route", [S(0), S(1), ON])]),
    (3, [ann(1, "g", [5])], [("set_route", [S(1), S(2), OFF])]),
    (2, [ann(1, "g", [5])], [("set_route", [S(0), S(1), ON])]),
    (2, [ann(1, "g", [5])], [("set_route_weight", [S(0), S(1), 3])]),
    (3, [ann(1, "g", [5])], [("set_route_priority", [S(0), S(1), 2])]),
    (3, [ann(1, "g", [5])], [("set_source_route_mode", [S(0), 0])]),
    (4, [ann(3, "g", [5])], [("set_route", [S(0), S(3), OFF]),
                             ("set_typed_route", [S(0), 101, S(2), OFF])]),
    (4, [ann(3, "g", [5])], [("set_route", [S(0), S(3), OFF]),
                             ("set_side_egress_enabled", [S(2), OFF])]),
    (2, [], [("set_typed_route", [S(0), 101, S(1), OFF])]),
    (2, [ann(1, "g", [5])], [("set_typed_route", [S(0), 101, S(1), OFF])]),
    (3, [ann(1, "g", [5])], [("set_route", [S(0), S(2), OFF]),
                             ("set_typed_route", [S(0), 101, S(1), OFF])]),
    (3, [ann(1, "g", [5])], [("set_typed_route", [S(0), 101, S(1), ON])]),
    (3, [ann(2, "g", [1])], [("set_typed_route", [S(0), 101, S(1), ON])]),
]


def outcome(lab, relay, nsides, heard, calls):
    lab.call("reset", t=1000, schema=F.SCHEMA)
    lab.call("node", name="A", relay=relay, hostname=None if relay else "alpha", handlers=[],
             sides=[False] * nsides)
    lab.call("run", to=1000)
    for side, f in heard:
        assert lab.call("rx", node="A", side=side, frames=[f])["errors"] == [None]
    for method, args in calls:
        lab.call("call", node="A", method=method, args=args)
    lab.call("out")
    res = []
    for ep, ty in ((1, 101), (2, 102)):
        user = F.ctrl(ty, "src", struct.pack("<f", 1.0), endpoints=[ep])
        assert lab.call("rx", node="A", side=0, frames=[user])["errors"] == [None]
        res.append(sorted({s for t, n, s, f in lab.call("out")["frames"]
                              if F.decode(f)[0] == ty}))
    return res


@pytest.fixture(scope="module")
def labs():
    with reference_peer("ref_router_lab.py") as ref, \
            micropython_peer("mp_router_lab.py", "16M") as mp:
        yield ref, mp


@pytest.mark.parametrize("relay", [True, False], ids=["relay", "router"])
def test_received_data_goes_where_the_reference_sends_it(labs, relay):
    ref, mp = labs
    theirs = [outcome(ref, relay, *sc) for sc in SCENARIOS]
    ours = [outcome(mp, relay, *sc) for sc in SCENARIOS]
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(theirs, ours)) if a != b]
    assert any(r[0] or r[1] for r in theirs) and any(not r[0] for r in theirs)
    assert not bad, bad
