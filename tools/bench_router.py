"""Router benchmark (`make bench`): packets/s for log_f32 -> TX callback, RX -> local handler and
RX -> forward (a Relay with two sides), for our Router under the MicroPython Unix port (viper
kernels and their pure twins), under CPython, and for the reference sedsnet 4.2.7 Router under
CPython doing the same work, in one run, with ratios; plus heap bytes allocated per packet
under MicroPython.

Not a test: figures depend on the machine. All nodes have discovery on and a single peer side,
so both implementations send without any announcement (4.2.7's single-side fallback).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIB = os.path.join(REPO, "lib")
MICROPYTHON = os.path.join(REPO, ".venv", "bin", "micropython")
N = 20000

# The same workload in every runtime: `seds` is our package or the reference.
WORKLOAD = r"""
import gc


def setup(seds):
    seds.register_endpoint(101, "RADIO")
    seds.register_endpoint(102, "SD_CARD")
    seds.register_data_type(3000, "GPS", True, 3, 1, 0, [101, 102], priority=80)


class Count:
    def __init__(self):
        self.n = 0

    def __call__(self, x):
        self.n += 1


def frames(seds, i0, n):
    out = [None] * n
    for i in range(n):
        out[i] = seds.make_packet(3000, "peer", [101, 102], 1000 + i0 + i, bytes(12)).pack()
    return out


def timed_chunks(seds, n, feed):
    # feed(frames) over n distinct frames made 500 at a time outside the clock: a big live set
    # of frames would make every garbage collection (MicroPython) cost more than the routing
    total = 0.0
    for i0 in range(0, n, 500):
        fs = frames(seds, i0, min(500, n - i0))
        gc.collect()
        t0 = time_s()
        feed(fs)
        total += time_s() - t0
    return n / total


def log_tx(seds, clock, n):
    tx = Count()
    r = seds.Router(hostname="bench", now_ms=clock)
    r.add_side_packed("UART", tx)
    vals = [1.0, 2.0, 3.0]
    gc.collect()
    t0 = time_s()
    for i in range(n):
        r.log_f32(3000, vals)
    t1 = time_s()
    assert tx.n == n, tx.n
    return n / (t1 - t0)


def rx_deliver(seds, clock, n):
    got = Count()
    r = seds.Router(hostname="bench", now_ms=clock, handlers=[(101, got, None)])
    side = r.add_side_packed("UART", Count())

    def feed(fs):
        for f in fs:
            r.receive_packed_from_side(side, f)
    rate = timed_chunks(seds, n, feed)
    assert got.n == n, got.n
    return rate


def rx_forward(seds, clock, n):
    out = Count()
    r = seds.Relay(now_ms=clock)
    a = r.add_side_packed("A", Count())
    r.add_side_packed("B", out)

    def feed(fs):
        for f in fs:
            r.rx_packed_from_side(a, f)
            r.process_all_queues()  # a 4.2.7 Relay only queues on rx
    rate = timed_chunks(seds, n, feed)
    assert out.n >= n, out.n  # (plus the 4.2.7 Relay's own discovery frames)
    return rate
"""

MP_SCRIPT = WORKLOAD + r"""
import gc, json, time
import sedsnet
from sedsnet import _pure, ids, node, recent, ring, router, wire


def time_s():
    return time.ticks_us() / 1e6


_t = [5000]


def clock():  # a fresh millisecond per call: no two logged packets share an ID
    _t[0] += 1
    return _t[0]


def use_pure():  # the kernels' pure twins: what CircuitPython (no viper) runs
    wire.crc32_check = _pure.crc32_check
    wire.crc32_write = _pure.crc32_write
    ids._pid_kernel = _pure.pid_into
    ids._key_kernel = _pure.key_into
    ids._nonce_kernel = _pure.nonce_next
    recent.find8 = _pure.find8
    recent.copy_into = _pure.copy_into
    ring.copy_into = node.copy_into = router.copy_into = _pure.copy_into


def heap_per(fn, n):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    fn(n)
    b = gc.mem_alloc()
    gc.enable()
    return (b - a) / n


