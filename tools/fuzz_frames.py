# Mutation fuzzer for every way a frame gets into the library: unpack_packet/peek_header, a
# Router side (now and queued), a Router's local ingress and a Relay side. Runs unchanged under
# CPython, MicroPython and the 32-bit build. Any exception that is not a SedsError is an escape;
# every few thousand frames a health check proves the nodes still deliver, forward and hold
# their memory. Usage: fuzz_frames.py [FRAMES_PER_PATH] [SEED] [-v]; the last line is a JSON
# summary (with the heap's high-water after each check, the slowest chunk of frames between two
# checks: a hang shows there), exit status 1 when anything escaped or a health check failed; -v
# prints one progress line per health check on stderr (a 1M-frame run takes minutes).
import gc
import json
import random
import sys
import time

import sedsnet
from sedsnet import announce_codec as ac
from sedsnet.errors import SedsError
from sedsnet.relay import Relay
from sedsnet.router import Router

RADIO = 101
SD = 100
EP_C = 300
GPS = 4000  # static f32 x3 -> RADIO, SD
TEXT = 4001  # dynamic String -> SD
COUNTS = 4002  # dynamic u16 -> RADIO
REL = 4003  # dynamic binary, reliable ordered -> RADIO
REL_U = 4004  # static u32 x2, reliable unordered -> EP_C
FLAG = 4005  # static bool x1 -> RADIO
HEALTH_EVERY = 4000
_ESCAPES_KEPT = 8


def schema():
    sedsnet.register_endpoint(SD, "SD_CARD")
    sedsnet.register_endpoint(RADIO, "RADIO")
    sedsnet.register_endpoint(EP_C, "EP_C")
    sedsnet.register_data_type(GPS, "F_GPS", True, 3, 1, 0, [RADIO, SD])
    sedsnet.register_data_type(TEXT, "F_TEXT", False, 0, 13, 0, [SD])
    sedsnet.register_data_type(COUNTS, "F_COUNTS", False, 0, 3, 0, [RADIO])
    sedsnet.register_data_type(REL, "F_REL", False, 0, 14, 0, [RADIO], reliable=1)
    sedsnet.register_data_type(REL_U, "F_REL_U", True, 2, 4, 0, [EP_C], reliable=2)
    sedsnet.register_data_type(FLAG, "F_FLAG", True, 1, 12, 0, [RADIO])


class Sink:
    """A side's tx: counts frames (a view valid only during the call; never kept)."""

    def __init__(self):
        self.frames = 0

    def __call__(self, frame):
        self.frames += 1


class Nodes:
    def __init__(self):
        self.t = 1000
        self.delivered = 0
        self.str_fail = []
        self.router = Router(handlers=[(RADIO, self.on_packet, None), (SD, self.on_packet, None)],
                             hostname="FUZZ_ROUTER", now_ms=self.clock)
        self.r_out = Sink()
        self.r_in = self.router.add_side_packed("IN", Sink(), reliable_enabled=True)
        self.router.add_side_packed("OUT", self.r_out)
        self.relay = Relay(hostname="FUZZ_RELAY", now_ms=self.clock)
        self.l_out = Sink()
        self.l_in = self.relay.add_side_packed("IN", Sink(), reliable_enabled=True)
        self.relay.add_side_packed("OUT", self.l_out)

    def clock(self):
        return self.t

    def on_packet(self, pkt):
        self.delivered += 1
        try:  # any delivered packet must print (issue: str(pkt) never raises)
            str(pkt)
        except Exception as e:
            if len(self.str_fail) < _ESCAPES_KEPT:
                self.str_fail.append("%s: %s" % (type(e).__name__, e))


