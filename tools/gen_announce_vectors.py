"""Generate host_tests/vectors/announce.json from the reference sedsnet 4.2.7 (CPython only).

Golden DISCOVERY_ADDRESS / TOPOLOGY / LINK_CAPABILITIES payloads emitted by reference Routers and
Relays, discovery payloads the reference rejects, and announcement traces (what a reference node
sends per side and when, on a fake clock, with scripted frames from a foreign node) that
host_tests/dual/test_announce.py replays against our Announcer. Foreign payloads are built here by
a tiny encoder of their own and checked by the reference accepting them.

Usage: .venv/bin/python tools/gen_announce_vectors.py [OUT.json]
"""
import json
import os
import struct
import sys

import sedsnet as ref  # the reference; this script never imports our lib/

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "host_tests", "vectors", "announce.json"))
M64 = (1 << 64) - 1
STEP_MS = 50


def mix64(h, data):
    for b in data:
        h ^= b
        h = (h * 0x9E3779B1) & M64
        h ^= h >> 27
    return h


def sender_hash(name):
    return mix64(0x517CC1B727220A95, name.encode())


def node_address(name):
    h = sender_hash(name)
    return ((h & 0xFFFFFFFF) ^ (h >> 32)) or 1


# ---- a foreign node's payloads (independent of lib/sedsnet) -------------------------------------
def s_(x):
    x = x.encode()
    return struct.pack("<I", len(x)) + x


def l32(v):
    return struct.pack("<I", len(v)) + b"".join(struct.pack("<I", e) for e in v)


def lstr(v):
    return struct.pack("<I", len(v)) + b"".join(s_(e) for e in v)


def addr_payload(host, eps, birth=1, instance=1):
    return (bytes([2, 0, 1]) + struct.pack("<IIQQ", node_address(host), 0, birth,
                                             sender_hash(host) ^ instance)
            + s_(host) + l32(eps) + l32([]) + lstr([]) + bytes([1]) + struct.pack("<I", 0x58)
            + bytes([0]) + struct.pack("<III", 0, 0, 64))


def board(name, eps, conn=()):
    return s_(name) + l32(eps) + lstr([]) + lstr(list(conn))


def topo_full(boards):
    return struct.pack("<I", len(boards)) + b"".join(boards)


def frame(ty, sender, t, payload):
    return ref.make_packet(ty, sender, [201], t, payload).pack()


# ---- reading what the reference emits -----------------------------------------------------------
def uleb(b, p):
    v = s = 0
    while True:
        x = b[p]
        p += 1
        v |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return v, p


def split(frame_bytes):
    """(ty, src_addr, payload) of a frame in the reference's control form (schema-default
    endpoints)."""
    f = frame_bytes[0]
    p = 2
    ty, p = uleb(frame_bytes, p)
    size, p = uleb(frame_bytes, p)
    _, p = uleb(frame_bytes, p)  # timestamp
    if f & 0x08:
        _, p = uleb(frame_bytes, p)
    src, p = uleb(frame_bytes, p)
    assert not f & 0xA4, "unexpected control frame form %02x" % f
    if f & 0x02:
        rf = frame_bytes[p]
        p += 1
        if rf & 0x04:
            _, p = uleb(frame_bytes, p)
        if rf & 0x08:
            _, p = uleb(frame_bytes, p)
    return ty, src, bytes(frame_bytes[p:p + size])


def kind(ty, payload):
    if ty == 9:
        return "delta" if payload[:4] == b"\0\0\0\0" else "full"
    return ""


class Scene:
    """Reference nodes on a fake clock; every frame they emit is recorded with its time."""

    def __init__(self, t0=0):
        self.t = [t0]
        self.out = []

    def now(self):
        return self.t[0]

    def tx(self, side):
        def f(b):
            ty, src, pl = split(bytes(b))
            self.out.append((self.t[0], side, ty, src, pl))
        return f


def setup_schema():
    ref.register_endpoint(1, "EP_A")
    ref.register_endpoint(5, "EP_F")
    ref.register_endpoint(6, "EP_FAR")
    ref.register_data_type(101, "T_F", False, 0, 1, 0, [1])


_instance = [0]


def make_router(sc, host, handlers_eps, nsides=1, reliable=(), kw=None):
    hs = [(e, lambda p: None, None) for e in handlers_eps]
    created = sc.t[0]
    if host is None:
        r = ref.Router(now_ms=sc.now, handlers=hs, **(kw or {}))
    else:
        r = ref.Router(now_ms=sc.now, hostname=host, handlers=hs, **(kw or {}))
    _instance[0] += 1
    sides = [r.add_side_packed("s%d" % i, sc.tx(i), reliable_enabled=i in reliable)
             for i in range(nsides)]
    return r, sides, created, _instance[0]


