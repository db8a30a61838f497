# Reference peer: runs the pinned reference `sedsnet==4.2.7` in its own CPython process (our
# package has the same import name, so the two can never share a process). Commands drive the
# reference as a black box; frames it emits go to the test as F records.
import sys

import sedsnet as ref

import stdio_link

_received = []


def _schema(cmd):
    """Apply a list of {"call": name, "args": [...], "kwargs": {...}} registry calls."""
    for call in cmd["calls"]:
        getattr(ref, call["call"])(*call.get("args", ()), **call.get("kwargs", {}))
    return {}


def _pack(cmd):
    pkt = ref.make_packet(cmd["ty"], cmd["sender"], cmd["endpoints"], cmd["timestamp_ms"],
                          bytes.fromhex(cmd["payload_hex"]))
    frame = pkt.pack()
    if cmd.get("emit"):
        stdio_link.send_frame(frame)
    return {"frame_hex": frame.hex()}


def _describe(pkt):
    return {"ty": pkt.ty, "sender": pkt.sender, "endpoints": list(pkt.endpoints),
            "timestamp_ms": pkt.timestamp_ms, "payload_hex": bytes(pkt.payload).hex()}


def _unpack(cmd):
    return _describe(ref.unpack_packet_py(bytes.fromhex(cmd["frame_hex"])))


def _received_frames(cmd):
    frames = [f.hex() for f in _received]
    del _received[:]
    return {"frames": frames}


def _version(cmd):
    from importlib.metadata import version
    return {"impl": sys.implementation.name, "sedsnet": version("sedsnet")}


stdio_link.serve({"schema": _schema, "pack": _pack, "unpack": _unpack,
                  "received": _received_frames, "version": _version},
                 on_frame=_received.append)
