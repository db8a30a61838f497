"""End-to-end reliability live against 4.2.7 over lossy links (netlab.py: each lab in its own
process on one fake clock; every cross-lab link through tools/linksim.py: 20% loss, 5%
duplication, reordering, 2% corruption, each way; retries raised on every node).

1. Our origin (MicroPython lab) with a reference Relay and holder on one side and a reference
   holder on the other: every packet of an ordered and an unordered type reaches each holder
   exactly once (the ordered one in order), and no resend goes toward a holder whose E2E ACK
   had already reached the origin. The link from the Relay back to our origin is the one
   clean direction: a 4.2.7 Relay drops every resend of a packet once it has passed the
   holder's ACK on, so an ACK lost after it makes any origin give up, 4.2.7's included
   (test_reliable_origin_parity.py shows it).
2. A reference origin through our Relay (MicroPython lab) to a reference holder, our Relay
   also joined to an unrelated reference router: every packet arrives once, in order, the
   origin never gives up, and no E2E ACK ever leaves our Relay on the unrelated side."""
import os
import struct
import sys

import pytest

from netlab import network
from peerproc import reference_peer

from sedsnet.ids import source_address, write_packet_id
from sedsnet.wire import FrameHeader

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from linksim import Duplex  # noqa: E402

E_H = 0x1201  # held by the reference holders
E_X = 0x1202  # held by the unrelated reference router
ORD, UNO = 0x2201, 0x2202
SCHEMA = [["register_endpoint", E_H, "OI_H"], ["register_endpoint", E_X, "OI_X"],
          ["register_data_type", ORD, "OI_ORD", False, 0, 1, 0, [E_H], 1],
          ["register_data_type", UNO, "OI_UNO", False, 0, 1, 0, [E_H], 2]]
FAULTS = {"loss": 0.2, "dup": 0.05, "reorder": 0.1, "hold_ms": 150, "corrupt": 0.02}
TUNING = {"reliable_max_retries": 40, "reliable_max_end_to_end_pending": 256}
N = 20
_h = FrameHeader(max_endpoints=8)


@pytest.fixture(scope="module")
def net():
    with network(SCHEMA) as n, reference_peer("ref_router_lab.py") as ref2:
        n.add_lab("ref2", ref2)  # (a second reference process: a lossy link between two)
        yield n


def _fresh(net, seed):
    net.reset(seed)
    for lab in net.labs.values():
        lab.call("fn", fn="set_runtime_tuning_config", kw=TUNING)


def _faulty(sims):
    for s in sims:
        for k, v in FAULTS.items():
            setattr(s, k, v)


def _both(*duplexes):
    return [s for d in duplexes for s in (d.a_to_b, d.b_to_a)]


def _recording(sim, log):
    """sim.due() that also logs (t, frame) of what it delivers."""
    due = sim.due

    def recorded(now):
        frames = due(now)
        for f in frames:
            log.append((now, bytes(f)))
        return frames
    sim.due = recorded


def _parse(f):
    try:
        _h.parse(f)
    except Exception:
        return None  # corrupted on the link: the receiver drops it too
    return _h


def _check_delivery(net, sink, sims):
    got = [(ty, struct.unpack("<f", bytes.fromhex(pl))[0]) for _, ep, ty, pl in net.got(sink)]
    ords = [v for ty, v in got if ty == ORD]
    unos = sorted(v for ty, v in got if ty == UNO)
    assert ords == [float(i) for i in range(N)], (sink, ords)
    assert unos == [float(100 + i) for i in range(N)], (sink, unos)
    stats = [s.stats for s in sims]
    assert sum(s["lost"] for s in stats) > 10 and sum(s["corrupted"] for s in stats) > 0


def _send(net, origin):
    for i in range(N):
        net.log_f32(origin, ORD, [float(i)])
        net.log_f32(origin, UNO, [float(100 + i)])
        net.run(net.t + 100)
    net.run(net.t + 20000)


