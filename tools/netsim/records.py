"""Records between the simulator and a reference node process: u32le length | u8 kind | body
(the layout of host_tests/peers/stdio_link.py). Kinds: F = u8 side index + frame, C = JSON command,
R = JSON reply, E = JSON event."""
import json
import struct


def write(stream, kind, body):
    stream.write(struct.pack("<IB", len(body), ord(kind)) + body)
    stream.flush()


def write_json(stream, kind, obj):
    write(stream, kind, json.dumps(obj).encode())


def read(stream):
    """(kind, body) or None at the end of the stream."""
    head = stream.read(5)
    if len(head) < 5:
        return None
    n, kind = struct.unpack("<IB", head)
    body = stream.read(n) if n else b""
    if len(body) < n:
        return None
    return chr(kind), body
