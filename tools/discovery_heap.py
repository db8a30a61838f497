# Discovery heap per neighbour and per remote router, measured with gc.mem_alloc() under
# MicroPython, beside what the Announcer charges to max_queue_budget (memory_bytes()):
#   MICROPYPATH=lib ../shared/toolchain/micropython32 -X heapsize=4M tools/discovery_heap.py
# (run by host_tests/test_discovery_heap.py; the cost model in announce_table.py is for 32-bit heaps).
import gc
import sedsnet
from sedsnet.router import Router
from sedsnet import announce as an
from sedsnet.ids import node_address, source_address
from sedsnet.wire import frame_size, pack_into
# code that loads on first use (non-plain frames, routing choices, control frames): loaded before
# measuring, so the figures are state, not code
from sedsnet import control, paths, wire_parse  # noqa: F401

def frame(ty, host, pl):
    buf = bytearray(frame_size(0, ty, source_address(host), 0, 1, len(pl), -1, 0x84))
    pack_into(buf, ty, source_address(host), None, 0, 1, pl, None, 0x84)
    return buf

for i in range(40):
    sedsnet.register_endpoint(0x5000 + i, "HE%d" % i)
N = 16
r = Router(now_ms=lambda: 0, hostname="HEAP", max_discovery_peers=64)
for s in range(N):
    r.add_side_packed("s%d" % s, lambda f: None)
# prebuild frames
addr = []
topo = []
for i in range(N):
    h = "NEIGH%02d" % i
    addr.append(frame(17, h, an.address_payload(h, node_address(h), 1, 1, [0x5000 + i])))
    topo.append(frame(9, h, an.topology_full_payload([an.board(h, [0x5000 + i], [], ["HEAP"])])))
gc.collect()
m0 = gc.mem_alloc()
d0 = r.discovery.memory_bytes()
for i in range(N):
    r.receive_packed_from_side(i, addr[i])
    r.receive_packed_from_side(i, topo[i])
gc.collect()
m1 = gc.mem_alloc()
d1 = r.discovery.memory_bytes()
print("neighbour heap %d charged %d" % ((m1 - m0) // N, (d1 - d0) // N))
# remote routers: one neighbour on a fresh router, TOPOLOGY with K boards in a chain
K = 30
r2 = Router(now_ms=lambda: 0, hostname="HEAP2", max_discovery_peers=64)
r2.add_side_packed("s", lambda f: None)
boards = [an.board("FAR%02d" % k, [0x5000 + k], [], ["FAR%02d" % (k - 1) if k else "GW", "FAR%02d" % (k + 1)]) for k in range(K)]
t1 = frame(9, "GW", an.topology_full_payload([an.board("GW", [], [], ["HEAP2", "FAR00"])]))
tK = frame(9, "GW", an.topology_full_payload([an.board("GW", [], [], ["HEAP2", "FAR00"])] + boards))
r2.receive_packed_from_side(0, t1)
gc.collect()
m0 = gc.mem_alloc()
d0 = r2.discovery.memory_bytes()
r2.receive_packed_from_side(0, tK)
gc.collect()
m1 = gc.mem_alloc()
d1 = r2.discovery.memory_bytes()
print("remote_router heap %d charged %d" % ((m1 - m0) // K, (d1 - d0) // K))