def test_our_origin_to_reference_holders_through_a_reference_relay(net):
    _fresh(net, 5)
    net.node("mp", "A", 2)
    net.node("ref", "R", 2, relay=True)
    net.node("ref2", "B", 1, handlers=[E_H])
    net.node("ref", "C", 1, handlers=[E_H])
    to_r, r_b, to_c = Duplex(seed=41), Duplex(seed=42), Duplex(seed=43)
    net.link("A", 0, "R", 0, sim=to_r)
    net.link("R", 1, "B", 0, sim=r_b)
    net.link("A", 1, "C", 0, sim=to_c)
    acks = []  # (t, frame) of what reached A
    _recording(to_r.b_to_a, acks)
    _recording(to_c.b_to_a, acks)
    net.run(3000)
    lossy = [to_r.a_to_b] + _both(r_b, to_c)
    _faulty(lossy)
    t0 = net.t
    _send(net, "A")
    _check_delivery(net, "B", lossy)
    _check_delivery(net, "C", lossy)
    rel = net.call("A", "export_runtime_stats")["reliable"]
    assert rel["end_to_end_pending_count"] == 0 and rel["e2e"]["given_up"] == 0, rel
    assert rel["e2e"]["resent"] > 0  # the faults made it resend
    # when each holder's ACK of each packet first reached A
    holder = {source_address("E2EACK:B"): 0, source_address("E2EACK:C"): 1}  # -> A's side
    acked = {}
    for t, f in acks:
        h = _parse(f)
        if h is not None and h.ty == 1 and h.contract_start >= 0 and h.src_addr in holder:
            key = (bytes(f[h.payload_start:h.payload_end]), holder[h.src_addr])
            acked.setdefault(key, t)
    # every send of A after its first, side by side: never after that side's holder ACKed
    first = {}
    resends = 0
    for t, name, side, frame in net.trace:
        f = bytes.fromhex(frame)
        if name != "A" or t < t0:
            continue
        h = _parse(f)
        if h is None or h.ty not in (ORD, UNO):
            continue
        pid = bytearray(8)
        write_packet_id(h, f, pid)
        key = (bytes(pid), side)
        if key in first:
            resends += 1
            assert acked.get(key, t) >= t, ("resent after the ACK", t, side, acked[key])
        first.setdefault(key, t)
    assert resends > 0 and len(first) == 4 * N


def test_reference_origin_through_our_relay_sends_no_e2e_ack_to_unrelated_sides(net):
    _fresh(net, 9)
    net.node("ref", "O", 1)
    net.node("mp", "M", 3, relay=True)
    net.node("ref", "B", 1, handlers=[E_H])
    net.node("ref", "X", 1, handlers=[E_X])
    d1, d2, d3 = Duplex(seed=51), Duplex(seed=53), Duplex(seed=57)
    net.link("O", 0, "M", 0, sim=d1)
    net.link("M", 1, "B", 0, sim=d2)
    net.link("M", 2, "X", 0, sim=d3)  # (clean: X is only there to see what M sends it)
    net.run(3000)
    _faulty(_both(d1, d2))
    t0 = net.t
    _send(net, "O")
    _check_delivery(net, "B", _both(d1, d2))
    sent = {}
    for t, name, side, frame in net.trace:
        h = _parse(bytes.fromhex(frame))
        if name == "M" and t >= t0 and h is not None and h.ty == 1 and h.contract_start >= 0:
            sent[side] = sent.get(side, 0) + 1
    assert sent.get(0, 0) >= 2 * N and 2 not in sent, sent  # back to O only


def _acks_sent(net, name, t0):
    """{side index: E2E ACKs name sent since t0}."""
    sent = {}
    for t, n, side, frame in net.trace:
        h = _parse(bytes.fromhex(frame))
        if n == name and t >= t0 and h is not None and h.ty == 1 and h.contract_start >= 0:
            sent[side] = sent.get(side, 0) + 1
    return sent


