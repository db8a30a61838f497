"""Our Router against the reference's, same script in two processes (the packages share the
name `sedsnet`): the memory-layout JSON keys, the runtime-stats side keys we promise, the order
a queued TX burst leaves in (data-type priority), the frames a single-side router sends, and
what log() accepts, refuses and puts on the wire for raw element bytes, and what frames handed
in by the application (receive_packed & co) do."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import json, struct, sys
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet as seds
seds.register_endpoint(101, "RADIO")
seds.register_data_type(3000, "HIGH", True, 1, 1, 0, [101], priority=200)
seds.register_data_type(3001, "LOW", True, 1, 1, 0, [101], priority=5)
seds.register_data_type(3002, "MID", True, 1, 1, 0, [101], priority=90)
out = []
r = seds.Router(hostname="par", now_ms=lambda: 4242)
r.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
for ty in (3001, 3002, 3000, 3001, 3000):
    r.log_f32(ty, [float(ty)], queue=True)
r.process_all_queues()
user = [f for f in out if seds.peek_header_py(f)["ty"] >= 3000]
seds.register_data_type(3003, "F3", True, 3, 1, 0, [101])
seds.register_data_type(3004, "DYN8", False, 0, 2, 0, [101])
seds.register_data_type(3005, "DYN16", False, 0, 3, 0, [101])
raw = struct.pack("<3f", 1, 2, 3)
log_cases = [(3003, raw, 4, 2), (3003, raw, 8, 2), (3003, raw + b"x", 4, 2), (3003, bytes(10), 4, 0),
             (3003, bytes(16), 8, 0), (3003, bytes(2), 4, 1), (3004, [1, 2, 3], 1, 0),
             (3004, [1, 2, 300], 1, 0), (3004, bytes(3), 2, 0), (3004, bytes(4), 4, 2),
             (3004, bytes(5), 4, 2), (3004, bytes(4), 2, 2), (3004, bytes(4), 3, 0),
             (3004, bytes(4), 1, 5), (3004, b"", 1, 0), (3004, "abc\u00e9", 1, 0),
             (3004, bytearray(8), 8, 1), (3005, memoryview(bytes(6)), 2, 1), (3005, bytes(3), 1, 0),
             (3003, None, 1, 0), (9999, bytes(4), 4, 0)]
logged = []
for ty, data, size, kind in log_cases:
    n = len(out)
    try:
        r.log(ty, data, size, kind)
        logged.append([seds.unpack_packet_py(f).payload.hex() for f in out[n:]])
    except Exception:
        logged.append("refused")
seen, fwd = [], []
loc = seds.Router(handlers=[(101, lambda p: seen.append(p.timestamp_ms), None)], hostname="loc",
                  now_ms=lambda: 7)
loc.add_side_packed("ONLY", lambda f: fwd.append(bytes(f).hex()))
handed = seds.make_packet(3003, "peer", [101], 11, raw)
handed_in = []
for call, arg in ((loc.receive_packed, handed.pack()), (loc.receive_packet, handed),
                  (loc.receive_packed, b"junk"), (loc.receive_packet_queue, handed),
                  (loc.receive_packed_queue, seds.make_packet(3003, "peer", [101], 12, raw).pack())):
    try:
        call(arg)
        handed_in.append("ok")
    except Exception:
        handed_in.append("refused")
loc.process_all_queues()
print(json.dumps({
    "handed_in": [handed_in, seen, [seds.peek_header_py(bytes.fromhex(f))["ty"] for f in fwd]],
    "logged": logged,
    "layout": sorted(json.loads(r.export_memory_layout_json())),
    "side_keys": sorted(r.export_runtime_stats()["sides"][0]),
    "order": [seds.peek_header_py(f)["ty"] for f in user],
    "flags": sorted(set(f[0] for f in user)),
    "sender": [seds.unpack_packet_py(f).sender for f in user][:1],
}))
"""


def _run(kind):
    return run_script(SCRIPT, kind, toolchain.LIB)

def test_router_matches_the_reference_where_we_promise():
    ref = _run("reference")
    ours = _run("ours")
    assert ours["layout"] == ref["layout"]
    promised = {"side_id", "side_name", "reliable_enabled", "ingress_enabled", "egress_enabled",
                "tx_packets", "tx_bytes", "rx_packets", "rx_bytes", "relayed_tx_packets",
                "relayed_tx_bytes", "relayed_rx_packets", "relayed_rx_bytes",
                "local_delivery_packets", "tx_handler_failures", "local_handler_failures"}
    assert promised <= set(ref["side_keys"]) and promised <= set(ours["side_keys"])
    assert ref["order"] == [3000, 3000, 3002, 3001, 3001]  # priority, then FIFO
    assert ours["order"] == ref["order"]
    assert ours["flags"] == ref["flags"] == [0x88]
    assert ours["sender"] == ref["sender"] == ["par"]
    assert ref["logged"][:4] == [["0000803f0000004000004040"], "refused", ["0000803f0000004000004040"],
                                 ["00" * 12]]  # a static type's bytes are cut/padded, then checked
    assert ours["logged"] == ref["logged"]
    # receive_packed & co: delivered once (101 is held here: not forwarded), junk refused;
    # process_all_queues() sends the due discovery announcements (17, 9) as periodic() does
    assert ref["handed_in"] == [["ok", "ok", "refused", "ok", "ok"], [11, 12], [17, 9]]
    assert ours["handed_in"] == ref["handed_in"]