def run(kind, n):
    res = {"kind": kind, "log_tx": log_tx(sedsnet, clock, n),
           "rx_deliver": rx_deliver(sedsnet, clock, n), "rx_forward": rx_forward(sedsnet, clock, n)}
    # heap per packet, steady state (after a warm-up of 100)
    tx = Count()
    r = sedsnet.Router(hostname="heap", now_ms=clock)
    r.add_side_packed("UART", tx)
    vals = [1.0, 2.0, 3.0]
    for i in range(100):
        r.log_f32(3000, vals)

    def log(k):
        for i in range(k):
            r.log_f32(3000, vals)
    res["heap_log_tx"] = heap_per(log, 1000)
    rel = sedsnet.Relay(hostname="heap", now_ms=clock)
    a = rel.add_side_packed("A", Count())
    rel.add_side_packed("B", Count())
    fs2 = frames(sedsnet, 0, 1100)
    for f in fs2[:100]:
        rel.rx_packed_from_side(a, f)

    def fwd(k):
        for i in range(100, 100 + k):
            rel.rx_packed_from_side(a, fs2[i])
    res["heap_forward"] = heap_per(fwd, 1000)
    got = Count()
    rr = sedsnet.Router(hostname="heap", now_ms=clock, handlers=[(101, got, None)])
    s = rr.add_side_packed("A", Count())
    for f in fs2[:100]:
        rr.receive_packed_from_side(s, f)

    def deliver(k):
        for i in range(100, 100 + k):
            rr.receive_packed_from_side(s, fs2[i])
    res["heap_deliver"] = heap_per(deliver, 1000)
    return res


setup(sedsnet)
print(json.dumps(run(wire.KERNELS, %d)))
use_pure()
print(json.dumps(run("pure", %d)))
""" % (N, N // 4)

CPY_SCRIPT = WORKLOAD + r"""
import json, sys, time
time_s = time.perf_counter
_t = [5000]


def clock():  # a fresh millisecond per call: no two logged packets share an ID
    _t[0] += 1
    return _t[0]
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet
setup(sedsnet)
n = int(sys.argv[3])
print(json.dumps({"kind": sys.argv[1], "log_tx": log_tx(sedsnet, clock, n),
                  "rx_deliver": rx_deliver(sedsnet, clock, n),
                  "rx_forward": rx_forward(sedsnet, clock, n)}))
"""


def micropython_rows():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(MP_SCRIPT)
        path = f.name
    try:
        out = subprocess.run([MICROPYTHON, "-X", "heapsize=32M", path],
                             env=dict(os.environ, MICROPYPATH=LIB), capture_output=True,
                             text=True, timeout=900)
    finally:
        os.unlink(path)
    if out.returncode:
        sys.exit("micropython bench failed:\n%s%s" % (out.stdout, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main():
    rows = micropython_rows()
    clean = dict(os.environ)
    clean.pop("PYTHONPATH", None)  # the reference shares our import name
    rows += _cpython("ours", clean)
    ref = _cpython("reference", clean)[0]
    print("router: GPS packets (3 x f32, 2 endpoints), %d per path (micropython pure: %d)"
          % (N, N // 4))
    cols = ("log_tx", "rx_deliver", "rx_forward")
    print("%-26s %11s %11s %11s %8s %8s %8s" % ("path", "log->tx/s", "rx->dlv/s", "rx->fwd/s",
                                               "log/ref", "dlv/ref", "fwd/ref"))
    for r in rows + [ref]:
        name = {"viper": "micropython viper", "pure": "micropython pure",
                "ours": "cpython (ours)", "reference": "reference 4.2.7 (cpython)"}[r["kind"]]
        print("%-26s %11.0f %11.0f %11.0f %8.3f %8.3f %8.3f" % (
            (name,) + tuple(r[c] for c in cols) + tuple(r[c] / ref[c] for c in cols)))
    mp = {r["kind"]: r for r in rows}
    if "viper" in mp and "pure" in mp:
        v, p = mp["viper"], mp["pure"]
        print("viper/pure under micropython: log x%.2f, deliver x%.2f, forward x%.2f" % tuple(
            v[c] / p[c] for c in cols))
    for kind in ("viper", "pure"):
        if kind in mp:
            r = mp[kind]
            print("heap bytes per packet (micropython %s): log_f32->tx %.1f, forward %.1f, "
                  "deliver to a handler (builds a Packet) %.1f"
                  % (kind, r["heap_log_tx"], r["heap_forward"], r["heap_deliver"]))


def _cpython(kind, env):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CPY_SCRIPT)
        path = f.name
    try:
        out = subprocess.run([sys.executable, path, kind, LIB, str(N)], env=env,
                             capture_output=True, text=True, timeout=900,
                             cwd=tempfile.gettempdir())
    finally:
        os.unlink(path)
    if out.returncode:
        sys.exit("%s bench failed:\n%s" % (kind, out.stderr))
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


if __name__ == "__main__":
    t0 = time.time()
    main()
    print("(%.1f s)" % (time.time() - t0))
