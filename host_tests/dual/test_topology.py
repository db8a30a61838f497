# export_topology(), client_stats() and announce_leave() of our Routers and Relays, joined
# in one process on one fake clock. Keys and shapes as sedsnet 4.2.7's (verified-4.2.7.md
# "Discovery"; the mixed-network cases are host_tests/test_discovery_interop.py). Runs under
# CPython and MicroPython.
import sys

import sedsnet
from sedsnet.relay import Relay
from sedsnet.router import Router

EPS = (0x3101, 0x3102, 0x3103, 0x3104)


def _schema():
    for i in range(len(EPS)):
        try:
            sedsnet.register_endpoint(EPS[i], "TEP%d" % i)
        except sedsnet.SedsError:
            pass  # registered by an earlier case


class Net:
    """Nodes joined by links; frames in flight are queued and delivered by pump()."""

    def __init__(self):
        self.t = [0]
        self.nodes = {}
        self.links = {}
        self.q = []
        _schema()

    def now(self):
        return self.t[0]

    def add(self, name, sides, ep=None, relay=False):
        if relay:
            n = Relay(now_ms=self.now, hostname=name)
        else:
            hs = [] if ep is None else [(ep, lambda pkt: None, None)]
            n = Router(now_ms=self.now, hostname=name, handlers=hs)
        self.nodes[name] = n
        for i in range(sides):
            n.add_side_packed("s%d" % i, self._tx(name, i))
        return n

    def _tx(self, name, i):
        def tx(frame):
            peer = self.links.get((name, i))
            if peer is not None:
                self.q.append((peer[0], peer[1], bytes(frame)))
        return tx

    def link(self, a, ai, b, bi):
        self.links[(a, ai)] = (b, bi)
        self.links[(b, bi)] = (a, ai)

    def cut(self, a, ai):
        b = self.links.pop((a, ai))
        del self.links[b]

    def pump(self):
        while self.q:
            name, i, frame = self.q.pop(0)
            n = self.nodes[name]
            if n.kind == "relay":
                n.rx_packed_from_side(i, frame)
            else:
                n.receive_packed_from_side(i, frame)

    def run(self, to, step=50):
        while self.t[0] <= to:
            for n in self.nodes.values():
                n.periodic(0)
            self.pump()
            self.t[0] += step


def line(mid_relay=False):
    net = Net()
    net.add("A", 1, EPS[0])
    net.add("M", 2, None if mid_relay else EPS[1], relay=mid_relay)
    net.add("B", 1, EPS[2])
    net.link("A", 0, "M", 0)
    net.link("M", 1, "B", 0)
    net.run(2000)
    return net


def routers_and_links(top):
    return (sorted(r["sender_id"] for r in top["routers"]),
            [(l["source"], l["target"]) for l in top["links"]])


def test_line_every_node_exports_the_same_routers_and_links():
    net = line()
    for name in "AMB":
        top = net.nodes[name].export_topology()
        assert routers_and_links(top) == (["A", "B", "M"], [("A", "M"), ("B", "M")]), name
    top = net.nodes["A"].export_topology()
    by = {r["sender_id"]: r for r in top["routers"]}
    assert by["M"] == {"sender_id": "M", "reachable_endpoints": ["TEP1"],
                       "reachable_endpoint_ids": [EPS[1]], "reachable_timesync_sources": [],
                       "connections": ["A", "B"]}
    assert by["A"]["connections"] == ["M"] and by["B"]["connections"] == ["M"]
    assert top["advertised_endpoints"] == ["TEP0", "TEP1", "TEP2"]
    assert top["advertised_endpoint_ids"] == list(EPS[:3])
    assert top["advertised_timesync_sources"] == []


