# A holder's E2E ACK (control.e2e_ack) built in per-router buffers: no u64 hashed or shifted
# per ACK, the delivered-ID set a preallocated table. On MicroPython the ACK of a named origin
# runs under heap_lock, an unnamed origin's costs at most 256 B (its header address as an
# int); the bytes stay 4.2.7's (test_reliable_origin_parity.py, test_e2e_parity.py), checked
# here against the fields they are made of on every runtime.
import gc

import sedsnet
from sedsnet import control, ids, schema
from sedsnet.ids import sender_hash, source_address
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into
from support import Clock, micropython_only

EP = 7581  # (IDs no other dual module uses: they share a process)
UNO = 7582  # reliable=2
N = 60


def setup():
    if not sedsnet.data_type_exists(UNO):
        sedsnet.register_endpoint(EP, "EA_EP")
        sedsnet.register_data_type(UNO, "EA_UNO", False, 0, 2, 0, [EP], reliable=2)


def _le(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))


class _Tx:
    # a bound method that keeps the last frame in a preallocated buffer (no allocation)

    def __init__(self):
        self.n = 0
        self.last = bytearray(96)
        self.len = 0

    def tx(self, f):
        self.n += 1
        self.len = len(f)
        self.last[:len(f)] = f


def _holder(me):
    t = _Tx()
    got = []
    r = Router(hostname=me, now_ms=Clock(1000), discovery=False,
               handlers=[(EP, lambda p: got.append(bytes(p.payload)), None)])
    r.add_side_packed("s", t.tx)
    return r, t, got


def _frames(me, origin, n, t0=5):
    """n reliable frames of UNO from origin whose contract names holder me (as an origin
    writes it), each with its parsed header."""
    from sedsnet.reliable_origin import contract
    c = bytes(contract(schema.type_record(UNO), [sender_hash("eaOther"), sender_hash(me)]))
    buf = bytearray(128)
    out = []
    for i in range(n):
        k = pack_into(buf, UNO, source_address(origin), [EP], t0 + i, 2 * i + 1, b"\x05", c,
                      0x84, 0)
        f = bytes(buf[:k])
        h = FrameHeader(max_endpoints=4)
        h.parse(f)
        out.append((h, f))
    return out


def _check_ack(t, me, target, h, f):
    a = FrameHeader(max_endpoints=4)
    ack = bytes(t.last[:t.len])
    a.parse(ack)
    pid = bytearray(8)
    ids.write_packet_id(h, f, pid)
    assert a.ty == 1 and a.src_addr == source_address("E2EACK:" + me)
    assert ack[a.contract_start:a.contract_end] == b"\x03\x44\x02\x02" + _le(sender_hash(me)) \
        + _le(target)
    assert ack[a.payload_start:a.payload_end] == bytes(pid)


class _Acks:
    def __init__(self, r, frames):
        self.r = r
        self.frames = frames

    def run(self, i):
        h, f = self.frames[i]
        control.e2e_ack(self.r, 0, h, f)


def test_acks_name_the_holder_and_origin_and_carry_the_packet_id():
    setup()
    for me, origin, named in (("eaHoldA", "eaOrigA", True), ("eaHoldB", "eaOrigB", False)):
        ids.forget_senders()
        if named:
            ids.remember_sender(origin, source_address(origin))
        r, t, got = _holder(me)
        fr = _frames(me, origin, 3)
        for h, f in fr:
            r.receive_packed_from_side(0, f)
            # named origin: its sender hash; else its header address (as 4.2.7)
            _check_ack(t, me, sender_hash(origin) if named else source_address(origin), h, f)
        assert t.n == 3 and got == [b"\x05"] * 3
        assert r.export_runtime_stats()["e2e_unacked"] == (0 if named else 3)
        r.receive_packed_from_side(0, fr[1][1])  # a resend: ACKed again, not delivered again
        assert t.n == 4 and len(got) == 3
        _check_ack(t, me, sender_hash(origin) if named else source_address(origin), *fr[1])
        other = _frames("eaNotMe", origin, 1, 900)
        r.receive_packed_from_side(0, other[0][1])  # names other holders: not ours to ACK
        assert t.n == 4 and len(got) == 3
    ids.forget_senders()


