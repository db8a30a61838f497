# Router and Relay (lib/sedsnet/router.py, relay.py, node.py) on in-process links: logging and
# local delivery, forwarding, duplicate suppression, queues and the budget, route rules and
# modes, bad input, handler failures, re-entrant links, and the zero-allocation hot paths.
import struct

import sedsnet
from sedsnet import errors
from sedsnet.engine import DROP_NAMES
from sedsnet.relay import Relay
from sedsnet.router import Router
from support import Clock, Reach, Tally, micropython_only, raises

RADIO = 101
SD = 102
GPS = 3000  # static f32 x3 -> RADIO, SD; priority 80
LOW = 3001  # static f32 x1 -> RADIO; priority 10
TEXT = 3002  # dynamic String -> SD
COUNTS = 3003  # dynamic u16 -> RADIO


def setup():
    if sedsnet.data_type_exists(GPS):
        return
    sedsnet.register_endpoint(RADIO, "RADIO")
    sedsnet.register_endpoint(SD, "SD_CARD")
    sedsnet.register_data_type(GPS, "GPS", True, 3, 1, 0, [RADIO, SD], priority=80)
    sedsnet.register_data_type(LOW, "LOW", True, 1, 1, 0, [RADIO], priority=10)
    sedsnet.register_data_type(TEXT, "TEXT", False, 0, 13, 0, [SD])
    sedsnet.register_data_type(COUNTS, "COUNTS", False, 0, 3, 0, [RADIO])


class Wire:
    """Frames a side sends, kept as bytes (tx gets a view valid only during the call)."""

    def __init__(self):
        self.frames = []

    def __call__(self, frame):
        self.frames.append(bytes(frame))


def router(name, eps=(), clock=None, **kw):
    got = []
    handlers = [(e, got.append, None) for e in eps]
    r = Router(handlers=handlers, hostname=name, now_ms=clock or Clock(), discovery=False, **kw)
    return r, got


def link(a, b):
    """Join two nodes with a synchronous in-process link; returns (side on a, side on b)."""
    ids = [0, 0]
    ids[0] = a.add_side_packed("to-" + b.hostname, lambda f: _rx(b, ids[1], f))
    ids[1] = b.add_side_packed("to-" + a.hostname, lambda f: _rx(a, ids[0], f))
    return ids


def _rx(node, side, frame):
    if isinstance(node, Relay):
        node.rx_packed_from_side(side, bytes(frame))
    else:
        node.receive_packed_from_side(side, bytes(frame))


def test_log_reaches_local_and_remote_handlers_with_identical_fields():
    setup()
    a, got_a = router("A", [SD])
    b, got_b = router("B", [RADIO])
    link(a, b)
    a.log_f32(GPS, [1.0, 2.0, 3.0], timestamp_ms=1234)
    assert len(got_a) == 1 and len(got_b) == 1
    pa, pb = got_a[0], got_b[0]
    for p in (pa, pb):
        assert p.ty == GPS and p.sender == "A" and p.timestamp_ms == 1234
        assert p.data_as_f32() == [1.0, 2.0, 3.0] and sorted(p.endpoints) == [RADIO, SD]
    assert pa.pack() == pb.pack()  # same nonce, same bytes


def test_frames_are_what_make_packet_packs():
    setup()
    a, _ = router("A")
    wire = Wire()
    a.add_side_packed("W", wire)
    a.log_f32(GPS, [1.5, -2.0, 0.25], timestamp_ms=77)
    p = sedsnet.unpack_packet(wire.frames[0])
    assert p.sender == "A" and p.pack() == wire.frames[0]
    assert wire.frames[0][0] == 0x88  # nonce + explicit endpoint list, as 4.2.7 routers send


def test_typed_helpers_follow_the_reference_rules():
    setup()
    a, got = router("A", [RADIO, SD])
    a.log_f32(GPS, [1.0])  # static: zero-padded
    assert got[-1].data_as_f32() == [1.0, 0.0, 0.0]
    a.log_f32(GPS, [1.0, 2.0, 3.0, 4.0])  # static: cut
    assert got[-1].data_as_f32() == [1.0, 2.0, 3.0]
    a.log_u16(COUNTS, [1, 65535])
    assert got[-1].data_as_u16() == [1, 65535]
    a.log_string(TEXT, "héllo")
    assert got[-1].data_as_string() == "héllo"
    a.log(GPS, [1, 2, 3], 1, 0)  # raw bytes, padded to the static size
    assert got[-1].payload == bytes([1, 2, 3]) + bytes(9)
    a.log(COUNTS, b"\x01\x00\x02\x00", 2, 0)  # (4.2.7: the data is the payload's bytes)
    assert got[-1].data_as_u16() == [1, 2]
    a.log(COUNTS, [1, 2, 3, 4], 2, 0)
    assert got[-1].payload == bytes([1, 2, 3, 4])
    a.log(COUNTS, "ab", 2, 0)  # a str is its UTF-8
    assert got[-1].payload == b"ab"
    a.log(GPS, bytes(10), 4, 0)  # static: padded to 12 first, then checked against elem_size
    assert got[-1].payload == bytes(12)
    raises(errors.ArgumentError, a.log, GPS, bytes(16), 8, 0)  # cut to 12: not a multiple of 8
    raises(errors.ArgumentError, a.log, COUNTS, [1, 2], 4, 0)  # not a multiple of elem_size
    raises(errors.ArgumentError, a.log, COUNTS, [1, 300], 1, 0)
    a.log_bytes(COUNTS, b"\x01\x00")
    assert got[-1].data_as_u16() == [1]
    a.log_f32(COUNTS, [1.0])  # 4.2.7: log() of the float32 bytes, element type unchecked
    assert got[-1].payload == struct.pack("<f", 1.0)
    raises(errors.ArgumentError, a.log_u16, COUNTS, [70000])
    raises(errors.ArgumentError, a.log_bytes, COUNTS, b"\x01\x02\x03")  # SizeMismatch
    raises(errors.ArgumentError, a.log_bytes, TEXT, b"\xff")  # InvalidUtf8
    raises(errors.ArgumentError, a.log, GPS, [1], 3, 0)
    raises(errors.ArgumentError, a.log, GPS, [1], 2, 2)
    raises(errors.UnknownTypeError, a.log_f32, 9999, [1.0])
    raises(errors.ArgumentError, a.log_f32, GPS, [1.0], -5)
    assert len(got) == 15  # GPS frames reach both handlers (RADIO and SD)


