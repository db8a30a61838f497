# A board's handlers (sedsnet_node.mainloop.PacketCounter) are packed handlers: a board built
# from its config never loads sedsnet.packet (6 KB of code that a CircuitPython board compiling
# .py sources has no heap for, issue 10), and the first frames are still logged by type, sender
# and payload.
import json
import struct
import sys

import sedsnet
from sedsnet_node import app
from support import skip

_TAG = "%s-%d" % (sys.implementation.name, sys.maxsize > (1 << 32))  # two runtimes at once
SCHEMA = {"endpoints": [{"name": "PCNT_FC"}, {"name": "PCNT_GROUND"}],
          "types": [{"name": "PCNT_CMD", "data_type": "Float32", "count": 3,
                     "endpoints": ["PCNT_FC"]}]}


def _cleanup():
    for call, name in ((sedsnet.remove_data_type_by_name, "PCNT_CMD"),
                       (sedsnet.remove_endpoint_by_name, "PCNT_FC"),
                       (sedsnet.remove_endpoint_by_name, "PCNT_GROUND")):
        try:
            call(name)
        except Exception:
            pass


def _node(lines):
    """(router, a frame for its PCNT_FC endpoint logged by another router)."""
    _cleanup()
    d = "/tmp/sedsnet-pcnt-%s-" % _TAG
    with open(d + "schema.json", "w") as f:
        f.write(json.dumps(SCHEMA))
    t = [1000]
    cfg = {"hostname": "pcnt-board", "sides": [], "schema": "schema.json",
           "handlers": ["PCNT_FC"]}
    router = app.build(cfg, None, log=lines.append, clock=lambda: t[0],
                       sleep_ms=lambda ms: None, schema_dir=d)[0]
    frames = []
    src = sedsnet.Router(hostname="pcnt-ground", now_ms=lambda: t[0])
    src.add_side_packed("OUT", lambda b: frames.append(bytes(b)))
    src.log_f32(sedsnet.data_type_info_by_name("PCNT_CMD")["id"], [1.0, 2.0, 3.0])
    src.process_all_queues()
    data = [f for f in frames if struct.pack("<3f", 1.0, 2.0, 3.0) in f]  # not its discovery
    assert len(data) == 1, frames
    return router, data[0]


def test_board_handler_logs_type_sender_and_payload_of_first_frames():
    lines = []
    try:
        router, frame = _node(lines)
        ty = sedsnet.data_type_info_by_name("PCNT_CMD")["id"]
        router.receive_packed(frame)
        router.process_all_queues()
        got = [x for x in lines if " got type " in x]
        assert len(got) == 1, lines
        want = "sedsnet: PCNT_FC got type %d from " % ty
        assert got[0].startswith(want), (got, want)
        assert got[0].endswith(": " + struct.pack("<3f", 1.0, 2.0, 3.0).hex()), got
    finally:
        _cleanup()


def test_board_built_from_config_does_not_load_sedsnet_packet():
    if "sedsnet.packet" in sys.modules:
        skip("sedsnet.packet was loaded by an earlier test in this process")
    lines = []
    try:
        router, frame = _node(lines)
        router.receive_packed(frame)
        router.process_all_queues()
        router.periodic()
        assert len([x for x in lines if " got type " in x]) == 1, lines
        assert "sedsnet.packet" not in sys.modules
    finally:
        _cleanup()


def test_a_sealed_frame_is_logged_as_sealed_not_as_ciphertext():
    """A packed handler sees an E2E frame as it came: the board's counter opens it with its
    router's key (app.build gives it the router) and logs the clear payload; without a router
    it names it sealed instead of printing ciphertext as if it were the payload."""
    from sedsnet_node.mainloop import PacketCounter
    lines = []
    _node(lines)  # (registers the schema)
    sedsnet.register_e2e_key(0x5C, b"k" * 32)
    try:
        src = sedsnet.Router(hostname="pcnt-sealer", now_ms=lambda: 5, e2e_mode=3,
                             e2e_key_id=0x5C)
        frames = []
        src.add_side_packed("OUT", lambda b: frames.append(bytes(b)))
        src.log_f32(sedsnet.data_type_info_by_name("PCNT_CMD")["id"], [1.0, 2.0, 3.0])
        src.process_all_queues()
        sealed = [f for f in frames if f[0] & 0x10]  # (the wrapper flag)
        assert len(sealed) == 1, frames
        out = []
        PacketCounter("PCNT_FC", out.append)(sealed[0])
        assert len(out) == 1 and " got type " in out[0] and "E2E-sealed, " in out[0], out
        assert struct.pack("<3f", 1.0, 2.0, 3.0).hex() not in out[0]
        counter = PacketCounter("PCNT_FC", out.append)
        counter.router = sedsnet.Router(hostname="pcnt-opener", now_ms=lambda: 5)  # (app.build)
        counter(sealed[0])  # a board's router holds the key: the clear payload is logged
        assert out[1].endswith(": " + struct.pack("<3f", 1.0, 2.0, 3.0).hex()), out
    finally:
        sedsnet.remove_e2e_key(0x5C)
        _cleanup()
