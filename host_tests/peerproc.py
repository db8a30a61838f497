"""Test-side driver for peer processes: a reference router in CPython, our code in MicroPython.

Each peer is a child process speaking host_tests/peers/stdio_link.py records on stdin/stdout. The
test sits in the middle of every link, so it can shuttle, inspect, drop or corrupt frames.
"""
import contextlib
import json
import os
import queue
import struct
import subprocess
import tempfile
import threading

import toolchain

PEERS_DIR = os.path.join(toolchain.HOST_TESTS, "peers")
DEFAULT_TIMEOUT_S = 30


class PeerError(AssertionError):
    pass


class Peer:
    def __init__(self, argv, env, name):
        self.name = name
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env, cwd=PEERS_DIR)
        self.frames = queue.Queue()
        self.replies = queue.Queue()
        self.logs = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self):
        out = self.proc.stdout
        while True:
            head = out.read(5)
            if len(head) < 5:
                self.replies.put(None)
                self.frames.put(None)
                return
            length, kind = struct.unpack("<IB", head)
            body = out.read(length) if length else b""
            kind = chr(kind)
            if kind == "F":
                self.frames.put(body)
            elif kind == "R":
                self.replies.put(json.loads(body))
            else:
                self.logs.append(body.decode("utf-8", "replace"))

    def _write(self, kind, body):
        self.proc.stdin.write(struct.pack("<IB", len(body), ord(kind)) + body)
        self.proc.stdin.flush()

    def stderr_text(self):
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def send_frame(self, frame):
        self._write("F", bytes(frame))

    def recv_frame(self, timeout=DEFAULT_TIMEOUT_S):
        try:
            frame = self.frames.get(timeout=timeout)
        except queue.Empty:
            raise PeerError("%s sent no frame within %s s" % (self.name, timeout))
        if frame is None:
            raise PeerError("%s exited:\n%s" % (self.name, self.stderr_text()))
        return frame

    def pending_frames(self):
        """Frames already emitted, without waiting (commands are synchronous, so after a
        command's reply every frame it produced is here)."""
        got = []
        while True:
            try:
                frame = self.frames.get_nowait()
            except queue.Empty:
                return got
            if frame is None:
                return got
            got.append(frame)

    def call(self, op, timeout=DEFAULT_TIMEOUT_S, **args):
        args["op"] = op
        self._write("C", json.dumps(args).encode())
        try:
            rep = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise PeerError("%s did not answer %r within %s s" % (self.name, op, timeout))
        if rep is None:
            raise PeerError("%s exited during %r:\n%s" % (self.name, op, self.stderr_text()))
        if not rep.get("ok"):
            raise PeerError("%s failed %r: %s" % (self.name, op, rep.get("error")))
        return rep

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def reference_peer(script="ref_peer.py"):
    """The reference sedsnet in its own CPython process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PEERS_DIR  # only the framing helper; never our lib/
    return Peer([toolchain.reference_python(), os.path.join(PEERS_DIR, script)], env, "reference")


def micropython_peer(script, heapsize="4M"):
    """Our library in a real MicroPython Unix-port process."""
    env = toolchain.mp_env()
    env["MICROPYPATH"] = os.pathsep.join([PEERS_DIR, env["MICROPYPATH"]])
    return Peer([toolchain.micropython(), "-X", "heapsize=" + heapsize,
                 os.path.join(PEERS_DIR, script)], env, "micropython")


@contextlib.contextmanager
def codec_peers(calls, heapsize="4M"):
    """(reference, ours) codec peers (peers/ref_peer.py, peers/mp_codec_peer.py) with the same
    registry calls applied, the reference told never to compress (our port has no zstd)."""
    with reference_peer() as ref, micropython_peer("mp_codec_peer.py", heapsize) as mp:
        ref.call("tuning", kwargs={"payload_compress_threshold": 1 << 20})
        ref.call("schema", calls=calls)
        mp.call("schema", calls=calls)
        yield ref, mp


def run_script(script, *args, argv=None, env=None, timeout=60):
    """Run a one-shot parity script (its source) with args; return the JSON of its last stdout
    line. argv: the interpreter (default: the reference CPython, PYTHONPATH cleared, so a
    script picks its sedsnet from its args); env: for another runtime. The script and its
    working directory are a private folder: the script's folder comes first on sys.path, and
    the shared temp folder may hold anything (a stray `struct` directory shadowed the module
    once)."""
    if env is None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "parity_case.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        out = subprocess.run((argv or [toolchain.reference_python()]) + [path] + list(args),
                             capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp,
                             check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])
