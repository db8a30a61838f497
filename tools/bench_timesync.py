"""Time sync's cost (issue 14): CPU per periodic() of a Router without time sync, of a synced
Consumer and of a Source (an announce every 1000 ms of fake time, 1 ms per periodic), and the
RAM a TimeSync takes. Runs under MicroPython or CPython with lib/ on the path:

    MICROPYPATH=lib .venv/bin/micropython tools/bench_timesync.py [N]
    PYTHONPATH=lib .venv/bin/python tools/bench_timesync.py [N]
"""
import gc
import sys
import time

import sedsnet

try:
    ticks_us, ticks_diff = time.ticks_us, time.ticks_diff
except AttributeError:
    def ticks_us():
        return time.perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000


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


def per_periodic(clock, r, pump, n):
    gc.collect()
    t0 = ticks_us()
    for i in range(n):
        clock.t += 1
        r.periodic(0)
        pump()
    return ticks_diff(ticks_us(), t0) / n


def main():
    rows = []
    clock, src, plain, pump = pair(timesync_enabled=False)
    rows.append(("no time sync (timesync_enabled=False)", per_periodic(clock, plain, pump, N)))
    clock, src, con, pump = pair()
    rows.append(("Consumer, synced (requests every 1000 ms)", per_periodic(clock, con, pump, N)))
    rows.append(("Source (announce every 1000 ms)", per_periodic(clock, src, pump, N)))
    ts = con.ts
    ts.t_req = 1 << 28
    gc.collect()
    t0 = ticks_us()
    for i in range(N):
        clock.t += 1
        ts.poll()
    rows.append(("TimeSync.poll() alone, nothing due", ticks_diff(ticks_us(), t0) / N))
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