def run_trace(name, host, eps, nsides, inputs, end_ms, relay=False, t0=0):
    """inputs: [(t, side, frame_bytes)] delivered before periodic at t."""
    sc = Scene(t0)
    if relay:
        r = ref.Relay(now_ms=sc.now)
        sides = [r.add_side_packed("s%d" % i, sc.tx(i)) for i in range(nsides)]
        rx = r.rx_packed_from_side
        created, inst = t0, None
    else:
        r, sides, created, inst = make_router(sc, host, eps, nsides)
        rx = r.receive_packed_from_side
    pending = sorted(inputs, key=lambda x: x[0])
    while sc.t[0] <= end_ms:
        while pending and pending[0][0] == sc.t[0]:
            _, side, fr = pending.pop(0)
            rx(sides[side], fr)
        if relay:
            r.process_all_queues()
        r.periodic(0)
        sc.t[0] += STEP_MS
    return {"case": name, "hostname": host, "relay": relay, "endpoints": list(eps),
            "sides": nsides, "created_ms": created, "instance": inst, "step_ms": STEP_MS,
            "end_ms": end_ms,
            "inputs": [{"t": t, "side": s, "frame_hex": fr.hex()} for t, s, fr in inputs],
            "emitted": [[t, side, ty, kind(ty, pl), src, pl.hex()]
                        for t, side, ty, src, pl in sc.out]}


def address_cases():
    out = []
    for host, eps, reliable in (("alpha", [1], False), ("alpha", [1], True), ("beta", [], False),
                                ("node-\u00e9", [1, 5, 6], False), (None, [1], False)):
        sc = Scene(1234)
        r, _sides, created, inst = make_router(sc, host, eps, 1, reliable=(0,) if reliable else ())
        r.periodic(0)
        _ty, pl = next((ty, pl) for _, _, ty, _, pl in sc.out if ty == 17)
        name = r.sender_id
        owner = struct.unpack_from("<Q", pl, 19)[0]
        birth = struct.unpack_from("<Q", pl, 11)[0]
        assert owner == sender_hash(name) ^ inst and birth == created * 1000000 + inst
        out.append({"case": "address_%s%s" % (host or "default", "_reliable" if reliable else ""),
                    "hostname": name, "hostname_given": host is not None,
                    "address": r.current_address, "endpoints": eps, "reliable": reliable,
                    "created_ms": created, "instance": inst, "birth": birth,
                    "owner_hash": owner, "payload_hex": pl.hex()})
    return out


def topology_cases():
    """Full snapshots and deltas (changed + removed) of a reference router between a foreign
    node (side 0) and another side (side 1)."""
    sc = Scene(1000)
    r, sides, _, _ = make_router(sc, "alpha", [1], 2)
    r.periodic(0)
    r.receive_packed_from_side(sides[0], frame(17, "fnode", 1000, addr_payload("fnode", [5])))
    r.receive_packed_from_side(sides[0], frame(9, "fnode", 1000, topo_full(
        [board("fnode", [5]), board("far", [6], ["fnode"])])))
    for t in (1050, 1300, 1800):  # the whole change burst: 3 deltas
        sc.t[0] = t
        r.periodic(0)
    sc.t[0] = 2000
    r.receive_packed_from_side(sides[0], frame(9, "fnode", 2000, topo_full([board("fnode", [5])])))
    r.periodic(0)
    sc.t[0] = 2100
    r.receive_packed_from_side(sides[1], frame(11, "gnode", 2100, b""))
    out = []
    for t, side, ty, _, pl in sc.out:
        if ty == 9:
            out.append({"case": "topology_t%d_side%d_%s" % (t, side, kind(ty, pl)), "t": t,
                        "side": side, "kind": kind(ty, pl), "payload_hex": pl.hex()})
    return out


def relay_cases():
    sc = Scene(0)
    r = ref.Relay(now_ms=sc.now)
    r.add_side_packed("s0", sc.tx(0))
    r.add_side_packed("s1", sc.tx(1), reliable_enabled=True)
    r.periodic(0)
    out = []
    for t, side, ty, _, pl in sc.out:
        out.append({"case": "relay_side%d_ty%d" % (side, ty), "side": side, "ty": ty,
                    "reliable": side == 1, "sender_id": r.sender_id, "payload_hex": pl.hex()})
    return out


