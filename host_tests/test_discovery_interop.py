"""Full discovery in mixed networks (netlab.py: reference 4.2.7 nodes in a CPython lab, ours in
a MicroPython lab, one fake clock): after convergence every node's export_topology() names the
same routers and links, and our node's client_stats() agrees with the reference's for the same
position."""
import contextlib

import pytest

from netlab import network
from peerproc import reference_peer
from test_router_interop import REL_TO_MP, SCHEMA, E, TO_MP


@pytest.fixture(scope="module")
def net_factory():
    # every reference node in its own process, as on a real network (nodes of one process
    # share its sender-name cache, and a reference Relay then behaves differently)
    with network(SCHEMA) as net, contextlib.ExitStack() as more:
        for key in ("r2", "r3"):
            net.add_lab(key, more.enter_context(reference_peer("ref_router_lab.py")))
        yield net.reset


def graph(top):
    return (sorted(r["sender_id"] for r in top["routers"]),
            sorted((lk["source"], lk["target"]) for lk in top["links"]))


def line(net, mid_lab, relay, b_lab="r3"):
    """A - mid - B; the middle in mid_lab ("mp": ours, "r2": a reference node)."""
    mid = "RELAY" if relay else "M"
    net.node("ref", "A", 1, handlers=[E[0]])
    net.node(mid_lab, mid, 2, handlers=[] if relay else [E[1]], relay=relay)
    net.node(b_lab, "B", 1, handlers=[E[2]])
    net.link("A", 0, mid, 0)
    net.link(mid, 1, "B", 0)
    net.run(2000)
    return mid


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_line_ref_ours_ref_every_node_names_the_same_graph(net_factory, relay):
    net = net_factory()
    mid = line(net, "mp", relay)
    graphs = {n: graph(net.call(n, "export_topology")) for n in ("A", mid, "B")}
    want = graphs["A"]
    assert want[0] == sorted(["A", "B", mid])
    assert all(g == want for g in graphs.values()), graphs


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_line_graph_is_what_an_all_reference_line_names(net_factory, relay):
    net = net_factory()
    mid = line(net, "r2", relay)
    ref = {n: graph(net.call(n, "export_topology")) for n in ("A", mid, "B")}
    net = net_factory()
    line(net, "mp", relay)
    ours = {n: graph(net.call(n, "export_topology")) for n in ("A", mid, "B")}
    assert ours == ref


def untimed(top):
    """export_topology() without the fields that depend on when frames happened to arrive."""
    out = dict(top)
    for k in ("current_announce_interval_ms", "next_announce_ms"):
        out.pop(k)
    routes = []
    for r in top["routes"]:
        r = dict(r)
        r.pop("last_seen_ms")
        r.pop("age_ms")
        r["announcers"] = [{k: v for k, v in a.items() if k not in ("last_seen_ms", "age_ms")}
                           for a in r["announcers"]]
        routes.append(r)
    out["routes"] = routes
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_every_node_exports_what_it_does_with_a_reference_middle(net_factory, relay):
    net = net_factory()
    mid = line(net, "r2", relay)
    ref = {n: untimed(net.call(n, "export_topology")) for n in ("A", mid, "B")}
    net = net_factory()
    line(net, "mp", relay)
    for n in ("A", mid, "B"):
        assert untimed(net.call(n, "export_topology")) == ref[n], n


def test_tools_topology_renders_our_nodes_export(net_factory):
    import os
    import sys
    import xml.etree.ElementTree as ET
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "tools"))
    import topology
    net = net_factory()
    line(net, "mp", False)
    svg = topology.render(net.call("M", "export_topology"))
    ns = "{http://www.w3.org/2000/svg}"
    routers = {}
    links = set()
    for g in ET.fromstring(svg).iter(ns + "g"):
        if g.get("class") == "router":
            routers[g.get("data-name")] = sorted(
                t.text[2:] for t in g.iter(ns + "text") if t.get("class") == "endpoint")
        elif g.get("class") == "link":
            links.add((g.get("data-source"), g.get("data-target")))
    assert routers == {"A": ["EP0"], "M": ["EP1"], "B": ["EP2"]}
    assert links == {("A", "M"), ("B", "M")}


def _counters_of(net, name, side_ids):
    sides = net.call(name, "export_runtime_stats")["sides"]
    by = {s["side_id"]: s for s in sides}
    return [sum(by[i][k] for i in side_ids) for k in ("tx_packets", "rx_packets", "tx_bytes",
                                                     "rx_bytes")]