def test_routes_name_side_announcers_and_ages():
    net = line()
    top = net.nodes["M"].export_topology()
    assert [(r["side_id"], r["side_name"]) for r in top["routes"]] == [(0, "s0"), (1, "s1")]
    r0 = top["routes"][0]
    assert sorted(r0) == sorted(["side_id", "side_name", "reachable_endpoints",
                                 "reachable_endpoint_ids", "reachable_network_variables",
                                 "reachable_timesync_sources", "announcers", "last_seen_ms",
                                 "age_ms"])
    assert r0["reachable_endpoints"] == ["TEP0"] and r0["reachable_endpoint_ids"] == [EPS[0]]
    (a,) = r0["announcers"]
    assert a["sender_id"] == "A" and a["reachable_endpoint_ids"] == [EPS[0]]
    assert [b["sender_id"] for b in a["routers"]] == ["A"]
    assert a["age_ms"] == net.t[0] - a["last_seen_ms"] and 0 <= a["age_ms"] <= 30000
    assert r0["last_seen_ms"] == a["last_seen_ms"]
    # B's side towards M: M's own board and A's (split horizon: not B's)
    top = net.nodes["B"].export_topology()
    (a,) = top["routes"][0]["announcers"]
    assert [b["sender_id"] for b in a["routers"]] == ["A", "M"]
    assert a["reachable_endpoint_ids"] == [EPS[0], EPS[1]]


def _addr_frame(host, eps):
    from sedsnet import announce as an
    from sedsnet.ids import node_address, source_address
    from sedsnet.wire import frame_size, pack_into
    pl = an.address_payload(host, node_address(host), 1, 1, eps)
    buf = bytearray(frame_size(0, 17, source_address(host), 0, 1, len(pl), -1, 0x84))
    pack_into(buf, 17, source_address(host), None, 0, 1, pl, None, 0x84)
    return buf


def test_control_endpoints_are_not_exported():
    net = Net()
    b = net.add("B", 1, EPS[3])
    net.run(100)
    b.receive_packed_from_side(0, _addr_frame("CTL", [200, 201, 202, EPS[0]]))
    top = b.export_topology()
    by = {r["sender_id"]: r for r in top["routers"]}
    assert by["CTL"]["reachable_endpoint_ids"] == [EPS[0]]
    assert by["CTL"]["reachable_endpoints"] == ["TEP0"]
    assert top["advertised_endpoint_ids"] == [EPS[0], EPS[3]]
    (a,) = top["routes"][0]["announcers"]
    assert a["sender_id"] == "CTL" and a["reachable_endpoint_ids"] == [EPS[0]]


def test_relay_in_the_middle_appears_with_no_endpoints():
    net = line(mid_relay=True)
    top = net.nodes["M"].export_topology()
    by = {r["sender_id"]: r for r in top["routers"]}
    assert by["M"]["reachable_endpoint_ids"] == [] and by["M"]["connections"] == ["A", "B"]
    assert top["advertised_endpoint_ids"] == [EPS[0], EPS[2]]
    assert ("A", "M") in routers_and_links(top)[1]


def test_announce_cadence_fields_double_to_5000():
    net = Net()
    net.add("A", 1, EPS[0])
    top = net.nodes["A"].export_topology()
    assert (top["current_announce_interval_ms"], top["next_announce_ms"]) == (250, 0)
    net.run(100000, step=1000)
    top = net.nodes["A"].export_topology()
    assert top["current_announce_interval_ms"] == 5000
    assert top["next_announce_ms"] > 90000


def test_links_are_deduplicated_and_ordered():
    net = Net()
    net.add("C", 2, EPS[0])
    net.add("A", 2, EPS[1])
    net.add("B", 2, EPS[2])
    net.link("A", 0, "B", 0)
    net.link("B", 1, "C", 0)
    net.link("C", 1, "A", 1)
    net.run(3000)
    for name in "ABC":
        top = net.nodes[name].export_topology()
        assert routers_and_links(top) == (["A", "B", "C"],
                                          [("A", "B"), ("A", "C"), ("B", "C")]), name


