"""Facts about reference sedsnet 4.2.7 routers that docs/router-interop.md relies on, checked
against the reference as a black box (host_tests/peers/ref_router_lab.py, its own process, fake
clock). Frames from "foreign" nodes are built here with our codec (sedsnet.wire, sedsnet.announce);
the last test runs our Announcer against a reference router."""
import struct

import pytest
from peerproc import reference_peer

from sedsnet import announce as an
from sedsnet.ids import node_address, source_address
from sedsnet.wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, pack_into

SCHEMA = [["register_endpoint", 1, "EP_A", False, ""], ["register_endpoint", 2, "EP_B", False, ""],
          ["register_endpoint", 5, "EP_F", False, ""], ["register_endpoint", 6, "EP_FAR", False, ""],
          ["register_data_type", 101, "T_F", False, 0, 1, 0, [1]],
          ["register_data_type", 102, "T_G", False, 0, 1, 0, [2]],
          ["register_data_type", 103, "T_FG", False, 0, 1, 0, [1, 2]]]
RELIABLE_CONTROL = (9, 10, 11, 12, 13, 14, 17, 18)  # built-in types with reliable=1
_nonce = [1]


@pytest.fixture(scope="module")
def lab():
    with reference_peer("ref_router_lab.py") as peer:
        yield peer


def ctrl(ty, sender, payload=b"", t=0, rel=None, endpoints=None):
    """A frame as a foreign node sends it: schema-default endpoints, `84 00` on reliable types
    (or rel=(wire_flags, seq)); endpoints=[...] for an explicit endpoint list."""
    _nonce[0] = (_nonce[0] + 2) & 0xFFFF
    if rel is None:
        rel = (REL_UNSEQUENCED | REL_HAS_SEQ, 0) if ty in RELIABLE_CONTROL else (-1, 0)
    src = source_address(sender)
    buf = bytearray(4096)  # (a SCHEMA answer is ~1.2 kB)
    n = pack_into(buf, ty, src, endpoints, t, _nonce[0], payload, None, rel[0], rel[1])
    return bytes(buf[:n]).hex()


def addr(host, eps, birth=1):
    return an.address_payload(host, node_address(host), birth, 1, eps)


def topo(*boards):
    return an.topology_full_payload([an.board(*b) for b in boards])


def decode(frame_hex):
    b = bytes.fromhex(frame_hex)
    h = FrameHeader(max_endpoints=8).parse(b)
    return h.ty, h.src_addr, b[h.payload_start:h.payload_end], h


def out(lab):
    """[(t, node, side, ty, src, payload, header)] sent on open sides since the last call."""
    return [(t, n, s) + decode(f) for t, n, s, f in lab.call("out")["frames"]]


def kinds(frames, side=None, src=None):
    res = []
    for t, n, s, ty, fsrc, pl, h in frames:
        if (side is None or s == side) and (src is None or fsrc == src):
            k = ("delta" if pl[:4] == b"\0\0\0\0" else "full") if ty == 9 else ""
            res.append((t, s, ty, k) if side is None else (t, ty, k))
    return res


def router(lab, sides=2, handlers=(1,), hostname="alpha", t=0, reliable=False, **kw):
    lab.call("reset", t=t, schema=SCHEMA)
    lab.call("node", name="A", hostname=hostname, handlers=list(handlers),
             sides=[reliable] * sides, kw=kw)


def forwarded(lab, ty=101, node="A"):
    """Sides (indices) a log_f32 on `node` goes out on."""
    out(lab)
    lab.call("log_f32", node=node, ty=ty, values=[1.0])
    return sorted({s for t, n, s, fty, src, pl, h in out(lab) if fty == ty})


def test_idle_cadence_full_then_heartbeats_and_stats(lab):
    router(lab)
    st = lab.call("call", node="A", method="export_runtime_stats")["result"]["discovery"]
    assert (st["current_announce_interval_ms"], st["next_announce_ms"]) == (250, 0)
    lab.call("run", to=46000)
    assert kinds(out(lab), side=0) == [(0, 17, ""), (0, 9, "full"), (15000, 7, ""),
                                       (30000, 7, ""), (45000, 7, "")]
    st = lab.call("call", node="A", method="export_runtime_stats")["result"]["discovery"]
    # the interval doubles on every announcement round (500 after the first, 4000 after the
    # third heartbeat; 5000 is the cap), but with nothing changing only the heartbeats go out
    assert (st["current_announce_interval_ms"], st["next_announce_ms"]) == (4000, 47000)


