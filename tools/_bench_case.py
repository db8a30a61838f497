# One benchmark case, run by tools/bench_router.py in a fresh process under the MicroPython Unix
# port (64- or 32-bit, library as .mpy, board-sized -X heapsize) or CPython (our library or the
# reference sedsnet 4.2.7: the same code drives both). Prints one JSON line:
#     python|micropython _bench_case.py CASE N SIDES RECENT [HEAP]
# CASE: log_tx (log_f32 -> tx callback), rx_forward (Relay: in-side -> the reachable side),
# rx_deliver (Router: in-side -> a Packet handler). SIDES: sides of which exactly one is
# reachable (log_tx: all egress; rx_forward: the in-side plus SIDES-1 egress; 0: the plain setup,
# a single peer (egress) side, 4.2.7's single-side fallback, no announcement); RECENT:
# max_recent_rx_ids (0: the default); HEAP: 0 skips the heap pass below (a repeat run, timed only).
#
# The clock is CPU time of this process (/proc/self/schedstat under MicroPython, process_time
# under CPython), garbage collection inside it: nothing is collected by hand inside the timed
# loop. Under MicroPython a second, untimed pass of as many packets samples gc.mem_alloc() after
# every packet (it walks the whole heap: far too slow to sit inside the clock): a rise is what
# the packet allocated, a fall means a collection ran during that packet (counted; that packet is
# left out of the bytes average). Received frames are made in chunks of CHUNK outside the clock,
# with one gc.collect() per chunk (outside the clock) so the making's own garbage is not charged
# to the router.
import gc
import json
import sys

import sedsnet

CHUNK = 100
HEAP = [1]  # 1: the sampled heap pass after the timed one (argv's HEAP)
try:
    from time import process_time_ns as _cpu_ns
except ImportError:
    _cpu_ns = None
_mem = getattr(gc, "mem_alloc", None)


def cpu_ns():
    if _cpu_ns is not None:
        return _cpu_ns()
    with open("/proc/self/schedstat") as f:
        return int(f.read().split()[0])


class Count:
    def __init__(self):
        self.n = 0

    def __call__(self, x):
        self.n += 1


class Clock:
    # Moves only when a loop says so (log_tx: 1 ms per packet, so logged packets differ: 4.2.7
    # drops some logs of equal time and payload as duplicates, ~0.5%). 4.2.7 reads the clock
    # several times a packet: a ms per read would spend a learned route's 30 s TTL within a few
    # thousand packets.
    def __init__(self):
        self.t = 5000

    def __call__(self):
        return self.t


class Meter:
    def __init__(self):
        self.ns = 0
        self.alloc = 0
        self.clean = 0
        self.gcs = 0
        self.n = 0


def frames(i0, n):
    out = [None] * n
    for i in range(n):
        out[i] = sedsnet.make_packet(3000, "peer", [101, 102], 1000 + i0 + i, bytes(12)).pack()
    return out


def announcements(clock):
    """The discovery frames of a peer router with handlers for both endpoints."""
    cap = []
    peer = sedsnet.Router(hostname="peer", now_ms=clock, handlers=[(101, Count(), None),
                                                                   (102, Count(), None)])
    peer.add_side_packed("X", lambda f: cap.append(bytes(f)))
    peer.periodic(0)
    return cap


def add_sides(node, sides, rx, clock, out):
    """SIDES egress sides on node; the last one hears a peer's announcement (reachable)."""
    sinks = [Count() for _ in range(sides - 1)] + [out]
    ids = [node.add_side_packed("S%d" % i, sinks[i]) for i in range(sides)]
    for f in announcements(clock):
        rx(ids[-1], f)
    node.process_all_queues()