def test_topology_module_loads_only_when_asked():
    for m in ("sedsnet.topology",):
        sys.modules.pop(m, None)
    got = []
    r = Router(now_ms=lambda: 0, hostname="Q", handlers=[(EPS[0], got.append, None)])
    r.add_side_packed("s", lambda f: None)
    _schema()
    if not sedsnet.data_type_exists(0x3201):
        sedsnet.register_data_type(0x3201, "TTOPO", True, 1, 1, 0, [EPS[0], EPS[1]])
    r.receive_packed_from_side(0, _addr_frame("PEER", [EPS[1]]))
    r.log_f32(0x3201, [1.5])
    r.periodic(0)
    r.export_runtime_stats()
    assert "sedsnet.topology" not in sys.modules
    r.export_topology()
    assert "sedsnet.topology" in sys.modules


def test_client_stats_of_a_direct_announcer():
    net = line()
    c = net.nodes["M"].client_stats("B")
    side = net.nodes["M"].export_runtime_stats()["sides"][1]
    assert c["sender_id"] == "B" and c["connected"] is True
    assert c["side_ids"] == [1] and c["side_names"] == ["s1"]
    assert c["reachable_endpoints"] == ["TEP2"] and c["reachable_endpoint_ids"] == [EPS[2]]
    assert c["reachable_timesync_sources"] == []
    assert c["age_ms"] == net.t[0] - c["last_seen_ms"]
    assert (c["packets_sent"], c["packets_received"], c["bytes_sent"], c["bytes_received"]) == (
        side["tx_packets"], side["rx_packets"], side["tx_bytes"], side["rx_bytes"])
    assert c["packets_received"] > 0


def test_client_stats_is_none_two_hops_behind_a_router_and_for_unknown_or_self():
    net = line()
    a = net.nodes["A"]
    assert a.client_stats("B") is None  # known only from M's TOPOLOGY
    assert a.client_stats("A") is None
    assert a.client_stats("nobody") is None
    assert a.client_stats("M")["side_ids"] == [0]


def test_client_stats_behind_a_relay_is_a_client():
    net = line(mid_relay=True)
    c = net.nodes["A"].client_stats("B")
    assert c is not None and c["reachable_endpoint_ids"] == [EPS[2]]


def test_client_stats_of_a_non_str_is_an_argument_error():
    from support import raises
    net = line()
    for bad in (None, 3, b"B"):
        assert raises(sedsnet.ArgumentError, net.nodes["A"].client_stats, bad)


def test_announce_leave_sends_one_empty_leave_per_side():
    from sedsnet.wire import FrameHeader
    net = Net()
    sent = []
    r = Router(now_ms=net.now, hostname="L")
    for i in range(3):
        r.add_side_packed("s%d" % i, lambda f, i=i: sent.append((i, bytes(f))))
    net.t[0] = 1000
    r.announce_leave()
    assert [i for i, _ in sent] == [0, 1, 2]
    for _, f in sent:
        hdr = FrameHeader(max_endpoints=4)
        hdr.parse(f)
        # the reference's: flags 08 (nonce only), type 15, no payload, endpoint 201
        assert f[0] == 0x08 and hdr.ty == 15 and hdr.payload_end == hdr.payload_start
        assert hdr.src_addr == r.src_addr
    assert sent[0][1][:4] == bytes.fromhex("08010f00")


def _graph(node):
    return routers_and_links(node.export_topology())


def test_a_leave_is_dropped_by_every_router_within_the_receive_call():
    net = line()
    net.nodes["B"].announce_leave()
    net.pump()  # the frames of this one call, nothing periodic
    assert _graph(net.nodes["M"]) == (["A", "M"], [("A", "M")])
    assert _graph(net.nodes["A"]) == (["A", "M"], [("A", "M")])
    assert net.nodes["M"].client_stats("B") is None
    top = net.nodes["A"].export_topology()
    assert top["routes"][0]["reachable_endpoint_ids"] == [EPS[1]]
    assert EPS[2] not in top["advertised_endpoint_ids"]
    # the leaver itself keeps its view
    assert _graph(net.nodes["B"])[0] == ["A", "B", "M"]


def test_a_relay_forwards_a_leave_but_keeps_the_node():
    net = line(mid_relay=True)
    net.nodes["B"].announce_leave()
    net.pump()
    assert "B" in _graph(net.nodes["M"])[0]
    assert net.nodes["M"].client_stats("B") is not None
    assert _graph(net.nodes["A"]) == (["A", "M"], [("A", "M")])