def test_delivered_ids_are_one_table_charged_to_the_budget():
    setup()
    r, t, got = _holder("eaHoldC")
    used = r._budget.used
    fr = _frames("eaHoldC", "eaOrigC", 140)
    for h, f in fr:
        r.receive_packed_from_side(0, f)
    assert len(got) == t.n == 140
    d = r._e2e_done
    assert len(d) == 128  # reliable_max_end_to_end_ack_cache, the oldest forgotten
    ret = r._e2e_ret.cost  # (the E2E ACKs' return-path ring: return_path.py)
    assert r._budget.used - used - ret == d.bytes == 8 * 128 + 2 * 256
    assert not d.has(bytearray(ids_of(fr[0])))
    assert d.has(bytearray(ids_of(fr[-1])))
    assert r.export_runtime_stats()["reliable"]["e2e"]["delivered_ids"] == 128
    tiny = Router(hostname="eaHoldD", now_ms=Clock(1000), discovery=False,
                  handlers=[(EP, lambda p: None, None)], max_queue_budget=16384)
    tiny.add_side_packed("s", lambda f: None)
    tiny._budget.used = tiny._budget.total - 100  # no room left for the table
    for h, f in _frames("eaHoldD", "eaOrigD", 2):
        tiny.receive_packed_from_side(0, f)
    assert len(tiny._e2e_done) == 0 and tiny._e2e_done.bytes == 0


def ids_of(hf):
    pid = bytearray(8)
    ids.write_packet_id(hf[0], hf[1], pid)
    return pid


@micropython_only("heap_lock and gc.mem_alloc exist only under MicroPython")
def test_a_holders_e2e_ack_allocates_nothing_for_a_named_origin():
    setup()
    from micropython import heap_lock, heap_unlock
    ids.forget_senders()
    ids.remember_sender("eaOrigE", source_address("eaOrigE"))
    for me in ("eaHoldE", "H"):  # (header addresses of both sizes on 32-bit builds)
        r, t, _got = _holder(me)
        fr = _frames(me, "eaOrigE", N + 4)
        acks = _Acks(r, fr)
        for i in range(N, N + 4):
            acks.run(i)  # first ACKs: the router's buffers and tables are made
        run = acks.run
        heap_lock()
        try:
            for i in range(N):
                run(i)
        finally:
            heap_unlock()
        assert t.n == N + 4
        _check_ack(t, me, sender_hash("eaOrigE"), *fr[N - 1])
    ids.forget_senders()


@micropython_only("gc.mem_alloc exists only under MicroPython")
def test_an_unnamed_origins_ack_allocates_at_most_256_bytes():
    setup()
    ids.forget_senders()
    r, t, _got = _holder("eaHoldF")
    fr = _frames("eaHoldF", "eaOrigF", N + 4)
    acks = _Acks(r, fr)
    for i in range(N, N + 4):
        acks.run(i)
    run = acks.run
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(N):
        run(i)
    b = gc.mem_alloc()
    gc.enable()
    assert t.n == N + 4
    assert (b - a) // N <= 256, (b - a) // N
    _check_ack(t, "eaHoldF", source_address("eaOrigF"), *fr[N - 1])


def test_plain_data_and_discovery_never_load_the_holder():
    setup()
    import sys
    if not sedsnet.data_type_exists(EP + 3):
        sedsnet.register_data_type(EP + 3, "EA_PLAIN", False, 0, 2, 0, [EP])
    cached = control._eh[0]  # (control keeps the module once loaded: forget it here)
    control._eh[0] = None
    mod = sys.modules.pop("sedsnet.e2e_holder", None)
    try:
        clock = Clock(1000)
        got = []
        a = Router(hostname="eaPlainA", now_ms=clock)
        b = Router(hostname="eaPlainB", now_ms=clock, handlers=[(EP, got.append, None)])
        ab, ba = [], []
        a.add_side_packed("b", lambda f: ab.append(bytes(f)))  # (tx gets a view: copy it)
        b.add_side_packed("a", lambda f: ba.append(bytes(f)))
        for _ in range(6):  # discovery both ways (control frames), then plain data
            a.announce_discovery()
            b.announce_discovery()
            a.log_bytes(EP + 3, b"\x01")
            a.periodic(0)
            b.periodic(0)
            while ab or ba:
                if ab:
                    b.receive_packed_from_side(0, ab.pop(0))
                if ba:
                    a.receive_packed_from_side(0, ba.pop(0))
            clock.t += 100
        assert len(got) >= 5
        assert "sedsnet.control" in sys.modules and "sedsnet.e2e_holder" not in sys.modules
    finally:
        control._eh[0] = cached
        if mod is not None:
            sys.modules["sedsnet.e2e_holder"] = mod
