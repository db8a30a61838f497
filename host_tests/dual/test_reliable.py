# Hop reliability, the sending half (lib/sedsnet/reliable.py), on a fake clock: sequence numbers
# per (side, type), ACKs (cumulative for an ordered type), PACKET_REQUEST, PARTIAL_ACK, resends,
# the retry limit, the per-type window and its backlog, tuning keys, and that a node without a
# reliable side never loads the module. host_tests/test_reliable_parity.py holds the same
# behaviour against 4.2.7.
import struct
import sys

import sedsnet
from sedsnet.ids import source_address
from sedsnet.relay import Relay
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into
from support import Clock, micropython_only

EP = 111
ORD = 3800  # reliable=1 (ordered)  (IDs no other dual module uses: they share a process)
UNO = 3801  # reliable=2 (unordered)
PLAIN = 3802


def setup():
    if sedsnet.data_type_exists(ORD):
        return
    sedsnet.register_endpoint(EP, "REL_EP")
    sedsnet.register_data_type(ORD, "REL_ORD", False, 0, 2, 0, [EP], reliable=1)
    sedsnet.register_data_type(UNO, "REL_UNO", False, 0, 2, 0, [EP], reliable=2)
    sedsnet.register_data_type(PLAIN, "REL_PLAIN", False, 0, 2, 0, [EP])


setup()


def node(reliable=True, tuning=None):
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                      reliable_max_pending=32)
    if tuning:
        sedsnet.set_runtime_tuning_config(**tuning)
    clock = Clock(0)
    out = []
    r = Router(hostname="relA", now_ms=clock, discovery=False)
    sid = r.add_side_packed("r", lambda f: out.append(bytes(f)), reliable_enabled=reliable)
    return r, sid, clock, out


_h = FrameHeader(max_endpoints=8)


def user(out):
    """[(ty, rel flags or None, seq, payload)] of the user frames in out, then out cleared."""
    res = []
    for f in out:
        _h.parse(f)
        if _h.ty >= 3000:
            res.append((_h.ty, _h.rel_flags if _h.rel_form else None, _h.seq,
                        f[_h.payload_start:_h.payload_end]))
    del out[:]
    return res


_nonce = [100]


def ctl(kind, ty, seq):
    _nonce[0] += 2
    buf = bytearray(64)
    n = pack_into(buf, kind, source_address("peerB"), None, 0, _nonce[0],
                  struct.pack("<II", ty, seq))
    return bytes(buf[:n])


def run(r, clock, to, step=50):
    while clock.t < to:
        clock.t += step
        r.periodic(0)


def test_plain_router_never_loads_reliable():
    setup()  # another module may have reset the shared schema (one CPython process)
    for m in ("sedsnet.reliable", "sedsnet.reliable_rx", "sedsnet.reliable_e2e"):
        sys.modules.pop(m, None)
    got = []
    r = Router(hostname="plainR", now_ms=Clock(0), handlers=[(EP, got.append, None)])
    sid = r.add_side_packed("p", lambda f: None)
    r.log_bytes(UNO, b"\x01")
    buf = bytearray(64)
    n = pack_into(buf, UNO, source_address("peerB"), None, 0, 7, b"\x02", None, 0x04, 1)
    r.receive_packed_from_side(sid, bytes(buf[:n]))
    r.periodic(0)
    assert len(got) == 2
    for m in ("sedsnet.reliable", "sedsnet.reliable_rx", "sedsnet.reliable_e2e"):
        assert m not in sys.modules
    r.add_side_packed("q", lambda f: None, reliable_enabled=True)
    assert "sedsnet.reliable" in sys.modules


def test_sequence_per_type_and_plain_side_unsequenced():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, _sid, _clock, out = node()
    for i in range(2):
        r.log_bytes(ORD, bytes([i]))
        r.log_bytes(UNO, bytes([i]))
        r.log_bytes(PLAIN, bytes([i]))
    assert [x[:3] for x in user(out)] == [(ORD, 0x04, 1), (UNO, 0x06, 1), (PLAIN, None, 0),
                                          (ORD, 0x04, 2), (UNO, 0x06, 2), (PLAIN, None, 0)]
    p, _psid, pclock, pout = node(reliable=False)
    p.log_bytes(UNO, b"\x00")
    assert [x[:3] for x in user(pout)] == [(UNO, 0x84, 0)]
    run(p, pclock, 1000)
    assert user(pout) == []  # nothing kept on a plain side