def test_duplicates_die_and_are_counted():
    setup()
    a, got = router("A", [RADIO])
    s0 = a.add_side_packed("S0", Wire())
    s1 = a.add_side_packed("S1", Wire())
    frame = sedsnet.make_packet(LOW, "X", [RADIO], 5, struct.pack("<f", 1.0)).pack()
    a.receive_packed_from_side(s0, frame)
    a.receive_packed_from_side(s1, frame)
    a.receive_packed_from_side(s0, frame)
    assert len(got) == 1
    sides = a.export_runtime_stats()["sides"]
    assert sides[0]["drops"]["duplicate"] == 1 and sides[1]["drops"]["duplicate"] == 1
    assert sides[0]["rx_packets"] == 2 and sides[0]["local_delivery_packets"] == 1


def test_bad_frames_are_dropped_counted_and_lose_nothing_queued():
    setup()
    a, got = router("A", [RADIO])
    s = a.add_side_packed("S", Wire())
    good = [sedsnet.make_packet(LOW, "X", [RADIO], i, struct.pack("<f", i)).pack()
            for i in range(3)]
    a.receive_packed_queue_from_side(s, good[0])
    bad = bytearray(good[1])
    bad[5] ^= 1
    raises(errors.DecodeError, a.receive_packed_from_side, s, bytes(bad))
    raises(errors.DecodeError, a.receive_packed_from_side, s, b"")
    raises(errors.DecodeError, a.receive_packed_from_side, s, b"\x00" * 40)
    unknown = sedsnet.make_packet(LOW, "X", [RADIO], 9, bytes(4)).pack()
    unknown = unknown[:2] + b"\x05" + unknown[3:]  # type 3001 -> 5 (ULEB byte 0)
    raises(errors.DecodeError, a.receive_packed_from_side, s, unknown)
    a.receive_packed_queue_from_side(s, bytes(bad))  # counted when processed, not raised
    a.receive_packed_queue_from_side(s, good[2])
    a.process_all_queues()
    assert [p.timestamp_ms for p in got] == [0, 2]
    drops = a.export_runtime_stats()["sides"][0]["drops"]
    assert drops["decode"] == 5 and sorted(drops) == sorted(DROP_NAMES)
    a.receive_packed_from_side(s, good[1])
    assert [p.timestamp_ms for p in got] == [0, 2, 1]


def test_every_truncation_and_bit_flip_is_a_seds_error():
    setup()
    a, got = router("A", [RADIO])
    s = a.add_side_packed("S", Wire())
    frame = sedsnet.make_packet(GPS, "X", [RADIO], 123456, bytes(range(12))).pack()
    for cut in range(len(frame)):
        raises(errors.SedsError, a.receive_packed_from_side, s, frame[:cut])
    for bit in range(8 * len(frame)):
        f = bytearray(frame)
        f[bit >> 3] ^= 1 << (bit & 7)
        raises(errors.SedsError, a.receive_packed_from_side, s, bytes(f))
    a.receive_packed_from_side(s, frame)
    assert len(got) == 1


def test_relays_in_a_ring_deliver_exactly_once():
    setup()
    clock = Clock()
    a, got_a = router("A", [SD], clock)
    b, got_b = router("B", [RADIO], clock)
    relays = [Relay(hostname="R%d" % i, now_ms=clock, discovery=False) for i in range(3)]
    ring = [a, relays[0], relays[1], b, relays[2]]
    for i in range(5):
        link(ring[i], ring[(i + 1) % 5])
    a.log_f32(GPS, [1.0, 2.0, 3.0])
    b.log_f32(GPS, [4.0, 5.0, 6.0])
    assert [p.data_as_f32()[0] for p in got_a] == [1.0, 4.0]
    assert [p.data_as_f32()[0] for p in got_b] == [1.0, 4.0]
    dups = sum(s["drops"]["duplicate"] for r in relays for s in r.export_runtime_stats()["sides"])
    assert dups > 0  # the ring brought frames back around; the ID cache stopped them


def test_route_rules_with_flooding():
    setup()
    a, _ = router("A")
    wires = [Wire() for _ in range(3)]
    for i, w in enumerate(wires):
        a.add_side_packed("S%d" % i, w)

    def sent():
        out = [len(w.frames) for w in wires]
        for w in wires:
            w.frames.clear()
        return out

    a.log_f32(LOW, [1.0])
    assert sent() == [1, 1, 1]
    a.set_route(None, 1, False)
    a.log_f32(LOW, [1.0])
    assert sent() == [1, 0, 1]
    a.set_typed_route(None, LOW, 0, False)
    a.log_f32(LOW, [1.0])  # a typed rule allows only the sides it enables (as 4.2.7): none
    a.log_f32(GPS, [1.0])
    assert sent() == [1, 0, 1]
    a.set_typed_route(None, LOW, 2, True)
    a.log_f32(LOW, [1.0])
    assert sent() == [0, 0, 1]
    a.set_side_egress_enabled(2, False)
    a.log_f32(GPS, [1.0])
    assert sent() == [1, 0, 0]
    a.clear_route(None, 1)
    a.clear_typed_route(None, LOW, 0)
    a.set_side_egress_enabled(2, True)
    frame = sedsnet.make_packet(LOW, "X", [RADIO], 1, bytes(4)).pack()
    a.set_side_ingress_enabled(0, False)
    raises(errors.ArgumentError, a.receive_packed_from_side, 0, frame)
    a.set_side_ingress_enabled(0, True)
    a.set_route(0, 2, False)
    a.receive_packed_from_side(0, frame)
    assert sent() == [0, 1, 0]
    stats = a.export_runtime_stats()
    assert stats["route_overrides"] == [{"src_side_id": 0, "dst_side_id": 2, "enabled": False}]
    assert stats["sides"][1]["relayed_tx_packets"] == 1
    assert stats["sides"][0]["relayed_rx_packets"] == 1


