# The way back for E2E ACKs, learned per packet (lib/sedsnet/return_path.py): the ring itself
# (bounded, oldest learned forgotten first, a repeat moves to the newest), a Router and a Relay
# without discovery sending a holder's E2E ACK only on the side its packet came in on (an
# unrelated side sees nothing; an ACK for a packet never seen is dropped and counted), the
# ring's bytes charged to max_queue_budget and shown in the exports, and a plain Router that
# never loads it. host_tests/test_return_path_parity.py holds the same facts against 4.2.7.
import json
import sys

import sedsnet
from sedsnet import return_path
from sedsnet.errors import DecodeError
from sedsnet.ids import sender_hash, source_address, write_packet_id
from sedsnet.relay import Relay
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into
from support import Clock, micropython_only, raises

EP = 771  # (IDs no other dual module uses: they share a process)
EP_X = 772
UNO = 7710  # reliable=2
ORD = 7711  # reliable=1
PLAIN = 7712


def setup():
    sedsnet.set_runtime_tuning_config(reliable_max_return_routes=32)
    if sedsnet.data_type_exists(UNO):
        return
    sedsnet.register_endpoint(EP, "RP_EP")
    sedsnet.register_endpoint(EP_X, "RP_EPX")
    sedsnet.register_data_type(UNO, "RP_UNO", False, 0, 2, 0, [EP], reliable=2)
    sedsnet.register_data_type(ORD, "RP_ORD", False, 0, 2, 0, [EP], reliable=1)
    sedsnet.register_data_type(PLAIN, "RP_PLAIN", False, 0, 2, 0, [EP])


def _le64(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))


def _data(nonce, ty=UNO, origin="rpQ", rel=0x84):
    buf = bytearray(64)
    n = pack_into(buf, ty, source_address(origin), [EP], 5000, nonce, bytes([nonce & 0xFF]),
                  None, rel, 0)
    return bytes(buf[:n])


def _pid(frame):
    h = FrameHeader(max_endpoints=8)
    h.parse(frame)
    pid = bytearray(8)
    write_packet_id(h, frame, pid)
    return bytes(pid)


def _ack(frame, origin="rpQ", nonce=1, payload=None):
    """A holder's E2E ACK of frame, as 4.2.7 writes it (sender E2EACK:rpB, a contract naming
    the holder then the origin by its address, the packet ID)."""
    contract = b"\x03\x44\x02\x02" + _le64(sender_hash("rpB")) + _le64(source_address(origin))
    buf = bytearray(96)
    n = pack_into(buf, 1, source_address("E2EACK:rpB"), None, 5000, 900 + nonce,
                  _pid(frame) if payload is None else payload, contract)
    return bytes(buf[:n])


class Wire:
    def __init__(self):
        self.frames = []

    def __call__(self, f):
        self.frames.append(bytes(f))

    def acks(self):
        h = FrameHeader(max_endpoints=8)
        out = []
        for f in self.frames:
            h.parse(f)
            if h.ty == 1 and h.contract_start >= 0:
                out.append(bytes(f[h.payload_start:h.payload_end]))
        return out


def _middle(relay, reliable=False, **kw):
    """A node without discovery and three sides: 0 and 2 toward origins, 1 toward holders."""
    if relay:
        m = Relay(now_ms=Clock(0), hostname="rpM", discovery=False, **kw)
    else:
        m = Router(now_ms=Clock(0), hostname="rpM", discovery=False, **kw)
    wires = [Wire() for _ in range(3)]
    for i in range(3):
        m.add_side_packed("s%d" % i, wires[i], reliable_enabled=reliable)
    rx = m.rx_packed_from_side if relay else m.receive_packed_from_side
    return m, wires, rx


def _put(r, pid, sid):
    r.ids[8 * r.cap:8 * r.cap + 8] = pid
    r.put(sid)


def _side(r, pid):
    r.ids[8 * r.cap:8 * r.cap + 8] = pid
    s = r.find()
    return -1 if s < 0 else r.sides[s]