def base_frames():
    """Valid frames of many shapes: typed user data (static, dynamic, string, reliable, several
    endpoints, big IDs and timestamps) and discovery control frames."""
    out = []
    mk = sedsnet.make_packet
    out.append(mk(GPS, "alpha", [RADIO, SD], 1000, bytes(12)).pack())
    out.append(mk(GPS, "ground", [SD], 1767268800000, b"\x00\x00\x80\x3f" * 3).pack())
    out.append(mk(TEXT, "alpha", [SD], 5, b"hello").pack())
    out.append(mk(TEXT, "x" * 40, [SD], 0, b"").pack())
    out.append(mk(COUNTS, "beta", [RADIO], 2 ** 40, b"\x01\x00\x02\x00").pack())
    out.append(mk(REL, "gamma", [RADIO], 77, b"\xff" * 20).pack())
    out.append(mk(REL_U, "gamma", [EP_C], 78, bytes(8)).pack())
    out.append(mk(FLAG, "delta", [RADIO], 79, b"\x01").pack())
    host = b"PEER"
    addr = ac.address_payload(host, 1234, 5, 6, [RADIO, SD])
    topo = ac.topology_full_payload([ac.board(host, [RADIO]), ac.board("B", [SD], ["T"], ["PEER"])])
    delta = ac.topology_delta_payload([ac.board("C", [EP_C])], [b"B"])
    ann = ac.announce_payload([RADIO, EP_C])
    for ty, payload in ((17, addr), (9, topo), (9, delta), (7, ann), (7, b""), (16,
                        ac.link_caps_payload()), (15, b""), (11, b""), (8, b"")):
        out.append(_control(ty, payload))
    return out


def _control(ty, payload):
    from sedsnet.wire import frame_size, pack_into, REL_HAS_SEQ, REL_UNSEQUENCED
    rel = (REL_UNSEQUENCED | REL_HAS_SEQ) if sedsnet.schema.type_record(ty)[6] else -1
    src = sedsnet.ids.source_address("PEER")
    buf = bytearray(frame_size(0, ty, src, 1000, 3, len(payload), -1, rel))
    pack_into(buf, ty, src, None, 1000, 3, payload, None, rel)
    return bytes(buf)


def _crc(b):
    from sedsnet._pure import crc32_write
    if len(b) >= 4:
        crc32_write(b, 0, len(b) - 4)


def mutate(frame, rnd):
    """One mutant of frame: a few random edits, the CRC usually fixed so the parser sees it."""
    b = bytearray(frame)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.getrandbits(3)
        n = len(b)
        if n == 0:
            b.append(rnd.getrandbits(8))
            continue
        i = rnd.randrange(n)
        if op == 0:
            b[i] ^= 1 << rnd.getrandbits(3)
        elif op == 1:
            b[i] = rnd.getrandbits(8)
        elif op == 2:
            b = b[:rnd.randrange(n)] + b[n - 4:]  # cut the body, keep a CRC slot
        elif op == 3:
            b = b[:i] + bytearray([rnd.getrandbits(8)]) + b[i:]
        elif op == 4:
            b[0] = rnd.getrandbits(8)  # the flags byte decides the layout
        elif op == 5:
            b[min(1, n - 1)] = rnd.getrandbits(8)  # endpoint count
        elif op == 6:
            j = rnd.randrange(n)
            b = b[:i] + b[j:j + rnd.randint(1, 8)] + b[i:]
        else:
            b[i] = 0xFF if rnd.getrandbits(1) else 0x80  # long ULEBs
    if rnd.getrandbits(4):  # 15 in 16: a consistent CRC
        _crc(b)
    return bytes(b)


class Tally:
    def __init__(self, name):
        self.name = name
        self.frames = self.accepted = 0
        self.rejected = {}
        self.escapes = 0
        self.kept = []

    def run(self, fn, frame):
        self.frames += 1
        try:
            fn(frame)
            self.accepted += 1
        except SedsError as e:
            k = type(e).__name__
            self.rejected[k] = self.rejected.get(k, 0) + 1
        except Exception as e:  # an escape: anything but the SedsError family
            self.escapes += 1
            if len(self.kept) < _ESCAPES_KEPT:
                self.kept.append({"error": "%s: %s" % (type(e).__name__, e),
                                  "frame": _hex(frame)})

    def summary(self):
        return {"path": self.name, "frames": self.frames, "accepted": self.accepted,
                "rejected": self.rejected, "escapes": self.escapes, "examples": self.kept}


def _hex(b):
    return "".join("%02x" % x for x in b)


def _unpack(frame):
    sedsnet.peek_header(frame)
    str(sedsnet.unpack_packet(frame))