def test_default_hostnames(lab):
    lab.call("reset", schema=SCHEMA)
    assert lab.call("node", name="R")["sender_id"] == an.ROUTER_HOSTNAME == "TEST_PLATFORM"
    assert lab.call("node", name="Y", relay=True)["sender_id"] == an.RELAY_HOSTNAME == "RELAY"
    assert lab.call("fn", fn="runtime_device_identifier")["result"] == "TEST_PLATFORM"


def test_announce_discovery_sends_address_topology_schema(lab):
    router(lab, sides=1)
    lab.call("run", to=0)
    out(lab)
    lab.call("at", t=100)
    lab.call("call", node="A", method="announce_discovery")
    assert kinds(out(lab), side=0) == [(100, 17, ""), (100, 9, "full"), (100, 10, "")]


HANDSHAKES = [  # (what the foreign node sends on side 0, does A then forward T_F (endpoint 1)?)
    ([], False),
    ([(17, addr("fnode", [1]))], True),
    ([(17, addr("fnode", []))], False),
    ([(9, topo(("fnode", [1])))], True),
    ([(9, an.topology_delta_payload([an.board("fnode", [1])], []))], True),
    ([(7, struct.pack("<I", 1))], True),
    ([(7, b"")], False),
    ([(16, an.link_caps_payload())], False),
]


def test_minimal_handshake_is_any_one_frame_listing_the_endpoint(lab):
    for frames, fwd in HANDSHAKES:
        router(lab, handlers=(), t=1000)
        lab.call("run", to=1000)
        lab.call("rx", node="A", side=0, frames=[ctrl(ty, "fnode", pl, 1000) for ty, pl in frames])
        assert forwarded(lab) == ([0] if fwd else []), frames
    # a node with one side and no announcer anywhere sends everything there
    router(lab, sides=1, handlers=())
    lab.call("run", to=0)
    assert forwarded(lab) == [0]


def test_learned_reachability_lives_30_s_and_heartbeats_refresh_it(lab):
    router(lab, handlers=(), t=1000)
    lab.call("run", to=1000)
    lab.call("rx", node="A", side=0, frames=[ctrl(17, "fnode", addr("fnode", [1]), 1000)])
    lab.call("at", t=31000)
    assert forwarded(lab) == [0]
    lab.call("at", t=31001)
    assert forwarded(lab) == []
    # again, kept alive by an empty ANNOUNCE every 15 s
    router(lab, handlers=(), t=1000)
    lab.call("rx", node="A", side=0, frames=[ctrl(17, "fnode", addr("fnode", [1]), 1000)])
    for t in (16000, 31000, 46000, 61000):
        lab.call("at", t=t)
        lab.call("rx", node="A", side=0, frames=[ctrl(7, "fnode", b"", t)])
    lab.call("at", t=70000)
    assert forwarded(lab) == [0]
    # and forgotten at once on a DISCOVERY_LEAVE from it
    lab.call("rx", node="A", side=0, frames=[ctrl(15, "fnode", b"", 70000)])
    assert forwarded(lab) == []


def test_reference_requests_topology_then_schema_until_answered(lab):
    router(lab, handlers=())
    lab.call("rx", node="A", side=0, frames=[ctrl(17, "fnode", addr("fnode", [1]))])
    lab.call("run", to=11000)
    req = [(t, ty) for t, ty, k in kinds(out(lab), side=0) if ty in (11, 12)]
    assert req == [(1000, 11), (6000, 11), (11000, 11)]
    lab.call("rx", node="A", side=0, frames=[ctrl(9, "fnode", topo(("fnode", [1])), 11000)])
    lab.call("run", to=30000, **{"from": 11050})
    req = [(t, ty) for t, ty, k in kinds(out(lab), side=0) if ty in (11, 12)]
    assert req[:2] == [(12050, 12), (17050, 12)] and all(ty == 12 for t, ty in req)
    lab.call("rx", node="A", side=0, frames=[ctrl(10, "fnode", an.EMPTY_SCHEMA, 30000)])
    lab.call("run", to=60000)
    assert [ty for t, ty, k in kinds(out(lab), side=0) if ty in (11, 12)] == []


