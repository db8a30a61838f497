# Flood suite (issue 18): every queue path and discovery of a Router/Relay with a board's queue
# budget, offered FACTOR (10) times that budget in frames without a periodic() in between, then
# drained. Per path: every offered frame is either delivered/sent or counted as a drop (by
# reason: the side's drop counters, the queues' evictions, local_rx_dropped, refusals raised as
# a SedsError), the budget's bytes in use never pass the budget, the live heap stays within the
# budget above where it started, and afterwards the node recovers (queues empty, a fresh frame
# delivered). ROUNDS repeats it all: the heap after each round must stay flat. Runs unchanged
# under CPython, MicroPython and the 32-bit build.
#     flood_queues.py [ROUNDS] [BUDGET] [FACTOR]    (last line: a JSON summary; exit 1 on a failure)
import gc
import json
import sys

import sedsnet
from sedsnet import announce_codec as ac
from sedsnet.errors import SedsError
from sedsnet.relay import Relay
from sedsnet.router import Router
from sedsnet.wire import frame_size, pack_into

EP_A = 3701
EP_B = 3702
TY = 3703  # dynamic u8 -> EP_A (delivered here; forwarded by a Relay)
TY_F = 3704  # static f32 x4 -> EP_B (logged here, sent on the side)
HEAP_SLACK = 4096  # bytes above the budget the heap may grow by during a flood (the nodes' own)
FLAT_SLACK = 1024  # bytes the heap after a round may exceed the first round's


def schema():
    if not sedsnet.data_type_exists(TY):
        sedsnet.register_endpoint(EP_A, "FLOOD_A")
        sedsnet.register_endpoint(EP_B, "FLOOD_B")
        sedsnet.register_data_type(TY, "FLOOD_T", False, 0, 2, 0, [EP_A])
        sedsnet.register_data_type(TY_F, "FLOOD_F", True, 4, 1, 0, [EP_B])


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def _alloc():
    gc.collect()
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def _frame(i, size=40):
    # distinct frames (the timestamp), so none is dropped as a duplicate
    return sedsnet.make_packet(TY, "FLOODER", [EP_A], 100000 + i, bytes(size)).pack()


def _announce(i):
    src = 0x20000 + i
    pl = ac.address_payload(b"f%d" % i, src, 1, 1, [EP_B])
    buf = bytearray(frame_size(0, 17, src, 0, 1, len(pl), -1, 0x84))
    pack_into(buf, 17, src, None, 0, 1, pl, None, 0x84)
    return bytes(buf)


def _holder():
    """An ANNOUNCE of EP_B from a peer: routes FLOOD_F packets to the side it came on."""
    src = 0x1F000
    pl = ac.announce_payload([EP_B])
    buf = bytearray(frame_size(0, 7, src, 0, 1, len(pl), -1, 0x84))
    pack_into(buf, 7, src, None, 0, 1, pl, None, 0x84)
    return bytes(buf)


class Bench:
    """One node of a path: a side counting what it sends, a handler counting deliveries."""

    def __init__(self, budget, relay=False):
        self.clock = Clock()
        self.delivered = 0
        self.sent = 0
        if relay:
            self.node = Relay(hostname="FLOODED", now_ms=self.clock, max_queue_budget=budget)
        else:
            self.node = Router(handlers=[(EP_A, self._on, None)], hostname="FLOODED",
                               now_ms=self.clock, max_queue_budget=budget)
        self.side = self.node.add_side_packed("IN", self._tx)
        self.out = self.node.add_side_packed("OUT", self._tx)

    def _on(self, pkt):
        self.delivered += 1

    def _tx(self, frame):
        self.sent += 1

    def drops(self):
        st = self.node.export_runtime_stats()
        q = st["queues"]
        out = {"rx_evicted": q["rx_evicted"], "tx_evicted": q["tx_evicted"],
               "local_rx_dropped": q["local_rx_dropped"]}
        for s in st["sides"]:
            for k, v in s["drops"].items():
                if v:
                    out["side_" + k] = out.get("side_" + k, 0) + v
        d = st.get("discovery") or {}
        if d.get("evicted"):
            out["discovery_evicted"] = d["evicted"]
        return out

    def used(self):
        return self.node._budget.used


def _offer(bench, push, frames, budget, factor):
    """Offer frames until factor x budget bytes went in; returns (offered, refused by reason,
    peak budget bytes in use)."""
    offered = 0
    refused = {}
    peak = 0
    i = 0
    total = 0
    while total < factor * budget:
        f = frames(i)
        i += 1
        total += len(f)
        offered += 1
        try:
            push(f)
        except SedsError as e:
            k = "refused_" + type(e).__name__
            refused[k] = refused.get(k, 0) + 1
        if i % 16 == 0:
            bench.clock.t += 1
            if bench.used() > peak:
                peak = bench.used()
    return offered, refused, max(peak, bench.used())