def test_resend_same_bytes_then_give_up():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, clock, out = node()
    r.log_bytes(UNO, b"\x05")
    first = out[0]
    del out[:]
    run(r, clock, 150)
    assert out == []
    run(r, clock, 200)
    assert out == [first]
    run(r, clock, 3000)
    assert len(out) == 8 and out[-1] == first  # 8 resends (reliable_max_retries), then none
    assert r.rel.pending(sid) == []


def test_acks_cumulative_for_ordered_exact_for_unordered():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, clock, out = node()
    for i in range(3):
        r.log_bytes(ORD, bytes([i]))
        r.log_bytes(UNO, bytes([i]))
    user(out)
    r.receive_packed_from_side(sid, ctl(1, ORD, 2))
    r.receive_packed_from_side(sid, ctl(1, UNO, 2))
    assert sorted(r.rel.pending(sid)) == [(ORD, 3), (UNO, 1), (UNO, 3)]
    r.receive_packed_from_side(sid, ctl(2, UNO, 3))  # PACKET_REQUEST: sent again at once
    assert [x[:3] for x in user(out)] == [(UNO, 0x06, 3)]
    r.receive_packed_from_side(sid, ctl(3, UNO, 1))  # PARTIAL_ACK: its next resend skipped
    run(r, clock, 200)
    assert sorted(x[:3] for x in user(out)) == [(ORD, 0x04, 3), (UNO, 0x06, 3)]
    run(r, clock, 400)
    assert sorted(x[:3] for x in user(out)) == [(ORD, 0x04, 3), (UNO, 0x06, 1), (UNO, 0x06, 3)]


def test_window_per_type_backlog_and_tuning():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, clock, out = node(tuning={"reliable_max_pending": 3, "reliable_retransmit_ms": 100,
                                      "reliable_max_retries": 1})
    for i in range(5):
        r.log_bytes(UNO, bytes([i]))  # no error when the window is full: the rest waits
    r.log_bytes(ORD, b"\x09")  # another type has its own window
    assert [x[:3] for x in user(out)] == [(UNO, 6, 1), (UNO, 6, 2), (UNO, 6, 3), (ORD, 4, 1)]
    r.receive_packed_from_side(sid, ctl(1, UNO, 1))
    assert user(out) == []  # the backlog moves at the next periodic()
    clock.t = 50
    r.periodic(0)
    assert [x[:3] for x in user(out)] == [(UNO, 6, 4)]
    run(r, clock, 1000)
    sent = user(out)
    assert (UNO, 6, 5, b"\x04") in sent and r.rel.pending(sid) == []
    # bad ACKs (short, unknown side state) are ignored, never raised
    r.receive_packed_from_side(sid, ctl(1, UNO, 99))
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                      reliable_max_pending=32)


def data(ty, seq, nonce, rel=None):
    buf = bytearray(64)
    n = pack_into(buf, ty, source_address("peerB"), None, 0, nonce, bytes([seq]), None,
                  (0x04 if ty == ORD else 0x06) if rel is None else rel, seq)
    return bytes(buf[:n])


def hop(out):
    """[(kind, ty, seq)] of the hop control frames in out, then out cleared."""
    res = []
    for f in out:
        _h.parse(f)
        if _h.ty in (1, 2, 3) and _h.contract_start < 0:
            res.append((_h.ty,) + struct.unpack("<II", f[_h.payload_start:_h.payload_end]))
    del out[:]
    return res


def receiver(tuning=None):
    _r, _sid, clock, out = node(tuning=tuning)
    got = []
    r2 = Router(hostname="relB", now_ms=clock, discovery=False,
                handlers=[(EP, lambda p: got.append((p.ty, bytes(p.payload)[0])), None)])
    sid2 = r2.add_side_packed("r", lambda f: out.append(bytes(f)), reliable_enabled=True)
    return r2, sid2, out, got


def layout(r):
    import json
    d = json.loads(r.export_memory_layout_json())
    return d["reliable_rx_buffer_len"], d["reliable_rx_buffer_bytes_used"]