def test_resolve_hostname_self_neighbour_far_and_unknown():
    from sedsnet.ids import node_address, sender_hash, source_address
    net = line()
    a = net.nodes["A"]
    me = a.resolve_hostname("A")
    assert me == {"hostname": "A", "address": a.current_address, "requested_address": 0,
                  "birth_ms": me["birth_ms"], "owner_hash": me["owner_hash"]}
    m = a.resolve_hostname("M")  # heard in M's ADDRESS: M's own fields
    assert m["address"] == node_address("M") == net.nodes["M"].current_address
    assert (m["birth_ms"], m["owner_hash"]) == (net.nodes["M"].resolve_hostname("M")["birth_ms"],
                                                net.nodes["M"].resolve_hostname("M")["owner_hash"])
    # two hops behind a Router, known by name from a TOPOLOGY board: 4.2.7 reports the
    # header address and sender hash of the name, birth 0
    assert a.resolve_hostname("B") == {"hostname": "B", "address": source_address("B"),
                                       "requested_address": 0, "birth_ms": 0,
                                       "owner_hash": sender_hash("B")}
    assert a.resolve_hostname("nobody") is None
    from support import raises
    assert raises(sedsnet.ArgumentError, a.resolve_hostname, 5)


def test_resolve_hostname_is_kept_after_a_leave_by_the_neighbour_only():
    net = line()
    net.nodes["B"].announce_leave()
    net.pump()
    assert net.nodes["M"].resolve_hostname("B")["address"] == net.nodes["B"].current_address
    assert net.nodes["A"].resolve_hostname("B") is None


def _pair(mode_a, mode_b, req=77):
    net = Net()
    a = net.add("PA", 1, EPS[0])
    b = net.add("PB", 1, EPS[1])  # made after PA: younger (larger birth)
    a.configure_address(mode_a, req)
    b.configure_address(mode_b, req)
    net.link("PA", 0, "PB", 0)
    net.run(500)
    return a, b


def test_address_conflicts_are_settled_as_4_2_7_settles_them():
    from sedsnet.ids import node_address
    # (mode of the older, mode of the younger) -> who keeps 77 (the other takes its
    # hostname's dynamic address, keeping its mode and requested address)
    for modes, keeper in (((1, 1), "a"), ((2, 2), "a"), ((1, 2), "b"), ((2, 1), "a")):
        a, b = _pair(*modes)
        want = (77, node_address("PB")) if keeper == "a" else (node_address("PA"), 77)
        assert (a.current_address, b.current_address) == want, modes
        loser = b if keeper == "a" else a
        assert loser.resolve_hostname(loser.hostname)["requested_address"] == 77
        other = a if loser is b else b
        assert other.resolve_hostname(loser.hostname)["address"] == loser.current_address
    a, b = _pair(0, 1, 5)
    assert (a.current_address, b.current_address) == (node_address("PA"), 5)


def test_announce_discovery_sends_address_topology_and_schema_on_every_side():
    from sedsnet.wire import FrameHeader
    sent = []
    r = Router(now_ms=lambda: 0, hostname="D")
    for i in range(2):
        r.add_side_packed("s%d" % i, lambda f, i=i: sent.append((i, bytes(f))))
    r.periodic(0)
    del sent[:]
    r.announce_discovery()
    tys = []
    for i, f in sent:
        hdr = FrameHeader(max_endpoints=4)
        hdr.parse(f)
        tys.append((i, hdr.ty))
    assert tys == [(0, 17), (0, 9), (0, 10), (1, 17), (1, 9), (1, 10)]


def test_hostnames_heard_are_bounded_and_evictions_counted():
    r = Router(now_ms=lambda: 0, hostname="HB", max_discovery_peers=4)
    r.add_side_packed("s", lambda f: None)
    _schema()
    for i in range(40):
        r.receive_packed_from_side(0, _addr_frame("H%d" % i, [EPS[0]]))
    d = r.export_runtime_stats()["discovery"]
    assert d["hostnames"] == 4 and d["hostnames_evicted"] == 36, d
    assert r.resolve_hostname("H39")["address"] != 0
    kept = [i for i in range(40) if r.resolve_hostname("H%d" % i) is not None
            and r.resolve_hostname("H%d" % i)["birth_ms"] != 0]
    assert len(kept) == 4 and 39 in kept