def run_path(name, budget, factor):
    relay = name.startswith("relay")
    b = Bench(budget, relay)
    node = b.node
    base = _alloc()
    if name == "router_rx_queue":
        push = lambda f: node.receive_packed_queue_from_side(b.side, f)  # noqa: E731
        gen, got = _frame, lambda: b.delivered  # noqa: E731
    elif name == "router_local_isr_queue":
        push = node.receive_packed_queue  # the IRQ-safe ring of the application's own frames
        gen, got = _frame, lambda: b.delivered  # noqa: E731
    elif name == "router_log_queue":
        node.receive_packed_from_side(b.out, _holder())  # EP_B's holder is behind OUT
        node.periodic(0)
        b.sent = 0
        vals = [1.0, 2.0, 3.0, 4.0]
        push = lambda f: node.log_f32(TY_F, vals, queue=True)  # noqa: E731
        gen, got = (lambda i: b"x" * 36), lambda: b.sent  # noqa: E731  (36: the frame's size)
    elif name == "router_transmit_queue":
        push = node.transmit_packed_message_queue
        gen, got = _frame, lambda: b.delivered  # noqa: E731
    elif name == "relay_rx_queue":
        push = lambda f: node.rx_packed_queue_from_side(b.side, f)  # noqa: E731
        gen, got = _frame, lambda: b.sent  # noqa: E731
    else:  # discovery: ADDRESS announcements of distinct senders, handled as they come
        rx = node.rx_packed_from_side if relay else node.receive_packed_from_side
        push = lambda f: rx(b.side, f)  # noqa: E731
        gen, got = _announce, lambda: 0  # noqa: E731
    offered, refused, peak_used = _offer(b, push, gen, budget, factor)
    during = _alloc() - base
    node.periodic(0)
    node.periodic(0)
    after = _alloc() - base
    drops = b.drops()
    drops.update(refused)
    passed = got()
    fails = []
    if peak_used > budget:
        fails.append("budget bytes in use %d > %d" % (peak_used, budget))
    if hasattr(gc, "mem_alloc") and during > budget + HEAP_SLACK:
        fails.append("heap grew %d B during the flood (budget %d)" % (during, budget))
    if node._busy or node._queued():
        fails.append("queues not empty after periodic()")
    counted = sum(drops.values())
    if name.startswith("discovery"):
        st = node.export_runtime_stats()["discovery"]
        if st["announcers"] > st["max_announcers"] or not drops.get("discovery_evicted"):
            fails.append("discovery not bounded: %s" % st)
    elif passed + counted < offered:  # the discovery announcers are kept or evicted instead
        fails.append("%d offered, %d through, %d counted as drops" % (offered, passed, counted))
    if not counted:
        fails.append("a flood of %d x the budget dropped nothing" % factor)
    # recovery: a fresh frame is delivered (or forwarded by the Relay)
    before = b.sent if relay else b.delivered
    b.clock.t += 10
    if relay:
        node.rx_packed_from_side(b.side, _frame(10 ** 6))
    else:
        node.receive_packed_from_side(b.side, _frame(10 ** 6))
    node.periodic(0)
    if (b.sent if relay else b.delivered) != before + 1:
        fails.append("no recovery: a fresh frame was not %s" % ("forwarded" if relay else
                                                                 "delivered"))
    return {"path": name, "offered": offered, "through": passed, "drops": drops,
            "peak_budget_used": peak_used, "heap_during": during, "heap_after": after,
            "failures": fails}


PATHS = ("router_rx_queue", "router_local_isr_queue", "router_log_queue",
         "router_transmit_queue", "relay_rx_queue", "discovery_router", "discovery_relay")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    budget = int(sys.argv[2]) if len(sys.argv) > 2 else 8192  # the boards' configs
    factor = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    schema()
    # the modules the paths load on first use, loaded before any heap is measured: a lazy
    # import inside a flood counts its code, and the qstrs it interns can make MicroPython
    # add a qstr pool (about 9 KB on the 32-bit build) right then
    for m in ("typed_log", "wire_parse", "control", "stats", "packet", "router_tx"):
        __import__("sedsnet." + m)
    results = []
    heaps = []
    fails = []
    for r in range(rounds):
        for name in PATHS:
            res = run_path(name, budget, factor)
            if r == 0:
                results.append(res)
            for f in res["failures"]:
                if len(fails) < 16:
                    fails.append("round %d %s: %s" % (r, name, f))
        heaps.append(_alloc())
    if hasattr(gc, "mem_alloc") and max(heaps) > heaps[0] + FLAT_SLACK:
        fails.append("heap after each round not flat: %s" % heaps)
    print(json.dumps({"runtime": sys.implementation.name, "rounds": rounds, "budget": budget,
                      "factor": factor, "paths": results, "heap_after_rounds": heaps,
                      "failures": fails}))
    if fails:
        sys.exit(1)


main()