def test_ordered_gap_held_then_released_in_order():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, out, got = receiver()
    used = r._budget.used
    r.receive_packed_from_side(sid, data(ORD, 2, 201))
    r.receive_packed_from_side(sid, data(ORD, 3, 203))
    assert got == []
    assert hop(out) == [(3, ORD, 2), (2, ORD, 1), (3, ORD, 3), (2, ORD, 1)]
    n, b = layout(r)
    assert n == 2 and b > 0 and r._budget.used == used + b  # charged to max_queue_budget
    r.receive_packed_from_side(sid, data(ORD, 1, 205))
    assert got == [(ORD, 1), (ORD, 2), (ORD, 3)]
    assert hop(out) == [(1, ORD, 3)]  # one cumulative ACK
    # (all given back, but the return routes' ring the delivered frames made: return_path.py)
    assert layout(r) == (0, 0) and r._budget.used == used + r._e2e_ret.cost
    st = r.export_runtime_stats()["sides"][sid]
    assert st["rx_packets"] == 3  # a released frame is not counted twice
    # an old repeat: ACK of the last released seq, dropped as a duplicate
    r.receive_packed_from_side(sid, data(ORD, 2, 207))
    assert hop(out) == [(1, ORD, 3)] and len(got) == 3
    assert r.export_runtime_stats()["sides"][sid]["drops"]["duplicate"] == 1


def test_unordered_delivered_at_once_each_acked():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, out, got = receiver()
    r.receive_packed_from_side(sid, data(UNO, 2, 301))
    r.receive_packed_from_side(sid, data(UNO, 1, 303))
    assert got == [(UNO, 2), (UNO, 1)]
    assert hop(out) == [(1, UNO, 2), (1, UNO, 1)]
    # 4.2.7: the wire flag decides ordering; a type the schema calls plain gets no ACK
    r.receive_packed_from_side(sid, data(PLAIN, 2, 305, 0x04))
    r.receive_packed_from_side(sid, data(PLAIN, 1, 307, 0x06))
    assert hop(out) == [] and got[2:] == [(PLAIN, 2), (PLAIN, 1)]
    r.receive_packed_from_side(sid, data(UNO, 2, 309, 0x04))
    assert hop(out) == [(3, UNO, 2), (2, UNO, 1)] and len(got) == 4


def test_held_frames_are_bounded():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, _out, got = receiver(tuning={"reliable_max_pending": 2})
    for seq in (2, 3, 4):
        r.receive_packed_from_side(sid, data(ORD, seq, 400 + seq * 2))
    assert layout(r)[0] == 2
    assert r.export_runtime_stats()["sides"][sid]["drops"]["evicted"] == 1
    r.receive_packed_from_side(sid, data(ORD, 1, 411))
    assert got == [(ORD, 1), (ORD, 2), (ORD, 3)]
    r.remove_side(sid)
    sedsnet.set_runtime_tuning_config(reliable_max_pending=32)


def test_two_of_ours_over_a_lossy_link_exactly_once_in_order():
    setup()  # another module may have reset the shared schema (one CPython process)
    clock = Clock(0)
    got = []
    a = Router(hostname="lossA", now_ms=clock, discovery=False)
    b = Router(hostname="lossB", now_ms=clock, discovery=False,
               handlers=[(EP, lambda p: got.append((p.ty, bytes(p.payload)[0])), None)])
    wire = []
    count = [0]

    def a_tx(f):
        count[0] += 1
        if count[0] % 3 != 1:  # every third frame A sends is lost, the first ones included
            wire.append((b, bytes(f)))

    def b_tx(f):
        count[0] += 1
        if count[0] % 4:
            wire.append((a, bytes(f)))
    sa = a.add_side_packed("b", a_tx, reliable_enabled=True)
    sb = b.add_side_packed("a", b_tx, reliable_enabled=True)
    side = {a: sa, b: sb}

    def pump():
        while wire:
            dst, f = wire.pop(0)
            dst.receive_packed_from_side(side[dst], f)
    sedsnet.set_runtime_tuning_config(reliable_max_retries=30)
    for i in range(12):
        a.log_bytes(ORD, bytes([i]))
        a.log_bytes(UNO, bytes([i]))
        pump()
    for _ in range(60):
        clock.t += 100
        a.periodic(0)
        b.periodic(0)
        pump()
    sedsnet.set_runtime_tuning_config(reliable_max_retries=8)
    ords = [v for t, v in got if t == ORD]
    unos = sorted(v for t, v in got if t == UNO)
    assert ords == list(range(12))
    assert unos == list(range(12))
    assert a.rel.pending(sa) == []