def log_tx(m, n, sides, clock, recent):
    out = Count()
    r = sedsnet.Router(hostname="bench", now_ms=clock, **recent)
    if sides:
        add_sides(r, sides, r.receive_packed_from_side, clock, out)
    else:
        r.add_side_packed("UART", out)
    vals = [1.0, 2.0, 3.0]
    log = r.log_f32
    for i in range(20):  # warm-up: first-use allocations are not per-packet costs
        clock.t += 1
        log(3000, vals)
    base = out.n
    gc.collect()
    t0 = cpu_ns()
    for i in range(n):
        clock.t += 1
        log(3000, vals)
    m.ns += cpu_ns() - t0
    m.n += n
    if _mem is not None and HEAP[0]:  # the heap pass: as many packets again, sampled
        mem = _mem
        prev = mem()
        for i in range(n):
            clock.t += 1
            log(3000, vals)
            now = mem()
            if now >= prev:
                m.alloc += now - prev
                m.clean += 1
            else:
                m.gcs += 1
            prev = now
    r.process_all_queues()  # (outside the clock) whatever a node only queued
    return out.n - base


def _feed(m, i0, n, rx, side, after):
    """rx(side, frame) over n distinct frames, CHUNK at a time; after(): once per frame."""
    done = 0
    while done < n:
        fs = frames(i0 + done, min(CHUNK, n - done))
        gc.collect()
        t0 = cpu_ns()
        if after is None:
            for f in fs:
                rx(side, f)
        else:
            for f in fs:
                rx(side, f)
                after()
        m.ns += cpu_ns() - t0
        done += len(fs)
        fs = None
    m.n += n


def _feed_sampled(m, i0, n, rx, side, after):
    """The heap pass (not timed): gc.mem_alloc() after every frame."""
    mem = _mem
    done = 0
    while done < n:
        fs = frames(i0 + done, min(CHUNK, n - done))
        gc.collect()
        prev = mem()
        for f in fs:
            rx(side, f)
            if after is not None:
                after()
            now = mem()
            if now >= prev:
                m.alloc += now - prev
                m.clean += 1
            else:
                m.gcs += 1
            prev = now
        done += len(fs)
        fs = None


def _passes(m, n, rx, side, after):
    _feed(Meter(), 0, 20, rx, side, after)  # warm-up
    _feed(m, 100000, n, rx, side, after)
    if _mem is not None and HEAP[0]:
        _feed_sampled(m, 300000, n, rx, side, after)


def rx_forward(m, n, sides, clock, recent):
    out = Count()
    r = sedsnet.Relay(now_ms=clock, **recent)
    a = r.add_side_packed("IN", Count())
    if sides:  # SIDES in all, the in-side one of them
        add_sides(r, sides - 1, r.rx_packed_from_side, clock, out)
    else:
        r.add_side_packed("OUT", out)
    # a 4.2.7 Relay only queues on rx: process_all_queues() after each frame, for both
    _passes(m, n, r.rx_packed_from_side, a, r.process_all_queues)
    return out.n - 20


def rx_deliver(m, n, sides, clock, recent):
    got = Count()
    r = sedsnet.Router(hostname="bench", now_ms=clock, handlers=[(101, got, None)], **recent)
    a = r.add_side_packed("UART", Count())
    _passes(m, n, r.receive_packed_from_side, a, None)
    return got.n - 20


CASES = {"log_tx": log_tx, "rx_forward": rx_forward, "rx_deliver": rx_deliver}


def main(argv):
    case, n, sides, recent = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    HEAP[0] = int(argv[4]) if len(argv) > 4 else 1
    sedsnet.register_endpoint(101, "RADIO")
    sedsnet.register_endpoint(102, "SD_CARD")
    sedsnet.register_data_type(3000, "GPS", True, 3, 1, 0, [101, 102], priority=80)
    m = Meter()
    kw = {"max_recent_rx_ids": recent} if recent else {}
    done = CASES[case](m, n, sides, Clock(), kw)
    res = {"case": case, "n": m.n, "sides": sides, "recent": recent, "done": done,
           "us": m.ns / 1000.0 / m.n}
    if _mem is not None and HEAP[0]:
        res["bytes"] = m.alloc / m.clean if m.clean else None
        res["gcs"] = m.gcs
        from sedsnet import wire
        res["kernels"] = wire.KERNELS
        gc.collect()
        res["heap_free"] = gc.mem_free()
    print(json.dumps(res))


main(sys.argv[1:])
