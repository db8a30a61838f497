# A holder's E2E ACK of an E2E-sealed reliable frame seen again (reliable_e2e.repeat): the
# origin resends because our first ACK was lost, so the new ACK must name the same packet ID
# as the first one, the ID of the opened frame (the one a 4.2.7 origin waits for). It named
# the ID of the sealed bytes instead, which no origin knows: in the simulator's default
# scenario each lost first ACK of a COMMAND made the 4.2.7 ground resend it 40 times and
# raise "ordered end-to-end delivery exhausted retries" (issue 18).
import sedsnet
from sedsnet import e2e, ids, schema
from sedsnet.e2e_frame import seal_packed
from sedsnet.ids import sender_hash, source_address
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into
from support import Clock

EP = 7791  # (IDs no other dual module uses: they share a process)
CMD = 7792  # static u8 x1, reliable=1 (ordered), RequireOn
KID = 11
KEY = b"e2e repeat ack key, 32 bytes!!!!"


def setup():
    if not sedsnet.data_type_exists(CMD):
        sedsnet.register_endpoint(EP, "ER_EP")
        sedsnet.register_data_type(CMD, "ER_CMD", True, 1, 2, 0, [EP], reliable=1,
                                   e2e_encryption=2)
    sedsnet.register_e2e_key(KID, KEY)


def _sealed(me, origin):
    """A reliable CMD from origin whose contract names holder me, in clear and sealed."""
    from sedsnet.reliable_origin import contract
    c = bytes(contract(schema.type_record(CMD), [sender_hash(me)]))
    buf = bytearray(128)
    k = pack_into(buf, CMD, source_address(origin), [EP], 3000, 5, b"\x2a", c, 0x84, 0)
    clear = bytes(buf[:k])
    sealer = Router(hostname=origin, now_ms=Clock(1000), discovery=False, e2e_key_id=KID)
    sealed = bytes(seal_packed(sealer, schema.type_record(CMD), clear))
    return clear, sealed


def _acked_ids(frames):
    out = []
    for f in frames:
        a = FrameHeader(max_endpoints=4)
        a.parse(f)
        if a.ty == 1 and a.contract_start >= 0:
            out.append(bytes(f[a.payload_start:a.payload_end]))
    return out


def test_a_sealed_resend_is_acked_with_the_opened_packets_id():
    setup()
    try:
        clear, sealed = _sealed("erHolder", "erOrigin")
        assert sealed[0] & 0x10 and sealed != clear  # (sealed: FLAGS 0x10)
        h = FrameHeader(max_endpoints=4)
        h.parse(clear)
        pid = bytearray(8)
        ids.write_packet_id(h, clear, pid)
        got = []
        out = []
        r = Router(hostname="erHolder", now_ms=Clock(1000), discovery=False,
                   handlers=[(EP, lambda p: got.append(bytes(p.payload)), None)])
        s = r.add_side_packed("s", lambda f: out.append(bytes(f)))
        for _ in range(3):  # the first copy, then two resends (our first ACKs were lost)
            r.receive_packed_from_side(s, sealed)
        assert got == [b"\x2a"]  # delivered once, opened
        assert _acked_ids(out) == [bytes(pid)] * 3  # every ACK names the origin's packet
    finally:
        e2e.remove_e2e_key(KID)
