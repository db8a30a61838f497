# MicroPython script: a 2-side Router (discovery on) routes N packets in a small heap and prints
# its heap figures as one JSON line. Run by host_tests/test_router_memory.py and
# tools/bench_router.py with the library as .mpy files:
#   micropython -X heapsize=H router_heap_run.py N [DATA]  (N = 0: only report the code's
#   size; DATA: bytes of data heap to keep contiguous, see below)
# Half the frames arrive through the IRQ-safe queue path, half synchronously; the router's
# own telemetry (log_f32) and periodic() (discovery announcements) run along.
import gc
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
DATA = int(sys.argv[2]) if len(sys.argv) > 2 else 0

# A board runs this code frozen in flash, with its data heap in one piece. Loading .mpy files
# instead leaves the code interleaved with the loader's freed temporaries (the free heap in
# 1-2 KB pieces). So the data heap is set aside first as one block, the code loads above it,
# every hole the loader left is filled with ballast, and the block is freed: the router then
# starts in exactly DATA bytes of contiguous heap.
_data_heap = bytearray(DATA) if DATA else None
_ballast = None  # (bound now: a new global later could grow the module dict in a full heap)
gc.collect()
_before_code = gc.mem_alloc()
import json  # noqa: E402
import micropython  # noqa: E402
import sedsnet  # noqa: E402
from sedsnet import announce  # noqa: E402,F401  (the Router imports it when built)
from sedsnet.router import Router  # noqa: E402
from sedsnet import typed_log  # noqa: E402,F401  (log_f32 loads it on its first call)
from sedsnet import wire_parse  # noqa: E402,F401  (the first announcement frame loads it)
from sedsnet.wire import pack_into  # noqa: E402

gc.collect()
CODE = gc.mem_alloc() - _before_code


def _fill_holes():
    chain = None
    size = 4096
    while size >= 16:
        try:
            chain = (chain, bytearray(size))
        except MemoryError:
            size //= 2
    return chain


_ballast = _fill_holes() if DATA else None
_data_heap = None
gc.collect()
OUTSIDE = gc.mem_alloc()  # code and ballast: everything that is not the data heap
DATA_FREE = gc.mem_free()


class Count:
    def __init__(self):
        self.n = 0

    def __call__(self, frame):
        self.n += 1


class Clock:
    def __init__(self):
        self.t = 1000000

    def __call__(self):
        return self.t


def main():
    if N == 0:
        print(json.dumps({"code": CODE}))
        return
    sedsnet.register_endpoint(101, "RADIO")
    sedsnet.register_endpoint(102, "SD_CARD")
    sedsnet.register_data_type(3000, "GPS", True, 3, 1, 0, [101, 102], priority=80)
    clock = Clock()
    out = Count()
    router = Router(hostname="heap", now_ms=clock, max_queue_budget=8192, max_recent_rx_ids=64)
    uplink = router.add_side_packed("UART", Count())
    router.add_side_packed("RADIO", out)
    payload = bytes(12)
    eps = (101, 102)
    frame = bytearray(64)
    n = pack_into(frame, 3000, 77, eps, 300000, 7, payload)
    frame = bytearray(n)  # exact length: the frame is passed on as this very object
    vals = [1.0, 2.0, 3.0]
    gc.collect()
    base = gc.mem_alloc()
    high = live_high = base
    # allocation per routed packet: the collector off over a stretch of packets
    measured = alloc = 0
    for i in range(N):
        pack_into(frame, 3000, 77, eps, 300000 + i, 7, payload)
        if i & 1:
            router.receive_packed_from_side(uplink, frame)
        else:
            router.receive_packed_queue_from_side(uplink, frame)
            router.process_all_queues()
        if i % 100 == 0:
            clock.t += 50  # 50 ms of simulated time per 100 packets
            router.log_f32(3000, vals)
            router.periodic(0)
            a = gc.mem_alloc()
            if a > high:
                high = a
        if i % 1000 == 0:
            gc.collect()
            a = gc.mem_alloc()
            if a > live_high:
                live_high = a
        if i == N // 2:
            gc.collect()
            gc.disable()
            a0 = gc.mem_alloc()
        elif i == N // 2 + 1000:
            alloc = gc.mem_alloc() - a0
            measured = 1000
            gc.enable()
    gc.collect()
    print(json.dumps({
        "packets": N, "forwarded": out.n, "code": CODE, "outside": OUTSIDE,
        "data_free": DATA_FREE, "heap_base": base, "heap_high": high,
        "live_high": live_high,
        "heap_end": gc.mem_alloc(), "heap_free_end": gc.mem_free(),
        "bytes_per_packet": alloc / measured if measured else None,
        "drops": router.export_runtime_stats()["sides"][0]["drops"],
        "kernels": sedsnet.wire.KERNELS, "locked_ok": locked_log(router, vals),
    }))


def locked_log(router, vals):
    """log_f32 -> tx callbacks 100 times with the heap locked (0 allocations)."""
    micropython.heap_lock()
    try:
        for i in range(100):
            router.log_f32(3000, vals)
    finally:
        micropython.heap_unlock()
    return True


main()
