# Record framing between a test and a child process (reference CPython or MicroPython) over the
# child's stdin/stdout: u32le length | u8 kind | body. Kinds: F = a frame on the simulated link,
# C = JSON command, R = JSON reply, L = log line. Imports under both runtimes.
import json
import struct
import sys

_IN = sys.stdin.buffer
_OUT = sys.stdout.buffer


def _read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = _IN.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_record():
    """Next (kind, body) from the test, or (None, None) at end of input."""
    head = _read_exact(5)
    if head is None:
        return None, None
    length = struct.unpack("<I", head[:4])[0]
    body = _read_exact(length) if length else b""
    return chr(head[4]), body


def write_record(kind, body):
    _OUT.write(struct.pack("<IB", len(body), ord(kind)))
    _OUT.write(body)
    _OUT.flush()


def send_frame(frame):
    write_record("F", bytes(frame))


def reply(obj):
    write_record("R", json.dumps(obj).encode())


def log(text):
    write_record("L", text.encode())


def serve(handlers, on_frame=None):
    """Dispatch commands to handlers[op](cmd) -> dict until the test closes stdin.

    A handler's exception becomes {"ok": False, "error": "<Type>: <message>"}, so the test sees
    the failure instead of a dead child.
    """
    while True:
        kind, body = read_record()
        if kind is None:
            return
        if kind == "F":
            if on_frame is not None:
                on_frame(body)
            continue
        cmd = json.loads(body)
        op = cmd.get("op")
        if op == "quit":
            reply({"ok": True})
            return
        try:
            result = handlers[op](cmd)
            if result is None:
                result = {}
            result["ok"] = True
        except Exception as e:
            result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        reply(result)