def test_discovered_paths_pick_one_side_per_endpoint_unless_fanout():
    setup()
    a, got = router("A", [SD])
    wires = [Wire() for _ in range(3)]
    for i, w in enumerate(wires):
        a.add_side_packed("S%d" % i, w)
    a.discovery = Reach({0: [RADIO], 1: [RADIO], 2: [SD]})

    def sent():
        out = [len(w.frames) for w in wires]
        for w in wires:
            w.frames.clear()
        return out

    # SD is held here and still draws a copy to side 2 (as 4.2.7); RADIO goes to one of 0, 1
    a.log_f32(GPS, [1.0])
    assert sent() in ([1, 0, 1], [0, 1, 1]) and len(got) == 1
    a.set_source_route_mode(None, 0)
    a.log_f32(GPS, [1.0])
    assert sent() == [1, 1, 1]
    a.set_source_route_mode(None, 2)
    a.set_route_priority(None, 0, 5)
    a.set_route_priority(None, 1, 1)
    a.log_f32(LOW, [1.0])
    assert sent() == [0, 1, 0]
    a.set_source_route_mode(None, 1)
    a.set_route_weight(None, 1, 0)
    a.log_f32(LOW, [1.0])
    a.log_f32(LOW, [1.0])
    assert sent() == [2, 0, 0]
    raises(errors.ArgumentError, a.set_source_route_mode, None, 3)
    raises(errors.ArgumentError, a.set_route, None, 7, False)
    raises(errors.ArgumentError, a.set_route_weight, None, 0, -1)


def test_unannounced_endpoints_go_where_4_2_7_sends_them():
    # host_tests/test_route_choice_parity.py: a Relay with one way out (after egress and
    # set_route) keeps sending there once anything is announced, a Router does not; an
    # endpoint nobody announced goes to every allowed side when the source side has
    # set_route rules, to the sides a typed rule enables when it has one, else nowhere
    setup()
    frame = sedsnet.make_packet(LOW, "X", [RADIO], 1, bytes(4)).pack()
    cases = [  # (relay?, sides, reachable per side, rules, sides the frame from 0 goes to)
        (True, 2, {}, (), [0, 1]),
        (True, 2, {1: [999]}, (), [0, 1]),
        (False, 2, {}, (), [0, 1]),
        (False, 2, {1: [999]}, (), [0, 0]),
        (True, 3, {1: [999]}, (), [0, 0, 0]),
        (True, 3, {1: [999]}, (("egress", 2),), [0, 1, 0]),
        (False, 3, {1: [999]}, (("egress", 2),), [0, 0, 0]),
        (False, 3, {1: [999]}, (("route", 2, False),), [0, 1, 0]),
        (True, 3, {2: [RADIO]}, (("route", 1, True),), [0, 0, 1]),
        (False, 3, {1: [999]}, (("route", 1, True),), [0, 1, 1]),
        (False, 4, {3: [999]}, (("route", 3, False),), [0, 1, 1, 0]),
        (False, 3, {1: [999]}, (("typed", 1, True),), [0, 1, 0]),
        (False, 3, {2: [RADIO]}, (("typed", 1, True),), [0, 1, 0]),
        (True, 2, {}, (("typed", 1, False),), [0, 0]),
        (False, 3, {}, (("typed", 2, False),), [0, 0, 0]),  # typed rules are not "one way"
        (False, 3, {1: [999]}, (("weight", 1, 3),), [0, 0, 0]),
    ]
    for relay, n, reach, rules, want in cases:
        if relay:
            a = Relay(hostname="R", now_ms=Clock(), discovery=False)
        else:
            a = router("A")[0]
        wires = [Wire() for _ in range(n)]
        for i, w in enumerate(wires):
            a.add_side_packed("S%d" % i, w)
        a.discovery = Reach(reach)
        for r in rules:
            if r[0] == "egress":
                a.set_side_egress_enabled(r[1], False)
            elif r[0] == "route":
                a.set_route(0, r[1], r[2])
            elif r[0] == "typed":
                a.set_typed_route(0, LOW, r[1], r[2])
            else:
                a.set_route_weight(0, r[1], r[2])
        if relay:
            a.rx_packed_from_side(0, frame)
        else:
            a.receive_packed_from_side(0, frame)
        assert [len(w.frames) for w in wires] == want, (relay, n, reach, rules)


def test_partly_local_types_are_delivered_and_forwarded():
    # 4.2.7 (test_reference_router_facts::test_partly_local_types_go_where_any_endpoint_is_
    # reachable): all endpoints held -> not forwarded; otherwise towards every side where any
    # endpoint is reachable, the held ones included
    setup()
    cases = [  # (local handlers, reachable per side, sides GPS goes to)
        ((SD,), {0: [SD]}, [1, 0]),  # the seed's case: RADIO nowhere, SD held and behind 0
        ((SD,), {0: [SD], 1: [RADIO]}, [1, 1]),
        ((RADIO,), {0: [SD], 1: [RADIO]}, [1, 1]),
        ((), {0: [SD], 1: [RADIO]}, [1, 1]),
        ((RADIO, SD), {0: [SD], 1: [RADIO]}, [0, 0]),
        ((SD,), {0: [999], 1: [999]}, [0, 0]),
    ]
    for local, reach, want in cases:
        a, got = router("A", local)
        wires = [Wire(), Wire()]
        for i, w in enumerate(wires):
            a.add_side_packed("S%d" % i, w)
        a.discovery = Reach(reach)
        a.log_f32(GPS, [1.0, 2.0, 3.0])
        assert [len(w.frames) for w in wires] == want, (local, reach)
        assert len(got) == len(local)