def contract_frame(target, nonce, rel=0x84, seq=0, ty=UNO):
    """A reliable frame over a wire contract from "e2eOrigin" to the holder `target`, as a
    4.2.7 origin sends it: cflags 07, shape 02 (dynamic UInt8), one target."""
    from sedsnet import ids
    Router(hostname="e2eOrigin", now_ms=Clock(0), discovery=False)  # its name is known
    h = ids.sender_hash(target)
    contract = bytes([0x07, 0x02, 0x01]) + bytes((h >> (8 * i)) & 0xFF for i in range(8))
    buf = bytearray(96)
    n = pack_into(buf, ty, source_address("e2eOrigin"), [EP], 5, nonce, b"\x2a", contract,
                  rel, seq)
    return bytes(buf[:n])


def test_end_to_end_repeat_passed_on_again_by_a_router_in_the_middle():
    setup()  # another module may have reset the shared schema (one CPython process)
    clock = Clock(0)
    m = Router(hostname="e2eMid", now_ms=clock, discovery=False)
    a_out, b_out = [], []
    sa = m.add_side_packed("a", lambda f: a_out.append(bytes(f)))
    m.add_side_packed("b", lambda f: b_out.append(bytes(f)))
    f = contract_frame("e2eFar", 501)
    m.receive_packed_from_side(sa, f)
    m.receive_packed_from_side(sa, f)  # the origin's resend: the first copy may be lost later on
    assert b_out == [f, f]
    plain = data(PLAIN, 0, 503, 0x84)
    m.receive_packed_from_side(sa, plain)
    m.receive_packed_from_side(sa, plain)
    assert b_out[2:] == [plain]  # anything else still dies as a duplicate
    assert m.export_runtime_stats()["sides"][sa]["drops"]["duplicate"] == 1


def test_end_to_end_repeat_at_the_holder_acked_again_not_delivered():
    setup()  # another module may have reset the shared schema (one CPython process)
    got = []
    out = []
    h = Router(hostname="e2eHold", now_ms=Clock(0), discovery=False,
               handlers=[(EP, lambda p: got.append(bytes(p.payload)), None)])
    s = h.add_side_packed("a", lambda f: out.append(bytes(f)))
    f = contract_frame("e2eHold", 601)
    h.receive_packed_from_side(s, f)
    h.receive_packed_from_side(s, f)
    assert got == [b"\x2a"]
    acks = []
    for x in out:
        _h.parse(x)
        if _h.ty == 1 and _h.contract_start >= 0:
            acks.append(bytes(x[_h.payload_start:_h.payload_end]))
    assert len(acks) == 2 and acks[0] == acks[1]  # the packet ID, both times


def test_backlog_and_slots_charged_to_the_budget():
    setup()  # another module may have reset the shared schema (one CPython process)
    import json
    r, sid, clock, out = node(tuning={"reliable_max_pending": 4})
    base = r._budget.used
    for i in range(60):  # 4.2.7 keeps far more than a window waiting, without an error
        r.log_bytes(UNO, bytes([i]))
    st = r.sides[sid].rtx
    assert len(st.backlog) == 56 and st.backlog_dropped == 0
    assert r._budget.used - base == r.rel.budget_bytes() > 56 * 10
    used = json.loads(r.export_memory_layout_json())["shared_queue_bytes_used"]
    assert used >= r.rel.budget_bytes()
    seen = set()
    while len(seen) < 60 and clock.t < 100000:
        for f in out:
            _h.parse(f)
            if _h.ty == UNO and _h.seq not in seen:
                seen.add(_h.seq)
                r.receive_packed_from_side(sid, ctl(1, UNO, _h.seq))
        del out[:]
        clock.t += 50
        r.periodic(0)
    assert len(seen) == 60 and st.backlog == [] and r.rel.pending(sid) == []
    assert r._budget.used - base == st.bytes_allocated()  # only the 4 reused slot buffers
    # a budget that cannot hold them: frames sent once unkept (or not kept waiting), counted,
    # nothing raised
    small = Router(hostname="relS", now_ms=Clock(0), discovery=False, max_queue_budget=4096)
    ssid = small.add_side_packed("r", lambda f: None, reliable_enabled=True)
    for i in range(100):
        small.log_bytes(UNO, bytes([i & 0xFF]))
    sst = small.sides[ssid].rtx
    assert sst.unkept + sst.backlog_dropped == 100
    assert small._budget.used <= small._budget.total
    sedsnet.set_runtime_tuning_config(reliable_max_pending=32)