CLIENT_KEYS = ["sender_id", "connected", "side_ids", "side_names", "last_seen_ms", "age_ms",
               "reachable_endpoints", "reachable_endpoint_ids", "reachable_timesync_sources",
               "packets_sent", "packets_received", "bytes_sent", "bytes_received"]
_COUNTS = ("packets_sent", "packets_received", "bytes_sent", "bytes_received")


def clients(net, names):
    """{(asker, asked): client_stats without timing and counters} for every pair."""
    out = {}
    for n in names:
        for q in names:
            c = net.call(n, "client_stats", q)
            if c is not None:
                assert sorted(c) == sorted(CLIENT_KEYS), c
                # the counters are those of the sides the client is heard on
                assert [c[k] for k in _COUNTS] == _counters_of(net, n, c["side_ids"]), (n, q)
                c = {k: v for k, v in c.items()
                         if k not in _COUNTS + ("last_seen_ms", "age_ms")}
            out[(n, q)] = c
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_client_stats_agree_with_a_reference_middle(net_factory, relay):
    net = net_factory()
    mid = line(net, "r2", relay)
    names = ("A", mid, "B")
    ref = clients(net, names)
    # a node two hops behind a Router is no client; behind a Relay it is (ADDRESS forwarded)
    assert (ref[("A", "B")] is None) == (not relay)
    assert ref[("A", "A")] is None  # not a client of itself
    net = net_factory()
    line(net, "mp", relay)
    assert clients(net, names) == ref
    assert net.call(mid, "client_stats", "nobody") is None


def leave_story(net, mid, leaver="B"):
    """Graphs and the first route's endpoints of every node right after `leaver` calls
    announce_leave() (within that one call: the driver only carries its frames), then 2 s
    later (the leaver keeps running)."""
    names = ("A", mid, "B")
    net.call(leaver, "announce_leave")
    out = []
    for n in names:
        top = net.call(n, "export_topology")
        out.append((n, graph(top), [r["reachable_endpoint_ids"] for r in top["routes"]],
                    net.call(n, "client_stats", leaver) is not None))
    net.run(net.t + 2000)
    for n in names:
        out.append((n, graph(net.call(n, "export_topology"))))
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
@pytest.mark.parametrize("where", ["mid", "end"])
def test_announce_leave_is_seen_as_with_reference_nodes(net_factory, relay, where):
    net = net_factory()
    mid = line(net, "r2", relay)
    ref = leave_story(net, mid)
    # the reference drops the leaver at once everywhere but in a Relay
    assert "B" not in ref[0][1][0]
    assert ("B" in ref[1][1][0]) == relay
    net = net_factory()
    if where == "mid":
        line(net, "mp", relay)
    else:  # ours is the leaver, the middle a reference node
        line(net, "r2", relay, b_lab="mp")
    assert leave_story(net, mid) == ref


def resolved(net, names, asked):
    """{(asker, name): resolve_hostname} for routers; birth and owner hash (which fold in the
    process's router instance count) only where they are the name-derived ones (birth 0)."""
    out = {}
    for n in names:
        for q in asked + ("nobody",):
            r = net.call(n, "resolve_hostname", q)
            if r is not None and r["birth_ms"] != 0:
                r = dict(r)
                del r["birth_ms"], r["owner_hash"]
            out[(n, q)] = r
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_resolve_hostname_resolves_across_the_mix(net_factory, relay):
    net = net_factory()
    mid = line(net, "r2", relay)
    routers = ("A", "B") if relay else ("A", mid, "B")  # a Relay has no resolve_hostname
    ref = resolved(net, routers, ("A", mid, "B"))
    net = net_factory()
    line(net, "mp", relay)
    assert resolved(net, routers, ("A", mid, "B")) == ref
    # a neighbour's entry is what it says of itself
    assert net.call("A", "resolve_hostname", "B" if relay else mid)["address"] == net.call(
        "B" if relay else mid, "resolve_hostname", "B" if relay else mid)["address"]