def test_queued_tx_goes_out_by_priority():
    setup()
    a, _ = router("A")
    wire = Wire()
    a.add_side_packed("W", wire)
    a.log_f32(LOW, [1.0], queue=True)
    a.log_f32(GPS, [2.0], queue=True)
    a.log_f32(LOW, [3.0], queue=True)
    assert wire.frames == []
    assert a.process_all_queues() == 3
    tys = [sedsnet.unpack_packet(f).ty for f in wire.frames]
    assert tys == [GPS, LOW, LOW]
    assert [sedsnet.unpack_packet(f).data_as_f32()[0] for f in wire.frames[1:]] == [1.0, 3.0]


def test_budget_full_evicts_oldest_never_raises():
    setup()
    wire = Wire()
    kw = {"hostname": "A", "now_ms": Clock(), "discovery": False, "max_recent_rx_ids": 16,
          "starting_queue_size": 128}
    fixed = Router(**kw)._budget.used  # ID cache, schema (other tests add types) and 3 rings
    a = Router(max_queue_budget=fixed + 516, **kw)
    a.add_side_packed("S", wire)
    for i in range(60):
        a.log_f32(LOW, [float(i)], timestamp_ms=i, queue=True)  # grows, then evicts
    assert a._tx.cap > 128 and a._budget.used <= fixed + 516
    ev = a._tx.evicted
    assert ev > 0
    a.process_all_queues()
    assert [sedsnet.unpack_packet(f).timestamp_ms for f in wire.frames] == list(range(ev, 60))
    layout = a.export_memory_layout_json()
    for key in ("shared_queue_bytes_used", "rx_queue_bytes_allocated", "recent_rx_bytes_allocated",
                "schema_bytes_used", "discovery_bytes_used", "network_variable_cache_len"):
        assert ('"%s"' % key) in layout
    raises(errors.ArgumentError, Router, max_queue_budget=100, discovery=False)


def test_queued_receive_drops_the_newest_when_full_and_grows_nothing():
    setup()
    a, got = router("A", [RADIO], starting_queue_size=128)
    s = a.add_side_packed("S", Wire())
    frames = [sedsnet.make_packet(LOW, "X", [RADIO], i, bytes(4)).pack() for i in range(40)]
    kept = []
    dropped = []
    for i, f in enumerate(frames):
        a.receive_packed_queue_from_side(s, f)
        n = a.export_runtime_stats()["sides"][0]["drops"]["isr_full"]
        (dropped if n > len(dropped) else kept).append(i)
    a.process_all_queues()
    assert dropped and kept[:4] == [0, 1, 2, 3] and a._isr.cap == 128
    assert [p.timestamp_ms for p in got] == kept
    for i in dropped:  # room again after processing
        a.receive_packed_queue_from_side(s, frames[i])
        a.process_all_queues()
    assert sorted(p.timestamp_ms for p in got) == list(range(40))


def test_handler_failures_are_counted_and_the_router_goes_on():
    setup()
    seen = []

    def bad(pkt):
        raise ValueError("boom")

    a = Router(handlers=[(RADIO, bad, None), (RADIO, seen.append, None)], hostname="A",
               now_ms=Clock(), discovery=False)
    wire = Wire()
    a.add_side_packed("W", wire)
    a.log_f32(GPS, [1.0])  # RADIO is held here; SD goes out
    a.log_f32(GPS, [2.0])
    assert len(seen) == 2 and len(wire.frames) == 2
    assert a.export_runtime_stats()["total_handler_failures"] == 2

    def bad_tx(frame):
        raise OSError("link down")

    a.add_side_packed("BAD", bad_tx)
    a.log_f32(GPS, [3.0])
    assert len(wire.frames) == 3
    assert a.export_runtime_stats()["sides"][1]["tx_handler_failures"] == 1


def test_reentrant_handlers_and_links_only_queue():
    setup()
    clock = Clock()
    b, got_b = router("B", [SD], clock)
    echoes = []

    def echo(pkt):  # a handler that logs from inside delivery
        echoes.append(pkt)
        if len(echoes) < 3:
            a.log_f32(LOW, [float(len(echoes))])

    a = Router(handlers=[(RADIO, echo, None)], hostname="A", now_ms=clock, discovery=False)
    link(a, b)
    a.log_f32(LOW, [0.0])
    assert [p.data_as_f32()[0] for p in echoes] == [0.0, 1.0, 2.0]
    b.log_f32(GPS, [9.0])  # reaches A's RADIO handler, which logs again
    assert len(echoes) == 4 and len(got_b) == 1


def test_side_ids_and_argument_errors():
    setup()
    a, _ = router("A")
    assert a.add_side_packed("x", Wire()) == 0 and a.add_side_packed("y", Wire()) == 1
    a.remove_side(0)
    assert a.add_side_packed("z", Wire()) == 0  # the lowest free ID again, as the reference
    raises(errors.ArgumentError, a.remove_side, 5)
    raises(errors.ArgumentError, a.add_side_packed, "n", None)
    raises(errors.ArgumentError, a.receive_packed_from_side, 9, b"")
    raises(errors.ArgumentError, Router, handlers=[(201, print, None)])
    raises(errors.ArgumentError, Router, handlers=[("x", print, None)])
    raises(errors.ArgumentError, Router, handlers=[(RADIO,)])
    raises(errors.ArgumentError, a.transmit_message, b"not a packet")
    raises(errors.DecodeError, a.transmit_packed_message, b"\x00" * 12)
    assert Router(discovery=False).sender_id == "TEST_PLATFORM"
    assert Relay(discovery=False).sender_id == "RELAY"
    a.set_sender_id("BOB")
    assert a.sender_id == "BOB" and a.current_address == sedsnet.ids.node_address("BOB")