def malformed_cases():
    good = addr_payload("fnode", [5])
    cases = [
        ("address_truncated", 17, good[:-3]),
        ("address_trailing_byte", 17, good + b"\0"),
        ("address_version_3", 17, b"\x03" + good[1:]),
        ("address_version_1", 17, b"\x01" + good[1:]),
        ("address_empty", 17, b""),
        ("address_huge_endpoint_count", 17, good[:27 + 5] + b"\xff\xff\xff\xff"),
        ("topology_garbage", 9, b"\x01\x00"),
        ("topology_trailing_byte", 9, topo_full([board("fnode", [5])]) + b"\0"),
        ("topology_huge_board_count", 9, b"\xff\xff\xff\x7f" + board("fnode", [5])),
        ("topology_name_past_end", 9, struct.pack("<II", 1, 200) + b"abc"),
        ("topology_delta_truncated", 9, struct.pack("<III", 0, 1, 3) + b"abc"),
        ("announce_3_bytes", 7, b"\x01\x02\x03"),
        ("link_caps_short", 16, b"\x01"),
        ("timesync_sources_garbage", 8, b"\xff\xff"),
    ]
    out = []
    for name, ty, pl in cases:
        sc = Scene(1000)
        r, sides, _, _ = make_router(sc, "alpha", [], 1)
        try:
            r.receive_packed_from_side(sides[0], frame(ty, "fnode", 1000, pl))
            err = None
        except Exception as e:  # the reference reports a bad payload as RuntimeError
            err = str(e)
        assert err is not None, name
        out.append({"case": name, "ty": ty, "payload_hex": pl.hex(), "reference_error": err})
    return out


def trace_cases():
    fa = frame(17, "fnode", 7000, addr_payload("fnode", [5]))
    full = frame(9, "fnode", 3000, topo_full([board("fnode", [5]), board("far", [6], ["fnode"])]))
    less = frame(9, "fnode", 20000, topo_full([board("fnode", [5])]))
    refresh = [(t, 0, frame(7, "fnode", t, b"")) for t in (10000, 20000, 30000)]
    return [
        run_trace("idle_one_side", "alpha", [1], 1, [], 40000),
        run_trace("learn_address_only", "alpha", [1], 1, [(7000, 0, fa)], 40000),
        run_trace("address_only_two_sides", "alpha", [1], 2,
                  [(1000, 0, frame(17, "fnode", 1000, addr_payload("fnode", [5])))], 8000),
        run_trace("learn_full_two_sides", "alpha", [1], 2,
                  [(3000, 0, frame(17, "fnode", 3000, addr_payload("fnode", [5]))),
                   (3000, 0, full)] + refresh + [(20000, 0, less)], 40000),
        run_trace("change_during_burst", "alpha", [1], 2,
                  [(1000, 0, frame(17, "fnode", 1000, addr_payload("fnode", [5]))),
                   (1000, 0, frame(9, "fnode", 1000, topo_full(
                       [board("fnode", [5]), board("far", [6], ["fnode"])]))),
                   (1100, 0, frame(9, "fnode", 1100, topo_full([board("fnode", [5])])))], 3000),
        run_trace("requests_answered", "alpha", [1], 2,
                  [(2000, 1, frame(11, "gnode", 2000, b"")),
                   (4000, 0, frame(12, "gnode", 4000, b""))], 20000),
        run_trace("relay_learn", None, [], 2,
                  [(3000, 0, frame(17, "fnode", 3000, addr_payload("fnode", [5]))), (3000, 0, full),
                   (6000, 1, frame(11, "gnode", 6000, b""))], 40000, relay=True),
        run_trace("leave", "alpha", [1], 2,
                  [(1000, 0, frame(17, "fnode", 1000, addr_payload("fnode", [5]))),
                   (1000, 0, frame(9, "fnode", 1000, topo_full([board("fnode", [5])]))),
                   (5000, 0, frame(15, "fnode", 5000, b""))], 8000),
    ]


def main(out_path=DEFAULT_OUT):
    setup_schema()
    router_default = ref.Router(now_ms=lambda: 0).sender_id
    _instance[0] += 1
    relay_default = ref.Relay(now_ms=lambda: 0).sender_id
    doc = {
        "note": "generated by tools/gen_announce_vectors.py from the reference sedsnet; do not edit",
        "sedsnet": _version(),
        "schema": {"endpoints": [[1, "EP_A"], [5, "EP_F"], [6, "EP_FAR"]],
                   "types": [[101, "T_F", False, 0, 1, 0, [1]]]},
        "defaults": {"router_hostname": router_default, "relay_hostname": relay_default},
        "address": address_cases(),
        "topology": topology_cases(),
        "relay": relay_cases(),
        "malformed": malformed_cases(),
        "traces": trace_cases(),
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s" % out_path)


def _version():
    from importlib.metadata import version
    return version("sedsnet")


if __name__ == "__main__":
    main(*sys.argv[1:])