def test_ring_is_bounded_forgets_the_oldest_and_a_repeat_becomes_the_newest():
    r = return_path.Ring(4)
    pids = [bytes([i, 0, 0, 0, 0, 0, 0, i]) for i in range(8)]
    for i in range(4):
        _put(r, pids[i], i)
    assert r.count == 4 and [_side(r, p) for p in pids[:4]] == [0, 1, 2, 3]
    assert _side(r, pids[0]) == 0  # a lookup (an ACK) refreshes nothing
    _put(r, pids[4], 4)  # full: the oldest learned (pids[0]) goes
    assert _side(r, pids[0]) == -1 and r.count == 4 and r.evicted == 1
    _put(r, pids[1], 9)  # a repeat from another side: moved to the newest, its side now 9
    _put(r, pids[5], 5)  # so pids[2] goes, not pids[1]
    assert [_side(r, p) for p in pids[:6]] == [-1, 9, -1, 3, 4, 5]
    for i in range(8):  # round and round the ring: always the last four
        _put(r, pids[i], 7 - i)
    assert [_side(r, p) for p in pids] == [-1, -1, -1, -1, 3, 2, 1, 0]
    assert r.count == 4 and r.evicted == 9
    # an ID that differs from a known one in its last byte only is not it
    assert _side(r, bytes([7, 0, 0, 0, 0, 0, 0, 8])) == -1
    # a frame new to the recent-ID cache is not looked for: should the cache have forgotten
    # one still here, it is there twice and the newest side counts
    r.ids[8 * r.cap:8 * r.cap + 8] = pids[5]
    r.put(8, False)
    assert r.count == 4 and _side(r, pids[5]) == 8 and _side(r, pids[4]) == -1
    _put(r, pids[5], 6)  # a repeat moves the newest copy
    assert _side(r, pids[5]) == 6 and r.count == 4


def test_an_e2e_ack_goes_back_only_the_way_its_packet_came():
    setup()
    for relay in (True, False):
        m, wires, rx = _middle(relay)
        q0, q2 = _data(11), _data(12, ORD)
        rx(0, q0)
        rx(2, q2)
        assert len(wires[1].frames) == 2  # both went on toward the holders
        for w in wires:
            del w.frames[:]
        rx(1, _ack(q2))
        rx(1, _ack(q0))
        rx(1, _ack(q0, nonce=2))  # a second ACK of it: the route is kept (4.2.7)
        assert wires[2].acks() == [_pid(q2)] and wires[0].acks() == [_pid(q0)] * 2
        assert wires[1].frames == []
        # never seen: dropped (4.2.7), not flooded; nor sent back on its own side
        rx(1, _ack(_data(13)))
        q4 = _data(14)
        rx(1, q4)
        rx(1, _ack(q4))
        # a plain type is not learned, even with a reliable header
        p = _data(15, PLAIN)
        rx(0, p)
        rx(1, _ack(p))
        # malformed (not the 8-byte ID its contract's shape says): a DecodeError, counted
        assert raises(DecodeError, rx, 1, _ack(q0, nonce=3, payload=b"\x01\x02"))
        assert m.export_runtime_stats()["sides"][1]["drops"]["decode"] == 1
        assert wires[0].acks() == [_pid(q0)] * 2 and wires[2].acks() == [_pid(q2)]
        rel = m.export_runtime_stats()["reliable"]
        assert rel["reliable_return_route_count"] == 3, rel  # q0, q2, q4
        e = rel["e2e"]
        assert e["acks_returned"] == 3 and e["acks_unrouted"] == 3, e


def test_a_repeat_from_another_side_takes_its_acks_with_it():
    setup()
    for relay in (True, False):
        m, wires, rx = _middle(relay)
        f = bytearray(80)  # a frame with a contract naming the holder (an origin's resend)
        contract = b"\x07\x00\x01" + _le64(sender_hash("rpB"))
        n = pack_into(f, UNO, source_address("rpQ"), [EP], 5000, 31, b"\x01", contract, 0x84, 0)
        f = bytes(f[:n])
        rx(0, f)
        rx(2, f)  # the origin's resend came another way: passed on again, learned anew
        rx(1, _ack(f))
        assert wires[2].acks() == [_pid(f)] and wires[0].acks() == []
        assert m.export_runtime_stats()["reliable"]["reliable_return_route_count"] == 1


def test_the_way_back_holds_on_hop_reliable_sides_too():
    # a sequenced frame (`06 <seq>`) gets a new seq on the next hop: the packet ID, which the
    # holder ACKs, leaves the reliable header out (4.2.7 alike: test_reliable_origin_parity)
    setup()
    for relay in (True, False):
        m, wires, rx = _middle(relay, reliable=True)
        buf = bytearray(64)
        n = pack_into(buf, UNO, source_address("rpQ"), [EP], 5000, 61, b"\x3d", None, 0x06, 7)
        q = bytes(buf[:n])
        rx(2, q)
        assert wires[1].frames  # passed on toward the holders, under a seq of its own
        del wires[2].frames[:]
        rx(1, _ack(q))
        assert wires[2].acks()[-1:] == [_pid(q)] and wires[0].acks() == []
        assert m.export_runtime_stats()["reliable"]["reliable_return_route_count"] == 1