def test_e2e_acks_cross_our_nodes_without_discovery_on_the_learned_path_only(net):
    # a reference origin O that discovered the reference holder B over a direct cable; the
    # cable is then cut and our Relay M and our Router N, both without discovery, put in
    # between (O -20%- M - N -20%- B), an unrelated reference router on the third side of
    # each. O's discovery still lists B (30 s), so its logs carry the contract and wait for
    # B's E2E ACKs: those come back only the way each packet came (return_path.py), and O
    # stops resending; X and Y, which get the flooded data, never see an ACK
    _fresh(net, 13)
    net.node("ref", "O", 1)
    net.node("ref2", "B", 1, handlers=[E_H])
    net.link("O", 0, "B", 0)
    net.run(3000)
    net.node("mp", "M", 3, relay=True, kw={"discovery": False})
    net.node("mp", "N", 3, kw={"discovery": False})
    net.node("ref", "X", 1, handlers=[E_X])
    net.node("ref", "Y", 1, handlers=[E_X])
    d1, d2 = Duplex(seed=61), Duplex(seed=62)
    net.link("O", 0, "M", 0, sim=d1)
    net.link("M", 1, "N", 0)
    net.link("N", 1, "B", 0, sim=d2)
    net.link("M", 2, "X", 0)
    net.link("N", 2, "Y", 0)
    lossy = _both(d1, d2)
    for s in lossy:
        s.loss = 0.2
    t0 = net.t
    _send(net, "O")
    got = [(ty, struct.unpack("<f", bytes.fromhex(pl))[0]) for _, ep, ty, pl in net.got("B")]
    assert [v for ty, v in got if ty == ORD] == [float(i) for i in range(N)], got
    assert sorted(v for ty, v in got if ty == UNO) == [float(100 + i) for i in range(N)], got
    assert sum(s.stats["lost"] for s in lossy) > 10
    # (the trace holds what crosses labs: all of M's sides but N's, N's side to Y)
    sent_m, sent_n = _acks_sent(net, "M", t0), _acks_sent(net, "N", t0)
    assert sent_m.get(0, 0) >= 2 * N and set(sent_m) == {0}, sent_m  # to O; X: none
    assert sent_n == {}, sent_n  # Y: none
    data_to = {(n, side) for t, n, side, f in net.trace if t >= t0 and
               _parse(bytes.fromhex(f)) is not None and _h.ty in (ORD, UNO)}
    assert ("M", 2) in data_to and ("N", 2) in data_to  # (data is flooded: no discovery)
    for name in ("M", "N"):
        e2e = net.call(name, "export_runtime_stats")["reliable"]["e2e"]
        assert e2e["acks_returned"] >= 2 * N and e2e.get("acks_unrouted", 0) == 0, (name, e2e)
    rel = net.call("O", "export_runtime_stats")["reliable"]
    assert rel["end_to_end_pending_count"] == 0, rel
    last = max(t for t, n, side, f in net.trace if n == "O" and _parse(bytes.fromhex(f)) is not
               None and _h.ty in (ORD, UNO))
    assert last < net.t - 10000, (last, net.t)  # every packet ACKed: no more resends


# ---- the contract keeps packets deliverable across mid-flight changes (seed: "compact
# internal wire contract"): the relay on the way leaves and another takes over, or the far
# side's schema changes, while packets are in flight over lossy links with 40 ms of delay

def _send_through(net, origin, events):
    """N packets of each type, 100 ms apart, events[i]() just before the i-th; then 20 s."""
    for i in range(N):
        if i in events:
            events[i]()
        net.log_f32(origin, ORD, [float(i)])
        net.log_f32(origin, UNO, [float(100 + i)])
        net.run(net.t + 100)
    net.run(net.t + 20000)


def _exactly_once(net, sink, t_change):
    """Every packet reached sink once (ORD in order); how many logged before t_change first
    arrived after it (they were in flight across the change)."""
    got = net.got(sink)
    vals = [(t, ty, struct.unpack("<f", bytes.fromhex(pl))[0]) for t, ep, ty, pl in got]
    assert [v for t, ty, v in vals if ty == ORD] == [float(i) for i in range(N)], vals
    assert sorted(v for t, ty, v in vals if ty == UNO) == [float(100 + i) for i in range(N)]
    return sum(1 for t, ty, v in vals if t > t_change and v % 100 < 10)