class Health:
    """Every HEALTH_EVERY frames: a fresh valid frame is still delivered here and forwarded by
    the Relay, nothing is stuck in a queue, and the heap has not shrunk past a floor."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.checks = 0
        self.failures = []
        self.serial = 0
        self.low_free = None
        gc.collect()
        self.base_alloc = _alloc()
        self.peak_growth = 0
        self.high_water = self.base_alloc  # the live heap after gc.collect(), at the checks
        # (frames, live heap, router's and relay's budget bytes in use) at every 25th check: the
        # heap follows the budgets as they fill, then stays flat
        self.trace = []
        self.slowest_ms = 0
        self.last_ms = _ms()

    def check(self):
        nd = self.nodes
        self.checks += 1
        self.serial += 1
        nd.t += 1
        frame = sedsnet.make_packet(GPS, "health", [RADIO, SD], 10 ** 9 + self.serial,
                                    bytes(12)).pack()
        before = nd.delivered
        try:
            nd.router.receive_packed_from_side(nd.r_in, frame)
            nd.router.periodic(0)
            if nd.delivered != before + 2:  # one call per handler (RADIO, SD)
                self._fail("router did not deliver a fresh frame to both handlers")
            rx = nd.relay.export_runtime_stats()["sides"][nd.l_in]["rx_packets"]
            nd.relay.rx_packed_from_side(nd.l_in, frame)
            nd.relay.periodic(0)
            if nd.relay.export_runtime_stats()["sides"][nd.l_in]["rx_packets"] != rx + 1:
                self._fail("relay did not take a fresh frame")
            for node in (nd.router, nd.relay):
                if node._busy or node._queued():
                    self._fail("a node is busy or has queued frames after periodic(0)")
            nd.router.export_memory_layout_json()
        except Exception as e:
            self._fail("health frame raised %s: %s" % (type(e).__name__, e))
        gc.collect()
        live = _alloc()
        growth = live - self.base_alloc
        if growth > self.peak_growth:
            self.peak_growth = growth
        if live > self.high_water:
            self.high_water = live
        if self.checks % 25 == 1:  # + the bytes the nodes hold in their queue budgets
            self.trace.append((self.checks * HEALTH_EVERY, live, nd.router._budget.used,
                               nd.relay._budget.used))
        now = _ms()
        if now - self.last_ms > self.slowest_ms:
            self.slowest_ms = now - self.last_ms
        self.last_ms = now

    def _fail(self, why):
        if len(self.failures) < _ESCAPES_KEPT:
            self.failures.append("check %d: %s" % (self.checks, why))


def _alloc():
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def _ms():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def main():
    per_path = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    verbose = "-v" in sys.argv[3:]
    schema()
    rnd = random.Random(seed) if hasattr(random, "Random") else random
    if rnd is random:
        random.seed(seed)
    nodes = Nodes()
    health = Health(nodes)
    bases = base_frames()
    router, relay = nodes.router, nodes.relay
    paths = (
        Tally("unpack_packet"),
        Tally("router_side"),
        Tally("router_side_queue"),
        Tally("router_local"),
        Tally("relay_side"),
    )
    fns = (
        _unpack,
        lambda f: router.receive_packed_from_side(nodes.r_in, f),
        lambda f: router.receive_packed_queue_from_side(nodes.r_in, f),
        router.receive_packed,
        lambda f: relay.rx_packed_from_side(nodes.l_in, f),
    )
    drain = Tally("queue_drain")
    nb = len(bases)
    for i in range(per_path):
        nodes.t += 1
        frame = mutate(bases[i % nb], rnd)
        for k in range(len(paths)):
            paths[k].run(fns[k], frame)
        if i % 16 == 15:
            drain.run(lambda f: router.periodic(0), b"")
            drain.run(lambda f: relay.periodic(0), b"")
        if i % HEALTH_EVERY == HEALTH_EVERY - 1:
            health.check()
            if verbose:
                sys.stderr.write("%d frames/path, escapes %d, heap %d B, high-water %d B\n" % (
                    i + 1, drain.escapes + sum(p.escapes for p in paths), _alloc(),
                    health.high_water))
    health.check()
    out = {"seed": seed, "per_path": per_path, "paths": [p.summary() for p in paths],
           "drain": drain.summary(), "health_checks": health.checks,
           "health_failures": health.failures, "str_failures": nodes.str_fail,
           "delivered": nodes.delivered, "heap_growth_peak": health.peak_growth,
           "heap_base": health.base_alloc, "heap_high_water": health.high_water,
           "heap_trace": health.trace, "slowest_chunk_ms": health.slowest_ms,
           "runtime": sys.implementation.name}
    escapes = drain.escapes + sum(p.escapes for p in paths)
    out["escapes"] = escapes
    print(json.dumps(out))
    if escapes or health.failures or nodes.str_fail:
        sys.exit(1)


main()