def test_ring_is_charged_to_the_budget_shown_and_follows_the_tuning():
    setup()
    m, wires, rx = _middle(False)
    lay = json.loads(m.export_memory_layout_json())
    used, shown = m._budget.used, lay["shared_queue_bytes_used"]
    for i in range(40):
        rx(0, _data(100 + i))
    r = m._e2e_ret
    assert r.count == 32 and r.evicted == 8 and r.cost == 144 + 9 * 32
    assert m._budget.used - used == r.cost  # preallocated: nothing more per packet
    lay = json.loads(m.export_memory_layout_json())
    assert lay["shared_queue_bytes_used"] - shown == r.cost
    e = m.export_runtime_stats()["reliable"]["e2e"]
    assert e["return_route_bytes"] == r.cost and e["return_routes_evicted"] == 8
    # a smaller reliable_max_return_routes: a new ring, the old one's bytes given back
    sedsnet.set_runtime_tuning_config(reliable_max_return_routes=4)
    for i in range(6):
        rx(0, _data(200 + i))
    assert m._e2e_ret.count == 4 and m._budget.used - used == 144 + 9 * 4
    rx(1, _ack(_data(205)))
    rx(1, _ack(_data(201)))  # forgotten
    assert wires[0].acks() == [_pid(_data(205))]
    sedsnet.set_runtime_tuning_config(reliable_max_return_routes=32)
    # a budget that cannot hold a ring: nothing learned, nothing raised, and as the node
    # knows no way back its ACKs go on every other side, counted (dropping them stalled
    # 4.2.7 origins behind a board whose budget was full: scenarios/nrf24.json)
    s, sw, srx = _middle(True, max_queue_budget=4096)
    s._budget.take(s._budget.total - s._budget.used - 100)
    srx(0, _data(300))
    srx(1, _ack(_data(300)))
    assert getattr(s, "_e2e_ret", None) is None
    assert sw[0].acks() == sw[2].acks() == [_pid(_data(300))] and sw[1].acks() == []
    assert s.export_runtime_stats()["reliable"]["e2e"]["acks_unrouted"] == 1


def test_plain_router_never_loads_the_return_path():
    setup()
    eh = sys.modules.get("sedsnet.e2e_holder")  # (it keeps the module once loaded: forget it)
    cached = eh._rp[0] if eh is not None else None
    if eh is not None:
        eh._rp[0] = None
    sys.modules.pop("sedsnet.return_path", None)
    try:
        got = []
        r = Router(hostname="rpPlain", now_ms=Clock(0), handlers=[(EP, got.append, None)])
        r.add_side_packed("p", lambda f: None)
        r.log_bytes(PLAIN, b"\x01")
        r.log_bytes(UNO, b"\x01")  # reliable, logged here: nothing to learn
        r.receive_packed_from_side(0, _data(400, PLAIN, rel=-1))
        r.periodic(0)
        assert len(got) == 3
        assert "sedsnet.return_path" not in sys.modules
        assert getattr(r, "_e2e_ret", None) is None
        assert r.export_runtime_stats()["reliable"]["reliable_return_route_count"] == 0
    finally:
        sys.modules["sedsnet.return_path"] = return_path  # (the one the other modules hold)
        if eh is not None:
            eh._rp[0] = cached


class _Steps:
    # a bound method, not a closure: MicroPython allocates to call a closure of many cells

    def __init__(self, rx, frames):
        self.rx, self.frames = rx, frames

    def step(self, i):
        self.rx(0, self.frames[i])


@micropython_only("heap_lock exists only under MicroPython")
def test_learning_allocates_nothing():
    setup()
    from micropython import heap_lock, heap_unlock
    for relay in (True, False):
        m, _wires, rx = _middle(relay)
        for i in range(3):
            m.sides[i].tx = lambda f: None  # (keeps nothing)
        frames = [_data(500 + i) for i in range(80)]
        st = _Steps(rx, frames)
        for i in range(40):  # warm up: the ring, views, dict entries
            st.step(i)
        heap_lock()
        try:
            for i in range(40, 80):
                st.step(i)
        finally:
            heap_unlock()
        assert m._e2e_ret.count == 32
