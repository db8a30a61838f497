"""Issue 13: how 4.2.7 splits a queued burst between equal discovered paths, and ours the
same way (docs/router-interop.md section 9; the full matrix is tools/probe_burst_split.py).
X has 2 or 3 sides, each to a reference Router holding the burst's endpoint, every node in
its own process on one clock (netlab); X is a reference Router, then ours; each burst is N
log_f32(queue=True) and one process_all_queues(); the side of every data frame X sends is
recorded, in order."""
import contextlib

import pytest

from netlab import network
from peerproc import reference_peer
from test_router_interop import E, SCHEMA, TO_MP, frame_type

BIG = 0x2011  # dynamic f32 -> E[1]: large frames fill a link's window sooner
BURST_SCHEMA = SCHEMA + [["register_data_type", BIG, "BURST_BIG", False, 0, 1, 0, [E[1]]]]
HOLDER_LABS = ("ref", "r3", "r4")
# 40 distinct floats: 4.2.7 zstd-compresses a payload of 128 bytes or more when that is
# smaller (ours never compresses, README), and these do not shrink
BIG_VALUES = [1.0 + k * 0.7391 + k * k * 0.01337 for k in range(40)]
# (time ms, N, type): X is quiet for more than 1 s before 5000, so each burst opens its
# sides' windows itself; 5000 and 5001 share them; the rest alternate small and big frames
PLAN = [(5000, 12, TO_MP), (5001, 8, BIG), (6500, 40, TO_MP), (8000, 7, BIG),
        (9500, 1, TO_MP), (9501, 2, BIG), (11000, 23, BIG), (11400, 5, TO_MP)]


@pytest.fixture(scope="module")
def burst_net():
    with network(BURST_SCHEMA) as net, contextlib.ExitStack() as more:
        for key in ("r2", "r3", "r4"):
            net.add_lab(key, more.enter_context(reference_peer("ref_router_lab.py")))
        yield net.reset


def story(net, xlab, k, plan=PLAN, setup=None):
    """The side sequence of X's data frames, per burst of plan."""
    net.node(xlab, "X", k, handlers=[E[0]])
    for i in range(k):
        net.node(HOLDER_LABS[i], "H%d" % i, 1, handlers=[E[1]])
        net.link("X", i, "H%d" % i, 0)
    net.run(3000, step=100)
    if setup is not None:
        setup(net)
    out = []
    for t, n, ty in plan:
        if t > net.t:
            net.run(t - 1, step=100)
        lab = net.labs[xlab]
        n0 = len(net.trace)
        lab.call("at", t=t)
        lab.call("burst", node="X", ty=ty, n=n, values=[1.0] if ty == TO_MP else BIG_VALUES)
        net.shuttle()
        out.append("".join(str(s) for _, name, s, f in net.trace[n0:]
                           if name == "X" and frame_type(f) in (TO_MP, BIG)))
    return out


@pytest.mark.parametrize("k", [2, 3])
def test_a_burst_splits_between_equal_paths_as_the_reference(burst_net, k):
    ref = story(burst_net(), "r2", k)
    assert len(ref) == len(PLAN) and all(len(s) == n for s, (_, n, _) in zip(ref, PLAN))
    assert any(len(set(s)) > 1 for s in ref)  # the plan does make 4.2.7 split a burst
    assert story(burst_net(), "mp", k) == ref


@pytest.mark.parametrize("mode", [1, 2], ids=["weighted", "failover"])
def test_a_set_route_mode_splits_bursts_as_the_reference(burst_net, mode):
    """Weighted: round robin over route weights (side 2 weighs 3); Failover: the lowest
    side (no priorities through the Python API)."""
    def setup(net):
        net.call("X", "set_source_route_mode", None, mode)
        net.call("X", "set_route_weight", None, {"side": 2}, 3)
    plan = PLAN[:3]
    ref = story(burst_net(), "r2", 3, plan, setup)
    assert ref[0] == ("01222" * 2 + "01" if mode == 1 else "0" * 12)
    assert story(burst_net(), "mp", 3, plan, setup) == ref


def test_the_probe_tool_finds_the_rule_in_every_default_mode_burst():
    """tools/probe_burst_split.py --quick (reference only, one process): the rule it writes
    out predicts every side 4.2.7 chose with no route mode set."""
    import os
    import subprocess
    import sys
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools",
                        "probe_burst_split.py")
    out = subprocess.run([sys.executable, tool, "--quick"], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    default = [line for line in out if " default" in line]
    assert len(default) == 8 and all("rule agrees" in line for line in default), out
    assert not any("DIFFERS" in line for line in out)


def test_a_route_rule_call_is_announced_and_weighs_as_with_the_reference(burst_net):
    """4.2.7 announces a route rule call as a change (an ADDRESS burst: 0, +250, +750 ms)
    and restarts the source's cursor on a weight or mode call; the ADDRESS frames then
    weigh in the burst split. Same frames, then the same split, from ours."""
    def story_of(xlab):
        net = burst_net()
        seen = {}

        def setup(net):
            n0 = len(net.trace)
            net.call("X", "set_route_weight", None, {"side": 1}, 4)
            net.run(4500, step=50)
            seen["frames"] = [(t, s, frame_type(f)) for t, name, s, f in net.trace[n0:]
                              if name == "X"]
        seqs = story(net, xlab, 2, [(4502, 30, BIG), (4600, 6, TO_MP)], setup)
        modes = net.call("X", "export_runtime_stats")["route_modes"]
        return seen["frames"], seqs, modes
    ref = story_of("r2")
    assert [f[2] for f in ref[0]] == [17, 17] * 3  # ADDRESS on both sides, three rounds
    assert ref[2] == [{"src_side_id": None, "selection_mode": None, "cursor": 36}]
    assert story_of("mp") == ref


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_a_relayed_burst_splits_as_through_a_reference_node(burst_net, relay):
    """S - X - {H0, H1}: S's burst crosses X (a Router, then a Relay), which picks among the
    two holders with the rule and a cursor of its own for the ingress side."""
    def story_of(xlab):
        net = burst_net()
        net.node(xlab, "X", 3, handlers=[] if relay else [E[0]], relay=relay)
        net.node("ref", "S", 1, handlers=[E[2]])
        net.link("X", 0, "S", 0)
        for i, lab in enumerate(("r3", "r4")):
            net.node(lab, "H%d" % i, 1, handlers=[E[1]])
            net.link("X", i + 1, "H%d" % i, 0)
        net.run(3000, step=100)
        out = []
        for t, n in ((5000, 12), (6500, 40)):
            net.run(t - 1, step=100)
            n0 = len(net.trace)
            net.labs["ref"].call("at", t=t)
            net.labs[xlab].call("at", t=t)
            net.labs["ref"].call("burst", node="S", ty=BIG, n=n, values=BIG_VALUES)
            net.shuttle()
            out.append("".join(str(s) for _, name, s, f in net.trace[n0:]
                               if name == "X" and frame_type(f) == BIG))
        return out
    ref = story_of("r2")
    assert ref[0][0] == "1" and "2" in ref[1]  # the lowest holder side first, then both
    assert story_of("mp") == ref
