# Heap bytes allocated per packet (gc.mem_alloc() deltas over 1000 packets, gc.collect() first)
# for log_f32 -> tx, forwarding (Relay and Router), hop-ACKed receive and duplicate drops, with
# the viper kernels or their pure twins (what CircuitPython runs). Run under a MicroPython:
#   MICROPYPATH=lib micropython -X heapsize=8M tools/heap_per_packet.py [pure] [big|small] [epoch]
# big/small: a sender whose header address is >= 2**30 / < 2**30; epoch: timestamps ~1.77e12 ms.
import gc
import sys

import sedsnet
from sedsnet import _pure, ids, wire

N = 1000
HOSTS = {"big": ("A", "X"), "small": ("R", "P")}  # (our hostname, the peer's)


def use_pure():
    # every kernel name a module imported from _fast, replaced by its pure twin
    from sedsnet import engine, forward, isr, kernels, node, queues, recent, ring, router, router_log
    for mod in (wire, ids, recent, ring, node, router, engine, forward, isr, kernels, queues,
                router_log):
        for name, twin in (("crc32_check", "crc32_check"), ("crc32_write", "crc32_write"),
                           ("_pid_kernel", "pid_into"), ("_nonce_kernel", "nonce_next"),
                           ("_key_kernel", "key_into"), ("recent_seen", "recent_seen"),
                           ("copy_into", "copy_into"), ("_uleb_len_le", "uleb_len_le"),
                           ("_dup_key", "key_into"), ("_recent_seen", "recent_seen"),
                           ("_put_uleb_le", "put_uleb_le")):
            if hasattr(mod, name) and hasattr(_pure, twin):
                setattr(mod, name, getattr(_pure, twin))


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class Count:
    def __init__(self):
        self.n = 0

    def __call__(self, frame):
        self.n += 1


def per_packet(fn):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(N):
        fn(i)
    b = gc.mem_alloc()
    gc.enable()
    return (b - a) / N


def main():
    args = sys.argv[1:]
    if "pure" in args:
        use_pure()
    me, peer = HOSTS["small" if "small" in args else "big"]
    t0 = 1767225600000 if "epoch" in args else 1000
    sedsnet.register_endpoint(101, "RADIO")
    sedsnet.register_endpoint(102, "SD_CARD")
    sedsnet.register_data_type(3000, "GPS", True, 3, 1, 0, [101, 102], priority=80)
    sedsnet.register_data_type(3001, "LOW", True, 1, 1, 0, [101], priority=10)
    res = {}
    r = sedsnet.Router(hostname=me, now_ms=Clock(t0), discovery=False)
    r.add_side_packed("UART", Count())
    vals = [1.0, 2.0, 3.0]
    for i in range(50):
        r.log_f32(3000, vals)
    res["log_f32"] = per_packet(lambda i: r.log_f32(3000, vals))
    frames = [sedsnet.make_packet(3001, peer, [101], t0 + i, bytes(4)).pack()
              for i in range(N + 50)]
    rel = sedsnet.Relay(hostname=me, now_ms=Clock(t0), discovery=False)
    a = rel.add_side_packed("A", Count())
    rel.add_side_packed("B", Count())
    for i in range(50):
        rel.rx_packed_from_side(a, frames[N + i])
    res["relay_fwd"] = per_packet(lambda i: rel.rx_packed_from_side(a, frames[i]))
    res["duplicate"] = per_packet(lambda i: rel.rx_packed_from_side(a, frames[i]))
    ro = sedsnet.Router(hostname=me, now_ms=Clock(t0), discovery=False)
    s = ro.add_side_packed("A", Count())
    ro.add_side_packed("B", Count())
    for i in range(50):
        ro.receive_packed_from_side(s, frames[N + i])
    res["router_fwd"] = per_packet(lambda i: ro.receive_packed_from_side(s, frames[i]))
    rels = []
    buf = bytearray(64)
    for i in range(N + 50):
        n = wire.pack_into(buf, 3001, ids.source_address(peer), [101], t0 + i, 9, bytes(4),
                           None, 0x04, i + 1)
        rels.append(bytes(buf[:n]))
    ra = sedsnet.Router(hostname=me, now_ms=Clock(t0), discovery=False)
    s = ra.add_side_packed("REL", Count(), True)
    for i in range(50):
        ra.receive_packed_from_side(s, rels[N + i])
    res["hop_ack"] = per_packet(lambda i: ra.receive_packed_from_side(s, rels[i]))
    print("%s %s %s %s" % ("64-bit" if sys.maxsize > 1 << 40 else "32-bit", "pure" if "pure" in args else wire.KERNELS,
                           "big" if me == "A" else "small", "epoch" if t0 > 1 << 40 else "1000"))
    for k in ("log_f32", "relay_fwd", "router_fwd", "hop_ack", "duplicate"):
        print("  %-10s %8.1f B/packet" % (k, res[k]))


main()