def test_transmit_and_packet_sides():
    setup()
    a, got = router("A", [RADIO])
    pkts = []
    a.add_side_packet("P", pkts.append)
    pkt = sedsnet.make_packet(LOW, "Q", [RADIO], 9, struct.pack("<f", 4.0))
    a.transmit_message(pkt)
    a.transmit_message(pkt)  # local sends are never suppressed as duplicates
    a.transmit_packed_message_queue(sedsnet.make_packet(LOW, "Q", [RADIO], 10, bytes(4)).pack())
    a.process_all_queues()
    assert [p.timestamp_ms for p in got] == [9, 9, 10]
    assert pkts == []  # RADIO is held here, so nothing goes out (as the reference)
    a.add_side_packet("P2", pkts.append)
    a.transmit_message(sedsnet.make_packet(GPS, "Q", [RADIO, SD], 9, struct.pack("<f", 4.0)))
    assert [p.sender for p in pkts] == ["Q", "Q"] and pkts[0].data_as_f32()[0] == 4.0
    b, got_b = router("B", [RADIO])
    s = b.add_side_packet("P", Wire())
    b.receive_packet_from_side(s, pkt)
    assert got_b[0].pack() == pkt.pack()


def _heap_locked(fn, n):
    # fn(0..n-1) with the heap locked under MicroPython (any allocation raises MemoryError);
    # CPython has no heap lock, so there the same calls run and only the results are checked
    try:
        from micropython import heap_lock, heap_unlock
    except ImportError:
        heap_lock = heap_unlock = None
    if heap_lock is not None:
        heap_lock()
    try:
        for i in range(n):
            fn(i)
    finally:
        if heap_unlock is not None:
            heap_unlock()


# On 32-bit boards (RP2040, ESP32, STM32) ints of 2**30 or more are heap objects: the hot paths
# must not allocate whatever the sender address (a u32 hash) or the timestamp. "A", "X": header
# addresses >= 2**30; "R", "P": below (test_zero_allocation_cases_cover_both_address_ranges).
HOSTS = (("A", "X"), ("R", "P"))  # (this node, its peer)
STAMPS = (1000, (1 << 30) - 1, 1 << 30, 1767225600000)  # ms; the last one is epoch time


def test_zero_allocation_cases_cover_both_address_ranges():
    from sedsnet import ids
    for me, peer in HOSTS:
        big = ids.source_address(me) >= 1 << 30
        assert big == (me == "A") and (ids.source_address(peer) >= 1 << 30) == big


@micropython_only("heap_lock exists only under MicroPython")
def test_log_f32_to_tx_allocates_nothing():
    setup()
    for me, _ in HOSTS:
        for ts in STAMPS:
            sent = [0, 0]

            def tx(frame):
                sent[0] += 1
                sent[1] += frame[-1]  # reads the frame (its last CRC byte)

            clock = Clock()
            clock.t = ts
            a = Router(hostname=me, now_ms=clock, discovery=False)
            a.add_side_packed("UART", tx)
            got = Wire()
            a.add_side_packed("COPY", got)
            vals = [1.0, 2.0, 3.0]
            a.log_f32(GPS, vals)  # warm-up: view cache, lazy state
            _heap_locked(lambda i: a.log_f32(GPS, vals), 200)
            assert sent[0] == 201 and sent[1] > 0
            p = sedsnet.unpack_packet(got.frames[-1])
            assert p.timestamp_ms == ts and p.sender == me and p.data_as_f32() == vals


def _frames(peer, ts, n, ty=LOW, ep=RADIO):
    return [sedsnet.make_packet(ty, peer, [ep], ts + i, bytes(4)).pack() for i in range(n)]


@micropython_only("heap_lock exists only under MicroPython")
def test_forwarding_allocates_nothing():
    setup()
    for me, peer in HOSTS:
        for ts in STAMPS:
            frames = _frames(peer, ts, 61)
            for node in (Relay(hostname=me, now_ms=Clock(), discovery=False,
                               max_recent_rx_ids=32),
                         Router(handlers=[(SD, Wire(), None)], hostname=me, now_ms=Clock(),
                                discovery=False, max_recent_rx_ids=32)):
                out = Tally()
                node.add_side_packed("IN", Wire())
                node.add_side_packed("OUT", out)
                rx = node.rx_packed_from_side if isinstance(node, Relay) \
                    else node.receive_packed_from_side
                rx(0, frames[60])
                _heap_locked(lambda i: rx(0, frames[i]), 60)
                assert [out.n, out.sig] == out.expect(frames)


def test_duplicates_are_dropped_without_allocating():
    setup()
    for me, peer in HOSTS:
        for ts in STAMPS:
            out = Tally()
            relay = Relay(hostname=me, now_ms=Clock(), discovery=False, max_recent_rx_ids=64)
            relay.add_side_packed("IN", Wire())
            relay.add_side_packed("OUT", out)
            frames = _frames(peer, ts, 40)
            for f in frames:
                relay.rx_packed_from_side(0, f)
            _heap_locked(lambda i: relay.rx_packed_from_side(0, frames[i]), 40)
            drops = relay.export_runtime_stats()["sides"][0]["drops"]
            assert [out.n, out.sig] == out.expect(frames) and drops["duplicate"] == 40


@micropython_only("heap_lock exists only under MicroPython")
def test_queued_receive_is_irq_safe():
    setup()
    for _, peer in HOSTS:
        for ts in (0, 1767225600000):
            got = []
            a = Router(handlers=[(RADIO, got.append, None)], hostname="A", now_ms=Clock(),
                       discovery=False, starting_queue_size=512)
            s = a.add_side_packed("UART", Wire())
            frames = _frames(peer, ts, 40)
            _heap_locked(lambda i: a.receive_packed_queue_from_side(s, frames[i]), 40)  # fills
            dropped = a.export_runtime_stats()["sides"][0]["drops"]["isr_full"]
            assert dropped > 0
            a.process_all_queues()
            assert len(got) == 40 - dropped
            assert [p.timestamp_ms for p in got][:4] == [ts, ts + 1, ts + 2, ts + 3]


