"""Time sync's cost (issue 14): CPU per periodic() of a Router without time sync, of a synced
Consumer and of a Source (an announce every 1000 ms of fake time, 1 ms per periodic), and the
RAM a TimeSync takes, under both MicroPython builds and CPython (`make bench` runs it):

    python tools/bench_timesync.py [--smoke | N]     (N periodic() calls per row, 20000)

Under CPython it starts itself as a child per runtime with our lib/ first on the path (the
reference, also named sedsnet, is never imported). Figures depend on the machine.
"""
import gc
import os
import sys
import time

_ARGS = [a for a in sys.argv[1:] if a != "--child"]
N = 200 if "--smoke" in _ARGS else int(_ARGS[0]) if _ARGS else 20000


def _driver():
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    lib = os.path.join(repo, "lib")
    mp32 = os.environ.get("MICROPYTHON32") or os.path.join(repo, "..", "shared", "toolchain",
                                                           "micropython32")
    runs = [("micropython", [os.environ.get("MICROPYTHON")
                             or os.path.join(repo, ".venv", "bin", "micropython")],
             "MICROPYPATH"),
            ("micropython32", [mp32], "MICROPYPATH"), ("cpython", [sys.executable], "PYTHONPATH")]
    failed = 0
    for name, cmd, var in runs:
        if not os.path.exists(cmd[0]):
            print("### %s: not found (%s), skipped" % (name, cmd[0]))
            continue
        print("### %s" % name, flush=True)
        env = dict(os.environ)
        env[var] = lib
        failed |= subprocess.run(cmd + [os.path.abspath(__file__), "--child", str(N)],
                                 env=env).returncode
    sys.exit(1 if failed else 0)


if sys.implementation.name != "micropython" and "--child" not in sys.argv:
    _driver()

import sedsnet  # noqa: E402  (ours: lib/ is first on the path in a child)

try:
    ticks_us, ticks_diff = time.ticks_us, time.ticks_diff
except AttributeError:
    def ticks_us():
        return time.perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def pair(**kw):
    """A Source and a node made with kw, joined by synchronous sides, on one clock."""
    clock = Clock()
    src = sedsnet.Router(now_ms=clock, hostname="B_SRC", timesync_role=1, discovery=False)
    node = sedsnet.Router(now_ms=clock, hostname="B_NODE", discovery=False, **kw)
    box = []
    sn = node.add_side_packed("s", lambda f: box.append((0, bytes(f))))
    ss = src.add_side_packed("n", lambda f: box.append((1, bytes(f))))

    def pump():
        while box:
            d, f = box.pop(0)
            if d:
                node.receive_packed_from_side(sn, f)
            else:
                src.receive_packed_from_side(ss, f)
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    for i in range(3000):  # 3 s: the consumer is synced
        clock.t += 1
        src.periodic(0)
        node.periodic(0)
        pump()
    return clock, src, node, pump


def per_periodic(clock, call, pump, n):
    """Best of 5 runs of n // 5 calls (the machine is shared: the minimum is the cost)."""
    best = None
    for k in range(5):
        gc.collect()
        t0 = ticks_us()
        for i in range(n // 5):
            clock.t += 1
            call(0)
            pump()
        us = ticks_diff(ticks_us(), t0) / (n // 5)
        best = us if best is None or us < best else best
    return best


def _nothing():
    pass


def main():
    rows = []
    clock, src, plain, pump = pair(timesync_enabled=False)
    rows.append(("no time sync (timesync_enabled=False)", per_periodic(clock, plain.periodic, pump, N)))
    clock, src, con, pump = pair()
    rows.append(("Consumer, synced (requests every 1000 ms)", per_periodic(clock, con.periodic, pump, N)))
    rows.append(("Source (announce every 1000 ms)", per_periodic(clock, src.periodic, pump, N)))
    ts = con.ts
    ts.t_req = 1 << 28
    rows.append(("TimeSync.poll() alone, nothing due", per_periodic(clock, lambda t: ts.poll(), _nothing, N)))
    for name, us in rows:
        print("%-45s %8.2f us" % (name, us))
    # RAM of one TimeSync (a Consumer's, made by its first TIME_SYNC frame)
    r = sedsnet.Router(now_ms=clock, hostname="B_RAM", discovery=False)
    r.add_side_packed("s", lambda f: None)
    from sedsnet import timesync  # noqa: F401  (code counted apart from the instance)
    if hasattr(gc, "mem_alloc"):
        gc.collect()
        before = gc.mem_alloc()
        r._timesync()
        gc.collect()
        print("TimeSync instance: %d bytes of heap" % (gc.mem_alloc() - before))


main()