def test_split_horizon_readvertising(lab):
    router(lab, handlers=(2,), t=1000)
    lab.call("run", to=1000)
    out(lab)
    lab.call("rx", node="A", side=0, frames=[
        ctrl(17, "fnode", addr("fnode", [5]), 1000),
        ctrl(9, "fnode", topo(("fnode", [5]), ("far", [6], (), ["fnode"])), 1000)])
    lab.call("run", to=1100)
    fr = out(lab)
    a = {s: an.parse_address(pl)[an.A_ENDPOINTS] for t, n, s, ty, src, pl, h in fr if ty == 17}
    assert a == {0: (2,), 1: (2, 5, 6)}
    t9 = {s: an.parse_topology(pl) for t, n, s, ty, src, pl, h in fr if ty == 9}
    assert t9[0] == (True, [an.board("alpha", [2], (), ["fnode"])], ())
    assert t9[1] == (True, [an.board("alpha", [2], (), ["fnode"]),
                            an.board("far", [6], (), ["fnode"]),
                            an.board("fnode", [5], (), ["alpha"])], ())
    # discovery frames are never relayed: only A's own frames reach side 1
    assert {src for t, n, s, ty, src, pl, h in fr} == {source_address("alpha")}


def test_which_control_frames_a_router_forwards(lab):
    good = {7: b"", 8: struct.pack("<I", 0), 9: topo(("fnode", [1])), 10: an.EMPTY_SCHEMA,
            11: b"", 12: b"", 13: struct.pack("<I", 101), 14: b"\x01", 15: b"",
            16: an.link_caps_payload(), 17: addr("fnode", [1])}
    relayed = {}
    for ty, pl in sorted(good.items()):
        router(lab, handlers=())
        lab.call("rx", node="A", side=1, frames=[ctrl(17, "gnode", addr("gnode", [1]))])
        out(lab)
        assert lab.call("rx", node="A", side=0, frames=[ctrl(ty, "fnode", pl)])["errors"] == [None]
        relayed[ty] = any(src == source_address("fnode") for t, n, s, fty, src, p, h in out(lab)
                          if s == 1)
    assert sorted(t for t in relayed if relayed[t]) == [10, 11, 12, 13, 14, 15]
    # malformed discovery payloads are errors to the caller of receive_packed_from_side
    router(lab, handlers=())
    errs = lab.call("rx", node="A", side=0, frames=[
        ctrl(17, "fnode", b"\x02"), ctrl(9, "fnode", b"\x01\0"), ctrl(7, "fnode", b"\1\2\3"),
        ctrl(10, "fnode", b"\x07")])["errors"]
    assert all(e and "RuntimeError" in e for e in errs), errs


def test_relay_emits_link_caps_topology_and_forwards_addresses(lab):
    lab.call("reset", schema=SCHEMA)
    lab.call("node", name="Y", relay=True, sides=[False, False, True])
    lab.call("run", to=0)
    fr = out(lab)
    assert kinds(fr, side=0) == [(0, 16, ""), (0, 9, "full")]
    caps = [pl for t, n, s, ty, src, pl, h in fr if ty == 16]
    assert caps == [an.link_caps_payload(0x58)] * 2 + [an.link_caps_payload(0x5C)]
    assert an.parse_topology(next(pl for t, n, s, ty, src, pl, h in fr if ty == 9)) == \
        (False, [an.board("RELAY")], ())
    lab.call("rx", node="Y", side=0, frames=[ctrl(17, "fnode", addr("fnode", [1])),
                                              ctrl(9, "fnode", topo(("fnode", [1])))])
    fwd = [(ty, src) for t, n, s, ty, src, pl, h in out(lab) if s == 1]
    assert (17, source_address("fnode")) in fwd and (9, source_address("fnode")) not in fwd
    lab.call("run", to=100)
    ann = [an.parse_announce(pl) for t, n, s, ty, src, pl, h in out(lab) if ty == 7 and s == 1]
    assert ann and ann[0] == (1,)  # a relay advertises endpoints with ANNOUNCE