def test_cadence_counts_sending_rounds_and_a_change_restarts_it():
    net = Net()
    a = net.add("A", 1, EPS[0])
    net.run(0)  # the first full announcement is no round
    d = a.export_runtime_stats()["discovery"]
    assert (d["current_announce_interval_ms"], d["next_announce_ms"]) == (250, 0)
    net.run(20000)  # heartbeat at 15000
    d = a.export_runtime_stats()["discovery"]
    assert (d["current_announce_interval_ms"], d["next_announce_ms"]) == (500, 15250)
    b = net.add("B", 1, EPS[1])
    net.link("A", 0, "B", 0)
    b.periodic(0)
    net.pump()  # a new announcer: a burst of 3 rounds from 250 again
    net.run(22000)
    d = a.export_runtime_stats()["discovery"]
    assert d["current_announce_interval_ms"] == 2000, d
    assert d["route_count"] == 1 and d["announcer_count"] == 1


def _typed():
    _schema()
    if not sedsnet.data_type_exists(0x3202):
        sedsnet.register_data_type(0x3202, "TPATH", True, 1, 1, 0, [EPS[1]])


class Count:
    def __init__(self):
        self.n = 0

    def __call__(self, pkt):
        self.n += 1


def _holders(near_side):
    """X with a holder P of EPS[1] one hop away on near_side and R two hops away (via Q)."""
    _typed()
    net = Net()
    cp, cr = Count(), Count()
    net.add("X", 2, EPS[0])
    p = Router(now_ms=net.now, hostname="P", handlers=[(EPS[1], cp, None)])
    r = Router(now_ms=net.now, hostname="R", handlers=[(EPS[1], cr, None)])
    for name, n in (("P", p), ("R", r)):
        net.nodes[name] = n
        n.add_side_packed("s0", net._tx(name, 0))
    net.add("Q", 2, EPS[2])
    net.link("X", near_side, "P", 0)
    net.link("X", 1 - near_side, "Q", 0)
    net.link("Q", 1, "R", 0)
    net.run(3000)
    return net, cp, cr


def test_the_nearest_holder_takes_the_traffic():
    for near in (0, 1):
        net, cp, cr = _holders(near)
        for i in range(6):
            net.nodes["X"].log_f32(0x3202, [float(i)])
        net.pump()
        assert (cp.n, cr.n) == (6, 0), near
        # Fanout still sends to every candidate
        net.nodes["X"].set_source_route_mode(None, 0)
        net.nodes["X"].log_f32(0x3202, [9.0])
        net.pump()
        assert (cp.n, cr.n) == (7, 1)


def _equal_holders(weights):
    _typed()
    net = Net()
    got = [Count(), Count()]
    net.add("X", 2, EPS[0])
    for i, name in enumerate(("H1", "H0")):
        n = Router(now_ms=net.now, hostname=name, handlers=[(EPS[1], got[i], None)])
        net.nodes[name] = n
        n.add_side_packed("s0", net._tx(name, 0))
    net.link("X", 1, "H1", 0)
    net.link("X", 0, "H0", 0)
    net.run(3000)
    x = net.nodes["X"]
    if weights:
        x.set_route_weight(None, 0, 1)
        x.set_route_weight(None, 1, 5)
    counts = []
    for burst in range(3):
        for i in range(4):
            x.log_f32(0x3202, [float(i)])
        net.pump()
        counts.append((got[1].n, got[0].n))
    return net, x, got, counts