@micropython_only("heap_lock exists only under MicroPython")
def test_queued_local_frames_are_irq_safe_and_a_full_ring_counts():
    setup()
    for _, peer in HOSTS:
        for ts in (0, 1767225600000):
            got = []
            a = Router(handlers=[(RADIO, got.append, None)], hostname="A", now_ms=Clock(),
                       discovery=False, starting_queue_size=256)
            frames = _frames(peer, ts, 20)
            _heap_locked(lambda i: a.receive_packed_queue(frames[i]), 20)  # no raise when full
            dropped = a._local_rx_dropped
            assert dropped > 0
            a.process_all_queues()
            assert len(got) == 20 - dropped and got[0].timestamp_ms == ts


@micropython_only("heap_lock exists only under MicroPython")
def test_periodic_between_announcements_allocates_nothing():
    setup()
    clock = Clock()
    a = Router(hostname="A", now_ms=clock)  # discovery on
    a.add_side_packed("UART", Wire())
    for _ in range(40):  # the start-up announcement burst
        clock.t += 50
        a.periodic(0)
    _heap_locked(lambda i: a.periodic(0), 100)


def test_unknown_types_are_forwarded_but_not_for_local_handlers():
    setup()
    from sedsnet.wire import pack_into
    buf = bytearray(64)
    n = pack_into(buf, 7777, 1234, [RADIO], 5, 7, b"\x01\x02\x03")
    frame = bytes(buf[:n])
    relay = Relay(hostname="R", now_ms=Clock(), discovery=False)
    out = Wire()
    relay.add_side_packed("A", Wire())
    relay.add_side_packed("B", out)
    relay.rx_packed_from_side(0, frame)
    assert out.frames == [frame]  # as 4.2.7: a type we do not know is passed on unchecked
    a, got = router("A", [RADIO])
    out = Wire()
    a.add_side_packed("A", Wire())
    a.add_side_packed("B", out)
    raises(errors.UnknownTypeError, a.receive_packed_from_side, 0, frame)
    assert got == [] and out.frames == []
    assert a.export_runtime_stats()["sides"][0]["drops"]["unknown_type"] == 1


def test_error_frames_stop_at_the_first_router():
    setup()
    from sedsnet.wire import pack_into
    buf = bytearray(64)
    n = pack_into(buf, 0, 1234, None, 5, 7, b"boom")  # SEDSNET_ERROR, schema-default endpoint
    relay = Relay(hostname="R", now_ms=Clock(), discovery=False)
    out = Wire()
    relay.add_side_packed("A", Wire())
    relay.add_side_packed("B", out)
    relay.rx_packed_from_side(0, bytes(buf[:n]))
    assert out.frames == []