def test_a_new_frame_never_overtakes_the_waiting_ones():
    setup()  # another module may have reset the shared schema (one CPython process)
    r, sid, clock, out = node(tuning={"reliable_max_pending": 2})
    for i in range(3):
        r.log_bytes(ORD, bytes([i]))
    r.receive_packed_from_side(sid, ctl(1, ORD, 1))  # a slot is free, value 2 still waits
    r.log_bytes(ORD, b"\x03")
    run(r, clock, 100)
    r.receive_packed_from_side(sid, ctl(1, ORD, 3))  # cumulative: 2 and 3 done
    run(r, clock, 400)
    firsts = {}
    for ty, rf, seq, pl in user(out):
        firsts.setdefault(seq, pl[0])
    assert [firsts[k] for k in sorted(firsts)] == [0, 1, 2, 3]
    sedsnet.set_runtime_tuning_config(reliable_max_pending=32)


def test_unordered_repeat_known_by_seq_after_the_id_cache_forgot_it():
    setup()  # another module may have reset the shared schema (one CPython process)
    got = []
    out = []
    r = Router(hostname="relR", now_ms=Clock(0), discovery=False, max_recent_rx_ids=4,
               handlers=[(EP, lambda p: got.append(bytes(p.payload)[0]), None)])
    sid = r.add_side_packed("r", lambda f: out.append(bytes(f)), reliable_enabled=True)
    first = data(UNO, 1, 701)
    r.receive_packed_from_side(sid, first)
    for seq in range(2, 12):
        r.receive_packed_from_side(sid, data(UNO, seq, 701 + 2 * seq))
    r.receive_packed_from_side(sid, first)  # a late resend: its ID has left the cache
    assert got == list(range(1, 12))
    assert hop(out)[-1] == (1, UNO, 1)  # still ACKed (the first ACK may have been lost)
    r.receive_packed_from_side(sid, data(UNO, 1, 901))  # same seq, new nonce: a restarted peer
    assert got[-1] == 1 and len(got) == 12


def _locked(fn, n):
    from micropython import heap_lock, heap_unlock
    heap_lock()
    try:
        for i in range(n):
            fn(i)
    finally:
        heap_unlock()


# (this node, peer) with header addresses above and below 2**30, clocks below and above 2**30
# (on 32-bit builds an int of 2**30 or more is a heap object)
_HOSTS = (("relHA", "relPA"), ("relHR", "relPR"))
_STAMPS = (1000, 1767225600000)


class _Steps:
    # a bound method, not a closure: MicroPython allocates to call a closure of many cells

    def __init__(self, a, s, acks, rx_o, rx_u):
        self.a, self.s, self.acks, self.rx_o, self.rx_u = a, s, acks, rx_o, rx_u
        self.payload = b"\x05\x06\x07\x08"

    def step(self, i):
        a = self.a
        a.log_bytes(ORD, self.payload)
        a.log_bytes(UNO, self.payload)
        a.receive_packed_from_side(self.s, self.acks[2 * i])
        a.receive_packed_from_side(self.s, self.acks[2 * i + 1])
        a.receive_packed_from_side(self.s, self.rx_o[i])
        a.receive_packed_from_side(self.s, self.rx_u[i])

    def locked(self, i):
        self.step(40 + i)

    def periodic(self, i):
        self.a.periodic(0)