@pytest.mark.parametrize("modes", [(1, 1), (2, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("ours_older", [True, False])
def test_address_conflict_with_a_reference_node(net_factory, modes, ours_older):
    """Two neighbours claim address 77 (mode 1 requested, 2 static); the older is made at
    t=0, the younger at t=100 (birth = created ms * 10^6 + instance)."""
    net = net_factory()
    old, young = ("mp", "ref") if ours_older else ("ref", "mp")
    net.labs[old].call("at", t=0)
    net.node(old, "OLD", 1, handlers=[E[0]], kw={"address_mode": modes[0],
                                                 "requested_address": 77})
    net.labs[young].call("at", t=100)
    net.node(young, "YOUNG", 1, handlers=[E[1]], kw={"address_mode": modes[1],
                                                     "requested_address": 77})
    net.t = 100
    net.link("OLD", 0, "YOUNG", 0)
    net.run(1000)
    got = tuple(net.call(n, "resolve_hostname", n)["address"] for n in ("OLD", "YOUNG"))
    keeper = "YOUNG" if modes == (1, 2) else "OLD"
    assert got.count(77) == 1 and got[("OLD", "YOUNG").index(keeper)] == 77, got
    loser = "OLD" if keeper == "YOUNG" else "YOUNG"
    assert net.call(keeper, "resolve_hostname", loser)["address"] == got[
        ("OLD", "YOUNG").index(loser)]


DISC_KEYS = ("route_count", "announcer_count", "current_announce_interval_ms", "next_announce_ms")


def discovery_stats(net, mid, relay):
    """The reference's keys of export_runtime_stats()["discovery"] over 45 s (the cadence
    fields compared for a Router: the reference lab drives a Relay's announcer from
    process_all_queues() after every frame, so a Relay's counters run ahead there)."""
    keys = DISC_KEYS[:2] if relay else DISC_KEYS
    out = []
    for dt in (0, 1000, 5000, 15000, 20000):
        net.run(net.t + dt)
        d = net.call(mid, "export_runtime_stats")["discovery"]
        out.append((net.t, [d[k] for k in keys]))
        top = net.call(mid, "export_topology")
        assert [top[k] for k in DISC_KEYS[2:]] == [d[k] for k in DISC_KEYS[2:]]
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_runtime_stats_discovery_section_has_the_reference_keys(net_factory, relay):
    net = net_factory()
    mid = line(net, "r2", relay)
    ref = discovery_stats(net, mid, relay)
    net = net_factory()
    line(net, "mp", relay)
    assert discovery_stats(net, mid, relay) == ref


# ---- routing by the discovered graph --------------------------------------------------------
def shape(net, xlab, name):
    """X (xlab) with two sides towards holders of E[1] (data type TO_MP):
    near_far / far_near: a holder P one hop away and R two hops away (through Q);
    equal / equal_swapped: holders P and Q one hop away each (sides swapped);
    equal_far: one holder R two hops away over two equal paths (X-P-R, X-Q-R)."""
    net.node(xlab, "X", 2, handlers=[E[0]])
    if name in ("near_far", "far_near"):
        near, far = (0, 1) if name == "near_far" else (1, 0)
        net.node("ref", "P", 1, handlers=[E[1]])
        net.node("r3", "Q", 2, handlers=[E[2]])
        net.node("r4", "R", 1, handlers=[E[1]])
        net.link("X", near, "P", 0)
        net.link("X", far, "Q", 0)
        net.link("Q", 1, "R", 0)
    elif name in ("equal", "equal_swapped"):
        net.node("ref", "P", 1, handlers=[E[1]])
        net.node("r3", "Q", 1, handlers=[E[1]])
        a, b = (0, 1) if name == "equal" else (1, 0)
        net.link("X", a, "P", 0)
        net.link("X", b, "Q", 0)
    else:
        net.node("ref", "P", 2, handlers=[E[2]])
        net.node("r3", "Q", 2, handlers=[E[3]])
        net.node("r4", "R", 2, handlers=[E[1]])
        net.link("X", 0, "P", 0)
        net.link("X", 1, "Q", 0)
        net.link("P", 1, "R", 0)
        net.link("Q", 1, "R", 1)
    net.run(3000)


def send_and_count(net, n=10):
    """Log n TO_MP frames at X: (frames per X side, deliveries per holder)."""
    before = [s["tx_packets"] for s in net.call("X", "export_runtime_stats")["sides"]]
    for i in range(n):
        net.log_f32("X", TO_MP, [float(i), 0.0])
    after = [s["tx_packets"] for s in net.call("X", "export_runtime_stats")["sides"]]
    net.run(net.t + 200)
    got = {}
    for h in ("P", "Q", "R"):
        if h in net.where:
            got[h] = len([g for g in net.got(h) if g[2] == TO_MP])
    return [a - b for a, b in zip(after, before)], got


@pytest.fixture(scope="module")
def net4():
    # a fourth reference process for the shapes with four reference nodes
    with network(SCHEMA) as net, contextlib.ExitStack() as more:
        for key in ("r2", "r3", "r4"):
            net.add_lab(key, more.enter_context(reference_peer("ref_router_lab.py")))
        yield net.reset


@pytest.mark.parametrize("name", ["near_far", "far_near", "equal", "equal_swapped", "equal_far"])
def test_nearest_holder_first_and_equal_paths_as_the_reference(net4, name):
    net = net4()
    shape(net, "r2", name)
    ref = send_and_count(net)
    net = net4()
    shape(net, "mp", name)
    assert send_and_count(net) == ref
    if name in ("near_far", "far_near"):
        assert ref[1]["P"] == 10  # the nearest holder takes everything (4.2.7)


def test_one_path_dies_and_traffic_moves_as_with_the_reference(net4):
    """Two equal paths (X-P, X-Q, both holders); the X-P link dies: traffic stays on the
    dead side until the announcer expires (TTL 30 s), then moves to Q."""
    def story(xlab):
        net = net4()
        shape(net, xlab, "equal")
        out = [send_and_count(net, 2)[0]]
        net.cross.pop(("X", 0))
        net.cross.pop(("P", 0))
        for dt in (1000, 10000, 18000, 2000, 1000):
            net.run(net.t + dt)
            out.append((net.t, send_and_count(net, 2)[0]))
        return out
    ref = story("r2")
    assert ref[0] == [2, 0] and ref[-1][1] == [0, 2]
    assert story("mp") == ref


@pytest.mark.parametrize("name", ["near_far", "equal", "equal_far"])
def test_reliable_traffic_fans_out_to_every_candidate_holder(net4, name):
    """A reliable type (REL_TO_MP -> E[1]) goes out on every side that leads to a holder,
    nearest or not, and each holder gets it once (4.2.7)."""
    def story(xlab):
        net = net4()
        shape(net, xlab, name)
        n0 = len(net.trace)
        for i in range(4):
            net.call("X", "log_f32", REL_TO_MP, [float(i)])
        sides = sorted({s for _, n, s, _ in net.trace[n0:] if n == "X"})
        net.run(net.t + 500)
        got = {h: len([g for g in net.got(h) if g[2] == REL_TO_MP])
                   for h in ("P", "Q", "R") if h in net.where}
        return sides, got
    ref = story("r2")
    assert ref[0] == [0, 1]
    assert story("mp") == ref


# ---- rings and stars -------------------------------------------------------------------------
SHAPES = {
    # name: (nodes, edges); a node's sides are its edges in this order
    "ring": (["A", "B", "C", "D"], [("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")]),
    "star": (["H", "L1", "L2", "L3"], [("H", "L1"), ("H", "L2"), ("H", "L3")]),
}
LABS = ["ref", "r2", "r3", "r4"]


def build_shape(net, which, ours):
    """Every node a Router holding its own endpoint; reference nodes each in their own
    process, ours (the names in `ours`) in the MicroPython lab."""
    nodes, edges = SHAPES[which]
    degree = dict.fromkeys(nodes, 0)
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    for i, n in enumerate(nodes):
        net.node("mp" if n in ours else LABS[i], n, degree[n], handlers=[E[i]])
    used = dict.fromkeys(nodes, 0)
    for a, b in edges:
        net.link(a, used[a], b, used[b])
        used[a] += 1
        used[b] += 1
    net.run(3000)
    return nodes


@pytest.mark.parametrize("which,ours", [("ring", "AC"), ("ring", "B"), ("star", "H"),
                                        ("star", ["L1", "L2"])])
def test_rings_and_stars_name_the_same_graph_and_forget_a_leaver(net4, which, ours):
    def story(ours):
        net = net4()
        nodes = build_shape(net, which, ours)
        graphs = {n: graph(net.call(n, "export_topology")) for n in nodes}
        res = {n: sorted(q for q in nodes
                              if net.call(n, "resolve_hostname", q) is not None)
                   for n in nodes}
        cs = clients(net, nodes)
        leaver = nodes[-1]
        net.call(leaver, "announce_leave")
        after = {n: graph(net.call(n, "export_topology")) for n in nodes if n != leaver}
        return graphs, res, after, cs
    ref = story(())
    graphs, res, after, _ = ref
    nodes, edges = SHAPES[which]
    want = (sorted(nodes), sorted(tuple(sorted(e)) for e in edges))
    assert all(g == want for g in graphs.values()), graphs
    assert all(r == sorted(nodes) for r in res.values()), res
    assert all(nodes[-1] not in g[0] for g in after.values()), after
    assert story(ours) == ref
