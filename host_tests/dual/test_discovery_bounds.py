# Discovery state stays bounded (issue 9): thousands of distinct announcers (ADDRESS, ANNOUNCE,
# TOPOLOGY) into a Router and a Relay: no exception, the tables stop at their maximum, the least
# recently heard announcer is evicted and counted, the bytes are charged to the queue budget, and
# routing still follows a recently heard announcer. Runs under CPython and MicroPython.
import gc
import json

import sedsnet
from sedsnet import announce as an
from sedsnet.relay import Relay
from sedsnet.router import Router
from sedsnet.ids import source_address
from sedsnet.wire import frame_size, pack_into
from support import Clock

EP_FAR = 3601  # announced by every sender on side 0
EP_NEAR = 3602  # announced on side 1 by the last sender only
TY = 3603  # dynamic u8 -> EP_NEAR
N = 5000


def setup():
    if not sedsnet.data_type_exists(TY):
        sedsnet.register_endpoint(EP_FAR, "BOUNDS_FAR")
        sedsnet.register_endpoint(EP_NEAR, "BOUNDS_NEAR")
        sedsnet.register_data_type(TY, "BOUNDS_T", False, 0, 2, 0, [EP_NEAR])


def _frame(ty, src, pl):
    buf = bytearray(frame_size(0, ty, src, 0, 1, len(pl), -1, 0x84))
    pack_into(buf, ty, src, None, 0, 1, pl, None, 0x84)
    return bytes(buf)


def _frames(i, eps):
    src = 0x10000 + i  # distinct senders (small ints: no hashing, fine on a 32-bit port)
    name = b"n%d" % i
    kind = i % 3
    if kind == 0:
        return [_frame(17, src, an.address_payload(name, src, 1, 1, eps))]
    if kind == 1:
        return [_frame(7, src, an.announce_payload(eps))]
    return [_frame(9, src, an.topology_full_payload([an.board(name, eps)]))]


def _flood(node, rx, clock, side, n, peak):
    for i in range(n):
        clock.t += 1  # every sender is heard later than the one before
        for f in _frames(i, [EP_FAR]):
            rx(side, f)
        if i % 500 == 0:
            node.periodic(0)
            if hasattr(gc, "mem_alloc"):  # MicroPython: the live heap stays flat
                gc.collect()
                if i == 1000:
                    peak[0] = gc.mem_alloc()
                elif i > 1000:
                    assert gc.mem_alloc() < peak[0] + 16384, (i, gc.mem_alloc(), peak[0])


def _check_bounded(cls):
    setup()
    clock = Clock()
    wires = ([], [])
    keep = [False]  # (frames are kept only at the end: a list of 5000 floods would grow)
    if cls is Router:
        node = Router(hostname="HUB", now_ms=clock)
        rx = node.receive_packed_from_side
    else:
        node = Relay(hostname="HUB", now_ms=clock)
        rx = node.rx_packed_from_side
    s0 = node.add_side_packed("far", lambda f: keep[0] and wires[0].append(bytes(f)))
    s1 = node.add_side_packed("near", lambda f: keep[0] and wires[1].append(bytes(f)))
    peak = [0]
    _flood(node, rx, clock, s0, N, peak)
    d = node.export_runtime_stats()["discovery"]
    assert d["announcers"] == d["max_announcers"] == 32, d
    assert d["evicted"] == N - 32, d
    assert d["boards"] <= d["max_boards"], d
    assert d["bytes"] > 0 and node._budget.used <= node._budget.total
    layout = json.loads(node.export_memory_layout_json())
    assert layout["discovery_bytes_used"] == d["bytes"], (layout, d)
    assert layout["shared_queue_bytes_used"] >= d["bytes"]
    # the most recent announcers are kept, the oldest went first
    kept = sorted(node.discovery.sides[s0][0])
    assert kept == [0x10000 + i for i in range(N - 32, N)], kept[:3]
    # a recently heard announcer on the other side: data for its endpoint goes there only
    clock.t += 1
    for f in _frames(N + 1, [EP_NEAR]):
        rx(s1, f)
    assert node.discovery.reachable(s1, EP_NEAR) and not node.discovery.reachable(s0, EP_NEAR)
    assert node.discovery.reachable(s0, EP_FAR)
    node.periodic(0)
    keep[0] = True
    if cls is Router:
        node.log_u8(TY, [1, 2])
        node.periodic(0)
        sent = [sedsnet.peek_header(f)["ty"] for f in wires[1]]
        assert TY in sent and TY not in [sedsnet.peek_header(f)["ty"] for f in wires[0]]
    else:
        rx(s0, sedsnet.make_packet(TY, "SRC", [EP_NEAR], 5, b"\x01\x02").pack())
        node.periodic(0)
        assert TY in [sedsnet.peek_header(f)["ty"] for f in wires[1]]
    return node


def test_router_discovery_stays_bounded_under_5000_announcers():
    _check_bounded(Router)


def test_relay_discovery_stays_bounded_under_5000_announcers():
    _check_bounded(Relay)


