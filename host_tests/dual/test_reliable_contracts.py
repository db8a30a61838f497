# Wire contracts on E2E-sealed reliable logs and on transmit_* frames (reliable_origin.log,
# reliable_origin.transmit; host_tests/test_reliable_origin_contracts.py has them against
# 4.2.7): a sealed reliable log carries the contract in its header, then the sealed payload;
# holders ACK the opened frame's packet ID, a resent sealed frame too; transmit_* of a
# reliable type goes, is kept and is resent as a log of it. Our Routers on one fake clock,
# links pumped by the test, E2E ACKs dropped by a rule.
import sys

import sedsnet
from sedsnet.ids import sender_hash, source_address
from sedsnet.router import Router
from sedsnet.wire import FrameHeader
from support import Clock

EP = 751  # (IDs no other dual module uses: they share a process)
ORD = 7510  # reliable=1
UNO = 7511  # reliable=2
SORD = 7512  # reliable=1, RequireOn E2E
SSTAT = 7513  # static x3 u32, reliable=2, RequireOn E2E
KID = 0x751


def setup():
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                      reliable_max_end_to_end_pending=32)
    sedsnet.register_e2e_key(KID, bytes(range(32)))
    if sedsnet.data_type_exists(ORD):
        return
    sedsnet.register_endpoint(EP, "RC_EP")
    sedsnet.register_data_type(ORD, "RC_ORD", False, 0, 2, 0, [EP], reliable=1)
    sedsnet.register_data_type(UNO, "RC_UNO", False, 0, 2, 0, [EP], reliable=2)
    sedsnet.register_data_type(SORD, "RC_SORD", False, 0, 2, 0, [EP], reliable=1,
                               e2e_encryption=2)
    sedsnet.register_data_type(SSTAT, "RC_SSTAT", True, 3, 4, 0, [EP], reliable=2,
                               e2e_encryption=2)


_h = FrameHeader(max_endpoints=8)


def _hdr(f):
    _h.parse(f)
    return _h


class Net:
    """A (sides 0, 1) -> holders B, C on one clock; pump() delivers what was sent unless
    drop(frame, from node) says so."""

    def __init__(self):
        self.clock = Clock(0)
        self.q = []
        self.log = []  # (t, node, side index, frame) of everything sent
        self.drop = None
        self.got = {"rcB": [], "rcC": []}
        self.a = self._add("rcA", 2)
        self.b = self._add("rcB", 1)
        self.c = self._add("rcC", 1)
        self.links = {("rcA", 0): (self.b, 0), ("rcA", 1): (self.c, 0), ("rcB", 0): (self.a, 0),
                      ("rcC", 0): (self.a, 1)}
        self.run(3000)
        del self.log[:]

    def _add(self, name, sides):
        hs = []
        if name in self.got:
            hs = [(EP, (lambda p: self.got[name].append((p.ty, bytes(p.payload)))), None)]
        r = Router(now_ms=self.clock, hostname=name, handlers=hs, e2e_key_id=KID)
        for i in range(sides):
            r.add_side_packed("s%d" % i, self._tx(name, i))
        return r

    def _tx(self, name, i):
        def tx(f):
            f = bytes(f)
            self.log.append((self.clock.t, name, i, f))
            self.q.append((name, i, f))
        return tx

    def pump(self):
        while self.q:
            name, i, f = self.q.pop(0)
            if self.drop is not None and self.drop(f, name):
                continue
            r, side = self.links[(name, i)]
            try:
                r.receive_packed_from_side(side, f)
            except sedsnet.SedsError:
                pass

    def run(self, to):
        while self.clock.t < to:
            self.clock.t += 50
            for r in (self.a, self.b, self.c):
                r.periodic(0)
            self.pump()

    def sent(self, ty):
        return [(t, i) for t, n, i, f in self.log if n == "rcA" and _hdr(f).ty == ty]

    def pending(self):
        return self.a.export_runtime_stats()["reliable"]["end_to_end_pending_count"]


