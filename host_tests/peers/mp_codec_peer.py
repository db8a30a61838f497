# MicroPython peer for codec differential tests: our sedsnet in a fresh Unix-port process,
# driven with the same commands as ref_peer.py (schema, pack, unpack, peek) so the two
# processes take the same nonce sequence.
import sys

import sedsnet
import stdio_link
from sedsnet import ids, schema

ids.set_sender_cache_size(4096)  # the reference remembers every sender it has seen


def _schema(cmd):
    for call in cmd["calls"]:
        getattr(schema, call["call"])(*call.get("args", ()), **call.get("kwargs", {}))
    return {}


def _sender(cmd):
    # sender_hex (UTF-8 hex) sidesteps JSON \\u escapes of non-BMP characters, which
    # MicroPython's json decodes one surrogate at a time
    if "sender_hex" in cmd:
        return bytes.fromhex(cmd["sender_hex"]).decode()
    return cmd["sender"]


def _pack(cmd):
    pkt = sedsnet.make_packet(cmd["ty"], _sender(cmd), cmd["endpoints"], cmd["timestamp_ms"],
                              bytes.fromhex(cmd["payload_hex"]))
    frame = pkt.pack()
    if cmd.get("emit"):
        stdio_link.send_frame(frame)
    return {"frame_hex": frame.hex()}


def _describe(pkt):
    return {"ty": pkt.ty, "sender": pkt.sender, "sender_hex": pkt.sender.encode().hex(),
            "endpoints": list(pkt.endpoints),
            "timestamp_ms": pkt.timestamp_ms, "payload_hex": bytes(pkt.payload).hex()}


def _unpack(cmd):
    return _describe(sedsnet.unpack_packet_py(bytes.fromhex(cmd["frame_hex"])))


def _peek(cmd):
    return sedsnet.peek_header_py(bytes.fromhex(cmd["frame_hex"]))


def _route(cmd):
    """A fresh Router with a handler on each of cmd["handlers"] receives cmd["frame_hex"] on a
    packed side: {"got": [[endpoint, payload hex, str(pkt) ok]...], "sent": frames forwarded}."""
    got = []
    sent = []

    def handler(ep):
        def h(pkt):
            try:
                str(pkt)
                shown = True
            except Exception:
                shown = False
            got.append([ep, bytes(pkt.payload).hex(), shown])
        return h
    r = sedsnet.Router(handlers=[(e, handler(e), None) for e in cmd["handlers"]],
                   now_ms=lambda: 0)
    side = r.add_side_packed("in", lambda f: None)
    r.add_side_packed("out", lambda f: sent.append(bytes(f).hex()))
    r.receive_packed_from_side(side, bytes.fromhex(cmd["frame_hex"]))
    return {"got": got, "sent": len(sent)}


def _batch(cmd):
    """Run several commands in one round trip: {"cmds": [...]} -> {"results": [...]}."""
    out = []
    for c in cmd["cmds"]:
        try:
            r = _HANDLERS[c["op"]](c)
            r["ok"] = True
        except Exception as e:
            r = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        out.append(r)
    return {"results": out}


def _version(cmd):
    return {"impl": sys.implementation.name, "sedsnet": sedsnet.__version__}


_HANDLERS = {"schema": _schema, "pack": _pack, "unpack": _unpack, "peek": _peek,
             "route": _route,
             "version": _version}
_HANDLERS["batch"] = _batch
stdio_link.serve(_HANDLERS)