def test_the_peer_maximum_is_an_option_and_the_budget_bounds_it_too():
    setup()
    clock = Clock()
    node = Router(hostname="HUB", now_ms=clock, max_discovery_peers=4)
    s = node.add_side_packed("S", lambda f: None)
    _flood(node, node.receive_packed_from_side, clock, s, 50, [0])
    d = node.export_runtime_stats()["discovery"]
    assert d["announcers"] == 4 and d["evicted"] == 46 and d["max_boards"] == 4, d
    # a budget that holds fewer records than the maximum: evicts to stay inside it
    fixed = Router(hostname="X", now_ms=clock, discovery=False, starting_queue_size=128)._budget
    small = fixed.used + 700
    node = Router(hostname="HUB", now_ms=clock, max_queue_budget=small, starting_queue_size=128,
                  max_discovery_peers=64)
    s = node.add_side_packed("S", lambda f: None)
    big = [EP_FAR + 100 + k for k in range(20)]  # ~200 bytes a record
    for i in range(40):
        clock.t += 1
        node.receive_packed_from_side(s, _frame(7, 0x20000 + i, an.announce_payload(big)))
    d = node.export_runtime_stats()["discovery"]
    assert 0 < d["announcers"] < 10 and d["evicted"] == 40 - d["announcers"], d
    assert node._budget.used <= node._budget.total
    node.remove_side(s)  # its records give their bytes back
    assert node.export_runtime_stats()["discovery"]["announcers"] == 0
    assert node._budget.used <= fixed.used + 64 * 2  # (the rings; nothing of discovery)


def test_the_sender_name_cache_forgets_the_least_recently_used():
    from sedsnet import ids
    ids.forget_senders()
    for i in range(16):
        ids.remember_sender("s%d" % i, 100 + i)
    ids.remember_sender("s0", 100)  # used again: now the most recent
    ids.remember_sender("new", 500)
    assert ids.sender_name(100) == "s0" and ids.sender_name(500) == "new"
    assert ids.sender_name(101) == "@addr:101"  # the least recently used went
    assert len(ids._names) == 16
    ids.forget_senders()


def _topo(name, boards, delta=False):
    src = source_address(name)
    pl = an.topology_full_payload([an.board(b, [EP_FAR], [], c) for b, c in boards])
    return _frame(9, src, pl)


def test_delta_baselines_are_charged_and_a_full_budget_evicts_them_first():
    """TOLD/PEND/REACH (what each side was told, the running burst's view, the reachability
    counts) are charged to max_queue_budget like the records; with the budget spent they are
    dropped before any announcer (counted; that side then gets full snapshots)."""
    setup()
    clock = Clock()
    out = []
    node = Router(hostname="HUB", now_ms=clock, max_discovery_peers=64)
    s0 = node.add_side_packed("a", lambda f: None)
    s1 = node.add_side_packed("b", lambda f: out.append(bytes(f)))
    bud = node._budget
    used0, mem0 = bud.used, node.discovery.memory_bytes()
    far = [("F%02d" % k, ["NB"]) for k in range(20)]
    node.receive_packed_from_side(s0, _topo("NB", [("NB", ["HUB"] + [b for b, _ in far])] + far))
    for _ in range(20):  # the change's 3-round burst: side b is told the 21 boards
        clock.t += 50
        node.periodic(0)
    st = node.discovery.sides[s1]
    assert st[2] is not None and len(st[2]) == 22  # TOLD: ours + NB + 20
    paths = 48 * len(node.discovery._paths)
    assert bud.used - used0 == node.discovery.memory_bytes() - paths - mem0 > 22 * 16
    lay = json.loads(node.export_memory_layout_json())
    assert lay["discovery_bytes_used"] == node.discovery.memory_bytes()
    # the rest of the budget goes elsewhere (say the queues); a new neighbour arrives
    filler = bud.total - bud.used - 150  # (less than a new record needs)
    assert bud.take(filler)
    node.receive_packed_from_side(s1, _topo("NB2", [("NB2", ["HUB"])]))
    d = node.export_runtime_stats()["discovery"]
    assert d["baselines_evicted"] >= 1 and d["evicted"] == 0 and d["announcers"] == 2, d
    assert bud.used <= bud.total
    assert node.discovery.reachable(s0, EP_FAR) and node.discovery.reachable(s1, EP_FAR)
    # while the budget stays spent, announcements go out as full snapshots
    del out[:]
    for _ in range(20):
        clock.t += 50
        node.periodic(0)
    tops = [f for f in out if sedsnet.peek_header(f)["ty"] == 9]
    assert tops and bud.used <= bud.total
    bud.give(filler)
    node.receive_packed_from_side(s0, _topo("NB", [("NB", ["HUB", "F00"])] + far[:1]))
    for _ in range(20):
        clock.t += 50
        node.periodic(0)
    assert node.discovery.sides[s1][2] is not None  # room again: a baseline is kept
    assert bud.used - used0 == node.discovery.memory_bytes() - 48 * len(
        node.discovery._paths) - mem0