def _acks_of(holder):
    """A drop rule: the first E2E ACK from holder, once."""
    left = [1]

    def drop(f, frm):
        h = _hdr(f)
        if left[0] and frm == holder and h.ty == 1 and h.contract_start >= 0:
            left[0] -= 1
            return True
        return False
    return drop


def _le(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))


def _targets():
    hb, hc = sorted((sender_hash("rcB"), sender_hash("rcC")))
    return b"\x02" + _le(hb) + _le(hc)


def test_a_sealed_reliable_log_carries_the_contract_before_the_sealed_payload():
    setup()
    net = Net()
    net.drop = _acks_of("rcC")
    net.a.log_bytes(SORD, b"\x01\x02")
    net.a.log_bytes(SSTAT, b"\x00" * 12)
    net.pump()
    for ty, shape, plen in ((SORD, b"\x02", 2), (SSTAT, b"\x44\x03", 12)):
        frames = [f for t, n, i, f in net.log if n == "rcA" and _hdr(f).ty == ty]
        assert len(frames) == 2 and frames[0] == frames[1]
        f = frames[0]
        h = _hdr(f)
        assert f[0] == 0xDE and h.e2e  # the CE of a clear one, | 0x10 (E2E)
        contract = b"\x07" + shape + _targets()
        assert f[h.contract_start - 1:h.payload_start] == bytes([len(contract)]) + contract \
            + b"\x84\x00"
        # the sealed payload: uleb key id, uleb plaintext length, 12-byte nonce, 16-byte tag
        assert f[h.payload_start:h.payload_start + 4] == b"\xd1\x0e" + bytes([plen, 12])
        assert h.payload_end - h.payload_start == 2 + 1 + 13 + 17 + plen
    assert net.got["rcB"] == net.got["rcC"] == [(SORD, b"\x01\x02"), (SSTAT, b"\x00" * 12)]
    assert net.pending() == 1  # C's first ACK lost
    net.run(3400)
    assert net.sent(SORD) == [(3000, 0), (3000, 1), (3200, 1)]  # toward C only
    assert net.sent(SSTAT) == [(3000, 0), (3000, 1)]
    assert net.pending() == 0  # C's ACK of the resent sealed frame named the right packet
    assert net.got["rcC"] == [(SORD, b"\x01\x02"), (SSTAT, b"\x00" * 12)]  # once
    sedsnet.remove_e2e_key(KID)


def test_transmit_of_a_reliable_type_is_contracted_kept_and_resent():
    setup()
    net = Net()
    net.drop = _acks_of("rcC")
    p = sedsnet.make_packet(UNO, "rcA", [EP], 3000, b"\x05")
    net.a.transmit_message(p)
    net.pump()
    f = next(f for t, n, i, f in net.log if n == "rcA")
    h = _hdr(f)
    contract = b"\x07\x02" + _targets()
    assert f[0] == 0xCE and f[h.contract_start:h.contract_end] == contract
    assert f[h.payload_start:h.payload_end] == b"\x05"
    assert net.pending() == 1
    net.run(3400)
    assert net.sent(UNO) == [(3000, 0), (3000, 1), (3200, 1)] and net.pending() == 0
    # the packed and queued forms too; an ordered type waits behind its head
    net.drop = lambda f, frm: _hdr(f).ty == 1  # no ACK passes
    net.a.transmit_packed_message(bytes(sedsnet.make_packet(ORD, "rcA", [EP], 3400,
                                                            b"\x06").pack()))
    net.a.transmit_message_queue(sedsnet.make_packet(ORD, "rcA", [EP], 3400, b"\x07"))
    net.a.transmit_packed_message_queue(bytes(sedsnet.make_packet(UNO, "rcA", [EP], 3400,
                                                                  b"\x08").pack()))
    net.a.process_all_queues()
    net.pump()
    assert net.pending() == 3
    assert net.sent(ORD) == [(3400, 0), (3400, 1)]  # the head only
    assert [p for ty, p in net.got["rcB"]] == [b"\x05", b"\x06", b"\x08"]
    sedsnet.remove_e2e_key(KID)