@micropython_only("heap_lock exists only under MicroPython")
def test_reliable_steady_state_allocates_nothing():
    setup()  # another module may have reset the shared schema (one CPython process)
    from sedsnet import ids
    for me, peer in _HOSTS:
        for ts in _STAMPS:
            sent = [0]

            def tx(frame):
                sent[0] += 1
            clock = Clock(0)
            clock.t = ts
            a = Router(hostname=me, now_ms=clock, discovery=False)
            s = a.add_side_packed("r", tx, reliable_enabled=True)
            acks = []
            for q in range(1, 241):  # hop ACKs for the ORD and UNO seqs to come
                for ty in (ORD, UNO):
                    buf = bytearray(64)
                    n = pack_into(buf, 1, ids.source_address(peer), None, ts, 2 * q + ty % 2,
                                  struct.pack("<II", ty, q))
                    acks.append(bytes(buf[:n]))
            rx_o, rx_u = [], []
            for q in range(1, 121):  # sequenced data from the peer, in order
                for ty, rf, out in ((ORD, 0x04, rx_o), (UNO, 0x06, rx_u)):
                    buf = bytearray(64)
                    n = pack_into(buf, ty, ids.source_address(peer), None, ts, 1001 + 2 * q,
                                  b"\x01\x02\x03\x04", None, rf, q)
                    out.append(bytes(buf[:n]))
            st = _Steps(a, s, acks, rx_o, rx_u)
            for i in range(40):  # warm up: slots, views, streams, dict entries
                st.step(i)
            _locked(st.locked, 80)
            assert a.rel.pending(s) == []
            assert sent[0] == 120 * 4  # 2 frames and 2 hop ACKs per step
            if ts < (1 << 30):  # periodic's timer arithmetic on a clock below 2**30 too
                a.log_bytes(UNO, st.payload)
                _locked(st.periodic, 50)


def test_runtime_stats_reliable_section():
    setup()  # another module may have reset the shared schema (one CPython process)
    plain = Router(hostname="relP", now_ms=Clock(0), discovery=False)
    keys = {"reliable_return_route_count", "end_to_end_pending_count",
            "end_to_end_pending_destination_count", "end_to_end_acked_cache_count"}
    assert set(plain.export_runtime_stats()["reliable"]) == keys  # 4.2.7's keys
    r, _sid, clock, _out = node(tuning={"reliable_retransmit_ms": 100, "reliable_max_retries": 1})
    r.log_bytes(UNO, b"\x01")
    r.log_bytes(ORD, b"\x02")
    hopst = r.export_runtime_stats()["reliable"]["hop"]
    assert hopst["in_flight"] == 2 and hopst["retransmits"] == 0 and hopst["bytes"] > 0
    run(r, clock, 500)
    hopst = r.export_runtime_stats()["reliable"]["hop"]
    assert (hopst["in_flight"], hopst["retransmits"], hopst["given_up"]) == (0, 2, 2)
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8)


def test_unordered_seq_memory_never_takes_an_older_seq_for_a_repeat():
    setup()  # another module may have reset the shared schema (one CPython process)
    # seq 513 lands in seq 1's slot; the same nonce there must not make it a repeat (found by
    # the 100k soak: 1 packet in 50k ACKed and dropped)
    r, sid, _out, got = receiver()
    for seq, nonce in ((1, 801), (500, 803), (513, 801)):
        r.receive_packed_from_side(sid, _seqframe(UNO, seq, nonce))
    assert len(got) == 3


def _seqframe(ty, seq, nonce):
    buf = bytearray(64)
    n = pack_into(buf, ty, source_address("peerB"), None, seq, nonce, bytes([seq & 0xFF]), None,
                  0x06, seq)  # (the timestamp differs: another packet ID)
    return bytes(buf[:n])


def test_ordered_streams_per_side_are_bounded_against_hostile_types():
    # every new type on a reliable side makes an ordered stream; 40 types each with a gap (seq 2
    # first, so the frame is held) keep at most 32 streams, the evicted ones' held frames give
    # their budget back, and the evictions are counted
    setup()
    r = Relay(now_ms=Clock(), discovery=False)
    sid = r.add_side_packed("in", lambda f: None, reliable_enabled=True)
    r.add_side_packed("out", lambda f: None)
    base = r._budget.used
    buf = bytearray(64)
    for k in range(40):
        n = pack_into(buf, 6000 + k, source_address("peerX"), [EP], 0, 7 + 2 * k, b"\x01",
                      None, 0x04, 2)
        r.rx_packed_from_side(sid, bytes(buf[:n]))
    rx = r.rel.orx
    assert len(r.sides[sid].rrx) == 32 and rx.streams_evicted == 8
    assert rx.held_count == 32 and r._budget.used - base == r.rel.budget_bytes()
    assert r.export_runtime_stats()["reliable"]["hop"]["streams_evicted"] == 8