def _relay_swap(net, origin, holder, lab_r):
    """origin's side 0 -> relay R1 -> holder's side 0, all lossy but the relay's way back
    to the origin (a 4.2.7 Relay drops the resends of a packet whose ACK it passed, so an ACK
    lost after it strands any origin); before the 10th packet R1 announces its leave and is
    cut off, and R2 joins between origin's and holder's sides 1. Returns the cut time."""
    slow = {"delay_ms": 40, "jitter_ms": 10}
    d1, d2 = Duplex(seed=71, **slow), Duplex(seed=72, **slow)
    net.node(lab_r, "R1", 2, relay=True)
    net.link(origin, 0, "R1", 0, sim=d1)
    net.link("R1", 1, holder, 0, sim=d2)
    net.run(3000)
    _faulty([d1.a_to_b, d2.a_to_b, d2.b_to_a])
    d3, d4 = Duplex(seed=73, **slow), Duplex(seed=74, **slow)
    cut = []

    def swap():
        net.call("R1", "announce_leave")
        d1.set_up(False)
        d2.set_up(False)
        net.node(lab_r, "R2", 2, relay=True)
        net.link(origin, 1, "R2", 0, sim=d3)
        net.link("R2", 1, holder, 1, sim=d4)
        _faulty([d3.a_to_b, d4.a_to_b, d4.b_to_a])
        cut.append(net.t)
    _send_through(net, origin, {10: swap})
    lossy = [d1.a_to_b, d2.a_to_b, d2.b_to_a, d3.a_to_b, d4.a_to_b, d4.b_to_a]
    assert sum(s.stats["lost"] for s in lossy) > 10
    # the path did move: frames went into R1's cut links, and on through R2
    assert d1.a_to_b.stats["down"] > 0 and d4.a_to_b.stats["delivered"] > 0
    return cut[0]


def test_our_packets_in_flight_survive_their_relay_leaving(net):
    _fresh(net, 21)
    net.node("mp", "A", 2)
    net.node("ref2", "B", 2, handlers=[E_H])
    t_cut = _relay_swap(net, "A", "B", "ref")
    assert _exactly_once(net, "B", t_cut) >= 1
    rel = net.call("A", "export_runtime_stats")["reliable"]
    assert rel["end_to_end_pending_count"] == 0 and rel["e2e"]["given_up"] == 0, rel


def test_reference_packets_in_flight_survive_their_relay_leaving_to_our_holder(net):
    _fresh(net, 22)
    net.node("ref", "O", 2)
    net.node("mp", "H", 2, handlers=[E_H])
    t_cut = _relay_swap(net, "O", "H", "ref2")
    assert _exactly_once(net, "H", t_cut) >= 1
    rel = net.call("O", "export_runtime_stats")["reliable"]
    assert rel["end_to_end_pending_count"] == 0, rel


def test_our_packets_in_flight_survive_a_schema_change_on_the_far_side(net):
    # the holder's process registers a new type held by its endpoint and announces, the
    # origin's process another, while packets are in flight: the contract (holders, shape)
    # keeps them deliverable and the origin's pending set drains
    _fresh(net, 23)
    net.node("mp", "A", 1)
    net.node("ref", "R", 2, relay=True)
    net.node("ref2", "B", 1, handlers=[E_H])
    slow = {"delay_ms": 40, "jitter_ms": 10}
    d1, d2 = Duplex(seed=81, **slow), Duplex(seed=82, **slow)
    net.link("A", 0, "R", 0, sim=d1)
    net.link("R", 1, "B", 0, sim=d2)
    net.run(3000)
    _faulty([d1.a_to_b, d2.a_to_b, d2.b_to_a])
    t = []

    def change():
        for lab, ty in (("ref2", 0x2281), ("mp", 0x2282)):
            net.labs[lab].call("fn", fn="register_data_type", args=[
                ty, "OI_NEW%d" % ty, False, 0, 1, 0, [E_H], 2])
        net.call("B", "announce_discovery")
        net.call("A", "announce_discovery")
        t.append(net.t)
    _send_through(net, "A", {8: change})
    assert _exactly_once(net, "B", t[0]) >= 1
    rel = net.call("A", "export_runtime_stats")["reliable"]
    assert rel["end_to_end_pending_count"] == 0 and rel["e2e"]["given_up"] == 0, rel