def test_a_sealed_transmit_is_contracted_then_sealed():
    setup()
    net = Net()
    net.a.transmit_message(sedsnet.make_packet(SSTAT, "rcA", [EP], 3000, b"\x01" * 12))
    net.pump()
    f = next(f for t, n, i, f in net.log if n == "rcA")
    h = _hdr(f)
    assert f[0] == 0xDE and f[h.contract_start:h.contract_end] == b"\x07\x44\x03" + _targets()
    assert net.got["rcB"] == net.got["rcC"] == [(SSTAT, b"\x01" * 12)]
    assert net.pending() == 0
    sedsnet.remove_e2e_key(KID)


def test_transmit_sent_as_is_where_no_contract_applies():
    setup()
    net = Net()
    # another sender's packet (a holder's ACK would name it, not us): as it is, untracked
    net.a.transmit_message(sedsnet.make_packet(UNO, "rcOther", [EP], 3000, b"\x09"))
    net.pump()
    f = next(f for t, n, i, f in net.log if n == "rcA")
    h = _hdr(f)
    assert h.contract_start < 0 and h.src_addr == source_address("rcOther")
    assert net.pending() == 0
    sedsnet.remove_e2e_key(KID)


def test_plain_router_transmit_never_loads_the_origin():
    setup()
    sys.modules.pop("sedsnet.reliable_origin", None)
    got = []
    r = Router(hostname="rcPlain", now_ms=Clock(0), handlers=[(EP, got.append, None)])
    r.add_side_packed("p", lambda f: None)
    r.transmit_message(sedsnet.make_packet(UNO, "rcPlain", [EP], 0, b"\x01"))  # nobody
    r.transmit_packed_message(bytes(sedsnet.make_packet(ORD, "rcPlain", [EP], 0,
                                                        b"\x02").pack()))  # announced
    r.log_bytes(UNO, b"\x03")
    r.receive_packed_from_side(0, bytes(sedsnet.make_packet(UNO, "rcPeer", [EP], 0,
                                                            b"\x04").pack()))
    r.periodic(0)
    assert "sedsnet.reliable_origin" not in sys.modules and r.e2o is None
    assert len(got) == 4
    sedsnet.remove_e2e_key(KID)


def test_a_holder_acks_a_resent_sealed_frame_by_its_opened_packet_id():
    # (what 4.2.7 holders do: the first ACK and the re-ACK of a resend name the same ID)
    setup()
    from sedsnet import ids, schema
    from sedsnet.e2e_frame import overhead, seal_frame
    from sedsnet.reliable_origin import contract
    from sedsnet.wire import frame_size, pack_into
    got = []
    out = []
    h = Router(hostname="rcHold", now_ms=Clock(5000), handlers=[(EP, got.append, None)],
               e2e_key_id=KID)
    h.add_side_packed("in", lambda f: out.append(bytes(f)))
    c = contract(schema.type_record(SORD), [sender_hash("rcHold")])
    src = source_address("rcOrigin")
    size = frame_size(2, SORD, src, 4000, 77, 2, len(c), 0x84)
    f = bytearray(size + overhead(KID, 2))
    pack_into(f, SORD, src, [EP], 4000, 77, b"\x0a\x0b", c, 0x84)
    clear = _hdr(bytes(f[:size]))
    pid = bytearray(8)
    ids.write_packet_id(clear, f, pid)
    n = seal_frame(f, 0, size, KID, SORD, 4000, 77, b"\x0a\x0b")
    assert n == len(f) and _hdr(bytes(f)).e2e
    h.receive_packed_from_side(0, bytes(f))
    h.receive_packed_from_side(0, bytes(f))  # the origin's resend: our first ACK was lost
    acks = [a for a in out if _hdr(a).ty == 1]
    assert len(acks) == 2
    for a in acks:
        ah = _hdr(a)
        assert a[ah.payload_start:ah.payload_end] == pid
    assert len(got) == 1 and bytes(got[0].payload) == b"\x0a\x0b"
    sedsnet.remove_e2e_key(KID)