def test_equal_holders_weights_count_only_in_weighted_mode():
    net, x, got, counts = _equal_holders(False)
    assert counts[0] == (4, 0)  # H0 is on side 0: the lowest side first (4.2.7)
    # without a route mode 4.2.7 weighs link headroom, not route weights
    assert _equal_holders(True)[3] == counts
    x.set_source_route_mode(None, 1)  # Weighted: weighted round robin
    x.set_route_weight(None, 0, 1)
    x.set_route_weight(None, 1, 3)
    n1, n0 = got[1].n, got[0].n
    for i in range(8):
        x.log_f32(0x3202, [float(i)])
    net.pump()
    assert (got[1].n - n1, got[0].n - n0) == (2, 6)  # (H0 on side 0, H1 on side 1)


def test_paths_module_loads_only_with_two_candidate_sides():
    sys.modules.pop("sedsnet.paths", None)
    net = line()
    _typed()
    net.nodes["A"].log_f32(0x3202, [1.0])  # one way: M
    net.pump()
    net.run(net.t[0] + 100)
    assert "sedsnet.paths" not in sys.modules
    net2, _cp, _cr = _holders(0)
    net2.nodes["X"].log_f32(0x3202, [1.0])
    assert "sedsnet.paths" in sys.modules


def test_a_reliable_log_with_no_way_to_its_endpoints_raises_io_error():
    from support import raises
    _schema()
    if not sedsnet.data_type_exists(0x3203):
        sedsnet.register_data_type(0x3203, "TREL", False, 0, 1, 0, [EPS[0], EPS[3]], 1)
        sedsnet.register_data_type(0x3204, "TPLAIN", True, 1, 1, 0, [EPS[3]])
    got = []
    r = Router(now_ms=lambda: 0, hostname="IO", handlers=[(EPS[0], got.append, None)])
    r.add_side_packed("a", lambda f: None)
    r.add_side_packed("b", lambda f: None)
    e = raises(sedsnet.IoError, r.log_f32, 0x3203, [1.0])
    assert "no discovered route" in str(e) and isinstance(e, sedsnet.SedsError)
    assert len(got) == 1  # delivered here first, as 4.2.7
    r.log_f32(0x3204, [1.0])  # not reliable: nothing raised
    r.log_f32(0x3203, [1.0], queue=True)
    r.process_all_queues()  # from the queue: nothing raised
    assert len(got) == 2
    one = Router(now_ms=lambda: 0, hostname="IO1")
    one.add_side_packed("a", lambda f: None)
    one.log_f32(0x3203, [1.0])  # one side, nothing announced: it goes there


def test_reliable_types_go_to_every_candidate_holder():
    _typed()
    if not sedsnet.data_type_exists(0x3205):
        sedsnet.register_data_type(0x3205, "TRELPATH", False, 0, 1, 0, [EPS[1]], 1)
    net, cp, cr = _holders(0)
    net.nodes["X"].log_f32(0x3205, [1.0])
    net.pump()
    assert (cp.n, cr.n) == (1, 1)  # the nearest P and the farther R
    net.nodes["X"].log_f32(0x3202, [1.0])  # the plain type: the nearest only
    net.pump()
    assert (cp.n, cr.n) == (2, 1)


def test_discovery_state_is_in_the_memory_layout_and_evictions_warn_once():
    import json
    r = Router(now_ms=lambda: 0, hostname="ML", max_discovery_peers=3)
    r.add_side_packed("s", lambda f: None)
    _schema()
    lay0 = json.loads(r.export_memory_layout_json())
    used0, bytes0 = r._budget.used, r.discovery.memory_bytes()
    for i in range(10):
        r.receive_packed_from_side(0, _addr_frame("ML%d" % i, [EPS[0]]))
    lay = json.loads(r.export_memory_layout_json())
    d = r.export_runtime_stats()["discovery"]
    assert d["announcers"] == 3 and d["evicted"] == 7 and d["hostnames"] == 3
    assert r.discovery.warned is True
    assert lay["discovery_bytes_used"] == r.discovery.memory_bytes() > lay0[
        "discovery_bytes_used"]
    # every record (announcers, boards, hostnames) and every side table (reachability
    # counts, delta baselines) is charged to the queue budget
    assert r._budget.used - used0 == r.discovery.memory_bytes() - bytes0 > 0