@micropython_only("heap_lock exists only under MicroPython")
def test_hop_acks_on_reliable_sides_allocate_nothing():
    setup()
    from sedsnet import ids
    from sedsnet.wire import pack_into
    rlow = 3009  # LOW, but reliable=2: 4.2.7 ACKs no frame of a type its schema calls plain
    if not sedsnet.data_type_exists(rlow):
        sedsnet.register_data_type(rlow, "RLOW", True, 1, 1, 0, [RADIO], reliable=2)
    for me, peer in HOSTS:
        for ts in STAMPS:
            acks = [0, 0]

            def tx(frame):
                if frame[0] == 0x08:  # RELIABLE_ACK: flags 08, no header
                    acks[0] += 1
                    acks[1] += frame[-8]  # the low byte of the acknowledged seq

            clock = Clock()
            clock.t = ts
            a = Router(hostname=me, now_ms=clock, discovery=False)
            s = a.add_side_packed("REL", tx, True)
            frames = []
            for i in range(42):
                buf = bytearray(64)
                n = pack_into(buf, rlow, ids.source_address(peer), [RADIO], ts + i, 9, bytes(4),
                              None, 0x06, i + 1)  # "06 <seq>"
                frames.append(bytes(buf[:n]))
            a.receive_packed_from_side(s, frames[40])
            _heap_locked(lambda i: a.receive_packed_from_side(s, frames[i]), 40)
            assert acks == [41, 41 + 40 * 41 // 2]
            wire = Wire()
            a.sides[s].tx = wire
            a.receive_packed_from_side(s, frames[41])
            ack = sedsnet.unpack_packet(wire.frames[0])
            assert ack.ty == 1 and ack.sender == me and ack.timestamp_ms == ts
            assert struct.unpack("<II", ack.payload) == (rlow, 42)


def test_periodic_zero_empties_the_queues():
    setup()
    a, got = router("A", [RADIO])
    s = a.add_side_packed("S", Wire())
    for i in range(5):
        a.receive_packed_queue_from_side(s, sedsnet.make_packet(LOW, "X", [RADIO], i,
                                                                bytes(4)).pack())
    assert a.periodic(0) == 5 and len(got) == 5  # as 4.2.7: 0 = no time limit


def test_queued_tx_grows_for_a_big_frame():
    setup()
    a, _ = router("A", starting_queue_size=256)
    wire = Wire()
    a.add_side_packed("W", wire)
    a.log_string(TEXT, "x" * 1400, queue=True)  # bigger than the ring it starts with
    a.transmit_packed_message_queue(sedsnet.make_packet(TEXT, "Q", [SD], 1, b"y" * 1300).pack())
    a.process_all_queues()
    assert [len(sedsnet.unpack_packet(f).payload) for f in wire.frames] == [1400, 1300]


def test_callbacks_cannot_corrupt_the_frame_in_flight():
    setup()
    out = Wire()
    calls = []

    def handler(pkt):  # drives the queues and tries to remove a side from inside delivery
        calls.append(a.process_all_queues())
        calls.append(a.periodic(0))
        calls.append(raises(errors.ArgumentError, a.remove_side, 1))

    a = Router(handlers=[(RADIO, handler, None)], hostname="A", now_ms=Clock(), discovery=False)
    a.add_side_packed("IN", Wire())
    a.add_side_packed("OUT", out)
    f1 = sedsnet.make_packet(GPS, "X", [RADIO, SD], 1, bytes(12)).pack()
    f2 = sedsnet.make_packet(LOW, "X", [RADIO], 2, bytes(4)).pack()
    a.receive_packed_queue_from_side(0, f1)
    a.receive_packed_queue_from_side(0, f2)
    a.process_all_queues()
    assert out.frames == [f1]  # SD went on, intact; RADIO was held here
    assert calls[0] == 0 and calls[1] == 0 and len(calls) == 6
    assert a.export_runtime_stats()["total_handler_failures"] == 0


def test_removed_sides_leave_no_queued_frames_behind():
    setup()
    a, got = router("A", [RADIO])
    a.add_side_packed("S0", Wire())
    a.add_side_packed("S1", Wire())
    f = sedsnet.make_packet(LOW, "X", [RADIO], 1, bytes(4)).pack()
    a.receive_packed_queue_from_side(1, f)
    a.remove_side(1)
    assert a.add_side_packed("S2", Wire()) == 1  # the ID is reused
    a.process_all_queues()
    assert got == [] and a.export_runtime_stats()["sides"][1]["rx_packets"] == 0


def test_handler_logs_go_out_before_process_returns():
    setup()
    wires = [Wire(), Wire()]

    def handler(pkt):
        a.log_string(TEXT, "seen")  # TEXT goes to SD, which no local handler holds

    a = Router(handlers=[(RADIO, handler, None)], hostname="A", now_ms=Clock(), discovery=False)
    a.add_side_packed("IN", wires[0])
    a.add_side_packed("OUT", wires[1])
    a.receive_packed_queue_from_side(0, sedsnet.make_packet(LOW, "X", [RADIO], 1,
                                                            bytes(4)).pack())
    assert a.process_rx_queue() == 1
    for w in wires:  # (discovery off: locally logged frames go to every side)
        assert len(w.frames) == 1 and sedsnet.unpack_packet(w.frames[0]).data_as_string() == "seen"
    assert a._tx.live == 0


def test_frames_handed_in_by_the_application_count_as_its_own():
    # 4.2.7's receive_packed/receive_packet: delivered here, forwarded like a logged frame
    # (one side, nothing announced: it goes there), deduplicated; bad frames raise
    setup()
    a, got = router("A", [RADIO])
    wire = Wire()
    a.add_side_packed("S", wire)
    pkt = sedsnet.make_packet(GPS, "PEER", [RADIO, SD], 7, bytes(12))
    a.receive_packed(pkt.pack())
    assert [p.sender for p in got] == ["PEER"] and wire.frames == [pkt.pack()]
    a.receive_packet(pkt)  # the same packet again: a duplicate
    assert len(got) == 1 and len(wire.frames) == 1
    raises(errors.DecodeError, a.receive_packed, b"\x88\x01garbage")
    raises(errors.ArgumentError, a.receive_packet, b"not a packet")
    raises(errors.ArgumentError, a.receive_packet_from_side, 0, b"not a packet")
    later = sedsnet.make_packet(LOW, "PEER", [RADIO], 8, bytes(4))
    a.receive_packet_queue(later)
    a.receive_packed_queue(b"\x88\x01garbage")
    assert len(got) == 1
    a.process_all_queues()
    assert [p.timestamp_ms for p in got] == [7, 8]
    assert a.export_runtime_stats()["queues"]["local_rx_dropped"] == 1


def test_frames_that_are_not_bytes_are_argument_errors():
    setup()
    a, got = router("A", [RADIO])
    a.add_side_packed("S", Wire())
    for bad in (None, 5, 1.5, "text", [1, 2], (3,)):
        raises(errors.ArgumentError, a.receive_packed, bad)
        raises(errors.ArgumentError, a.receive_packed_queue, bad)
        raises(errors.ArgumentError, a.receive_packed_from_side, 0, bad)
        raises(errors.ArgumentError, a.receive_packed_queue_from_side, 0, bad)
        raises(errors.ArgumentError, a.transmit_packed_message, bad)
    a.process_all_queues()
    assert got == [] and a._local_rx_dropped == 0


def test_a_removed_side_takes_no_more_queued_frames():
    setup()
    a, _got = router("A", [RADIO])
    s = a.add_side_packed("S", Wire())
    a.remove_side(s)
    f = sedsnet.make_packet(LOW, "X", [RADIO], 1, bytes(4)).pack()
    raises(errors.ArgumentError, a.receive_packed_queue_from_side, s, f)  # what an IRQ sees
    assert a._isr.empty()


def test_a_handler_may_hand_frames_in():
    setup()
    inner = sedsnet.make_packet(TEXT, "PEER", [SD], 3, b"hi").pack()
    texts = []

    def on_radio(pkt):
        a.receive_packed(inner)  # queued while busy, handled before the outer call returns

    a = Router(handlers=[(RADIO, on_radio, None), (SD, texts.append, None)], hostname="A",
               now_ms=Clock(), discovery=False)
    a.add_side_packed("S", Wire())
    a.receive_packed_from_side(0, sedsnet.make_packet(LOW, "X", [RADIO], 1, bytes(4)).pack())
    assert [p.data_as_string() for p in texts] == ["hi"]


def test_process_all_queues_announces_as_periodic_does():
    setup()
    wire = Wire()
    a = Router(hostname="A", now_ms=Clock())
    a.add_side_packed("S", wire)
    a.process_all_queues()
    first = [sedsnet.peek_header(f)["ty"] for f in wire.frames]
    assert first == [17, 9]  # DISCOVERY_ADDRESS, DISCOVERY_TOPOLOGY, as 4.2.7
    a.periodic(0)
    assert len(wire.frames) == 2  # nothing due yet


def test_new_singleton_is_one_router_per_process():
    one = Router.new_singleton(hostname="SOLO", discovery=False)
    assert Router.new_singleton() is one and one.hostname == "SOLO"
    raises(errors.ArgumentError, Router.new_singleton, hostname="OTHER")


def test_memory_options_are_checked_as_the_reference_does():
    # 4.2.7: 0 is "bad memory limits" for the budget, the ID cache and the starting queue, a
    # starting queue above the budget too, and a grow step below 1 (or NaN/inf); floats are
    # allowed only for the grow step
    for opt, bad in (("max_recent_rx_ids", 0), ("max_recent_rx_ids", -5),
                     ("max_recent_rx_ids", 1.5), ("max_queue_budget", 0),
                     ("max_queue_budget", -1), ("starting_queue_size", 0),
                     ("starting_queue_size", 200000), ("queue_grow_step", 0),
                     ("queue_grow_step", 0.5), ("queue_grow_step", -1),
                     ("queue_grow_step", float("nan")), ("queue_grow_step", float("inf"))):
        for cls in (Router, Relay):
            kw = {opt: bad}
            e = raises(errors.ArgumentError, cls, hostname="A", discovery=False, **kw)
            assert opt in str(e), (opt, bad, str(e))
    # a huge ID cache is capped by the budget instead of raising MemoryError
    r = Router(hostname="A", discovery=False, max_recent_rx_ids=10 ** 9)
    assert 8 <= r._recent.nbytes() <= r._budget.total and r._budget.used <= r._budget.total
    r = Relay(hostname="A", discovery=False, max_recent_rx_ids=1, queue_grow_step=1)
    assert r._recent.size == 1


def test_a_float_grow_step_keeps_the_budget_counter_whole():
    setup()
    a, _ = router("A", starting_queue_size=128, queue_grow_step=1.5)
    wire = Wire()
    a.add_side_packed("S", wire)
    for i in range(40):
        a.log_f32(LOW, [float(i)], timestamp_ms=i, queue=True)
    assert a._tx.cap > 128 and isinstance(a._tx.cap, int) and isinstance(a._budget.used, int)
    a.process_all_queues()
    assert len(wire.frames) == 40
    assert '"shared_queue_bytes_used"' in a.export_memory_layout_json()


def test_an_id_cache_of_one_still_stops_a_frame_circling_routers():
    setup()
    clock = Clock()
    rs = [router("R%d" % i, (), clock, max_recent_rx_ids=1)[0] for i in range(3)]
    for i in range(3):
        link(rs[i], rs[(i + 1) % 3])
    rs[0].log_f32(LOW, [1.0])  # (0 would let it circle forever; it is refused now)
    sent = sum(s["tx_packets"] for r in rs for s in r.export_runtime_stats()["sides"])
    assert 0 < sent < 10


def test_address_payloads_end_at_the_crc_other_frames_may_not():
    # as 4.2.7 (host_tests/test_decode_mutations.py): a byte between an ADDRESS payload and
    # the CRC is "discovery payload length mismatch"; after ANNOUNCE or user data, ignored
    from sedsnet import announce_codec
    from sedsnet._pure import crc32_write
    from sedsnet.wire import frame_size, pack_into
    setup()
    r, got = router("T", [RADIO])
    s = r.add_side_packed("IN", Wire())

    def padded(ty, payload, eps=None):
        n = frame_size(0 if eps is None else 2, ty, 77, 5, 9, len(payload))
        buf = bytearray(n + 1)
        pack_into(buf, ty, 77, eps, 5, 9, payload)
        buf[n - 4:n - 4] = b"\x00"  # one byte before the CRC, CRC recomputed
        buf = buf[:n + 1]
        crc32_write(buf, 0, n - 3)
        return bytes(buf)

    addr = announce_codec.address_payload(b"PEER", 5, 6, 7, [RADIO])
    e = raises(errors.DecodeError, r.receive_packed_from_side, s, padded(17, addr))
    assert "length mismatch" in str(e)
    assert r.export_runtime_stats()["sides"][s]["drops"]["decode"] == 1
    r.receive_packed_from_side(s, padded(7, b""))  # an ANNOUNCE heartbeat
    r.receive_packed_from_side(s, padded(LOW, bytes(4), [RADIO]))
    assert len(got) == 1 and got[0].data_as_f32() == [0.0]
    assert r.export_runtime_stats()["sides"][s]["drops"]["decode"] == 1


@micropython_only("heap_lock exists only under MicroPython")
def test_a_queued_frame_with_no_heap_for_its_work_buffer_is_an_oversize_drop():
    # the work buffer starts at 512 bytes; a longer queued frame needs it to grow, and with no
    # heap block that long (heap locked here) the frame is dropped and counted, never raised
    from micropython import heap_lock, heap_unlock
    setup()
    got = []
    a = Router(handlers=[(SD, got.append, None)], hostname="A", now_ms=Clock(),
               discovery=False)
    s = a.add_side_packed("UART", Wire())
    src = Router(hostname="B", now_ms=Clock(), discovery=False)
    out = []
    src.add_side_packed("OUT", lambda f: out.append(bytes(f)))
    src.log_bytes(TEXT, b"x" * 900)
    long_frame = next(f for f in out if len(f) > 512)
    a.receive_packed_queue_from_side(s, long_frame)
    heap_lock()
    try:
        a.process_rx_queue()
    finally:
        heap_unlock()
    assert got == [] and a.export_runtime_stats()["sides"][0]["drops"]["oversize"] == 1
    a.receive_packed_from_side(s, long_frame)  # not remembered as seen: taken now, once
    assert len(got) == 1 and bytes(got[0].payload) == b"x" * 900
