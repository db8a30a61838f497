# Wire contracts on E2E-sealed reliable logs and on transmit_* frames (reliable_origin.log,
# reliable_origin.transmit; host_tests/test_reliable_origin_contracts.py has them against
# 4.2.7): a sealed reliable log carries the contract in its header, then the sealed payload;
# holders ACK the opened frame's packet ID, a resent sealed frame too; transmit_* of a
# reliable type goes, is kept and is resent as a log of it. Our Routers on one fake clock,
# links pumped by the test, E2E ACKs dropped by a rule.


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