def test_user_data_between_sides_before_discovery(lab):
    user = ctrl(101, "src", struct.pack("<f", 1.0), endpoints=[1])
    for sides, expect in ((2, [1]), (3, [])):
        router(lab, sides=sides, handlers=(), t=1000)
        lab.call("run", to=1000)
        out(lab)
        lab.call("rx", node="A", side=0, frames=[user])
        assert sorted({s for t, n, s, ty, src, pl, h in out(lab) if ty == 101}) == expect
    # once any announcer is known (here one on the ingress side), Y needs one listing endpoint 1
    router(lab, sides=2, handlers=(), t=1000)
    lab.call("rx", node="A", side=0, frames=[ctrl(17, "fnode", addr("fnode", [5]), 1000), user])
    assert [ty for t, n, s, ty, src, pl, h in out(lab) if s == 1 and ty == 101] == []
    lab.call("rx", node="A", side=1, frames=[ctrl(17, "gnode", addr("gnode", [1]), 1000)])
    lab.call("rx", node="A", side=0, frames=[ctrl(101, "src", struct.pack("<f", 2.0), 1000,
                                                  endpoints=[1])])
    assert [ty for t, n, s, ty, src, pl, h in out(lab) if s == 1 and ty == 101] == [101]


def test_route_choice_prefers_topology_and_balances(lab):
    def choose(f0, f1, n=10, local=(), mode=None):
        router(lab, handlers=local, t=1000)
        lab.call("run", to=1000)
        for side, frames in ((0, f0), (1, f1)):
            lab.call("rx", node="A", side=side, frames=frames)
        if mode is not None:
            lab.call("call", node="A", method="set_source_route_mode", args=[None, mode])
        out(lab)
        counts = [0, 0]
        for k in range(n):
            for s in forwarded(lab):
                counts[s] += 1
        return counts
    a0, a1 = ctrl(17, "f0", addr("f0", [1])), ctrl(17, "f1", addr("f1", [1]))
    t0, t1 = ctrl(9, "f0", topo(("f0", [1]))), ctrl(9, "f1", topo(("f1", [1])))
    assert choose([a0], [t1]) == [0, 10]  # a TOPOLOGY board outranks an ADDRESS-only route
    # equal routes: one side per packet in the default (Weighted) mode -- they took turns here,
    # but between two reference routers all went to one side (docs) -- and every holder with
    # mode 0 (Fanout)
    assert choose([a0, t0], [a1, t1]) == [5, 5]
    assert choose([a0, t0], [a1, t1], mode=0) == [10, 10]
    far = ctrl(9, "f1", topo(("f1", []), ("x", [1], (), ["f1"])))
    assert choose([t0], [far]) == [10, 0]  # fewer hops win
    assert choose([a0, t0], [a1, t1], local=(1,)) == [0, 0]  # a local holder ends it


def test_hop_acks_only_on_reliable_sides(lab):
    for reliable in (False, True):
        router(lab, sides=1, handlers=(), reliable=reliable)
        out(lab)
        lab.call("rx", node="A", side=0, frames=[
            ctrl(17, "fnode", addr("fnode", [1]), rel=(REL_HAS_SEQ, 1)),
            ctrl(9, "fnode", topo(("fnode", [1])), rel=(REL_UNSEQUENCED | REL_HAS_SEQ, 0))])
        acks = [(ty, struct.unpack("<II", pl)) for t, n, s, ty, src, pl, h in out(lab)
                if ty in (1, 2, 3)]
        assert acks == ([(1, (17, 1))] if reliable else [])
    # its own discovery frames on a reliable side: sequenced per type, resent every 200 ms
    router(lab, sides=1, handlers=(), reliable=True)
    lab.call("run", to=3000)
    sends = [(t, h.rel_flags, h.seq) for t, n, s, ty, src, pl, h in out(lab) if ty == 17]
    assert sends == [(t, REL_HAS_SEQ, 1) for t in range(0, 1800, 200)]


def test_received_schema_registers_types(lab):
    router(lab, sides=1, handlers=())
    assert not lab.call("fn", fn="data_type_exists", args=[555])["result"]
    w = an.Writer()
    w.u32(3)
    w.u32(0)
    w.u32(1)  # one type: id, name, description, kind, count, mdt, class, rel, prio, e2e, eps
    w.u32(555)
    w.str("T_NEW")
    w.str("")
    for v in (1,):
        w.u8(v)
    w.u32(0)
    for v in (14, 0, 0, 5, 0):
        w.u8(v)
    w.u32s([1])
    assert lab.call("rx", node="A", side=0, frames=[ctrl(10, "fnode", bytes(w.view()))])[
        "errors"] == [None]
    assert lab.call("fn", fn="data_type_exists", args=[555])["result"]


class LinkNode:
    """Our Announcer's node, joined to side 0 of the lab's router A."""

    def __init__(self, hostname, endpoints):
        self.kind = "router"
        self.hostname = hostname
        self.current_address = node_address(hostname)
        self.t = 0
        self.eps = endpoints
        self.sent = []

    def now_ms(self):
        return self.t

    def local_endpoints(self):
        return self.eps

    def side_ids(self):
        return [0]

    def side_reliable(self, side_id):
        return False

    def send_control(self, side_id, ty, payload):
        rel = (REL_UNSEQUENCED | REL_HAS_SEQ, 0) if ty in RELIABLE_CONTROL else (-1, 0)
        self.sent.append(ctrl(ty, self.hostname, bytes(payload), self.t, rel))


def test_our_announcer_gets_data_from_a_reference_router(lab):
    router(lab, handlers=(2,))
    node = LinkNode("mpnode", [1])
    ann = an.Announcer(node)
    hdr = FrameHeader(max_endpoints=8)
    seen = []
    got = []
    for t in range(0, 70001, 100):
        node.t = t
        ann.periodic(t)
        cmds = [{"op": "at", "t": t}, {"op": "rx", "node": "A", "side": 0, "frames": node.sent},
                {"op": "run", "to": t, "step": 100}]
        if t % 10000 == 5000:
            cmds.append({"op": "log_f32", "node": "A", "ty": 101, "values": [float(t)]})
        cmds.append({"op": "out"})
        node.sent = []
        for ft, n, s, fh in lab.call("batch", cmds=cmds)["results"][-1]["frames"]:
            frame = bytes.fromhex(fh)
            hdr.parse(frame)
            if s == 0 and 7 <= hdr.ty <= 18:
                seen.append(hdr.ty)
                ann.on_frame(0, hdr, frame)
            elif s == 0 and hdr.ty == 101:
                got.append(ft)
    # every T_F logged on A reached our side, for the whole run (the heartbeats kept us alive)
    assert got == list(range(5000, 70001, 10000))
    assert ann.reachable(0, 2) and not ann.reachable(0, 1)  # A's handler, learned from A
    assert seen.count(12) == 1 and 11 not in seen  # our answers satisfied A's requests


def test_partly_local_types_go_where_any_endpoint_is_reachable(lab):
    # T_FG -> [1, 2]. Side 0 announces endpoint eps0, side 1 endpoint eps1.
    def sides(local=(), eps0=(1,), eps1=(2,), n=4):
        router(lab, handlers=local, t=1000)
        lab.call("run", to=1000)
        lab.call("rx", node="A", side=0, frames=[ctrl(17, "f0", addr("f0", list(eps0))),
                                                ctrl(9, "f0", topo(("f0", list(eps0))))])
        lab.call("rx", node="A", side=1, frames=[ctrl(17, "f1", addr("f1", list(eps1))),
                                                ctrl(9, "f1", topo(("f1", list(eps1))))])
        return [forwarded(lab, ty=103) for _ in range(n)]
    assert sides(local=(1, 2)) == [[]] * 4  # all endpoints local: nothing goes out
    # a locally held endpoint still draws the frame to a side that announced it
    assert sides(local=(1,)) == [[0, 1]] * 4
    assert sides(local=(2,)) == [[0, 1]] * 4
    assert sides() == [[0, 1]] * 4
    # (the seed's case) 1 held here and announced on side 0, 2 reachable nowhere: to side 0
    assert sides(local=(1,), eps1=(5,)) == [[0]] * 4
    assert sides(local=(1,), eps0=(5,), eps1=(5,)) == [[]] * 4  # nobody has either: nowhere
