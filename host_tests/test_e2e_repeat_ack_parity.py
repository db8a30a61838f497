"""A holder's E2E ACKs of an E2E-sealed reliable frame that comes again (an origin's resends
after its first ACK was lost), against 4.2.7: the same script run by a reference Router and by
ours (CPython and MicroPython). Probed fact: 4.2.7 ACKs every copy (here 250 ms apart) and each
ACK names the packet ID of the opened frame, the one its origin waits for. Ours named the ID of
the sealed bytes in the ACKs of the resends (issue 18: the simulator's 4.2.7 ground then resent
a COMMAND 40 times and gave up)."""
import toolchain
from peerproc import run_script

from sedsnet import e2e, ids, schema
from sedsnet.e2e_frame import seal_packed
from sedsnet.ids import sender_hash, source_address
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into

KEY = b"e2e repeat ack key, 32 bytes!!!!"

SCRIPT = r"""
import sys
import json
OURS = sys.argv[1] != "reference"
if OURS and sys.implementation.name != "micropython":
    sys.path.insert(0, sys.argv[3])
import sedsnet as seds

KEY = b"e2e repeat ack key, 32 bytes!!!!"
if OURS:
    seds.register_e2e_key(11, KEY)
else:
    import ctypes
    import sedsnet.sedsnet as native
    lib = ctypes.CDLL(native.__file__)
    assert lib.seds_crypto_register_software_key(ctypes.c_uint32(11), KEY, ctypes.c_size_t(32)) == 0
seds.register_endpoint(7791, "ER_EP")
seds.register_data_type(7792, "ER_CMD", True, 1, 2, 0, [7791], reliable=1, e2e_encryption=2)
T = [1000]
got = []
out = []
r = seds.Router(hostname="erHolder", now_ms=lambda: T[0],
                handlers=[(7791, lambda p: got.append(bytes(p.payload).hex()), None)])
s = r.add_side_packed("IN", lambda f: out.append(bytes(f).hex()))
r.periodic(0)
frame = bytes(bytearray.fromhex(sys.argv[2]))
n0 = len(out)
for i in range(3):
    T[0] = 1000 + 250 * i
    r.receive_packed_from_side(s, frame)
print(json.dumps([got, out[n0:]]))
"""


def _frames():
    """A reliable ER_CMD from erOrigin whose contract names erHolder: clear and sealed (ours
    seals it as a 4.2.7 origin does: test_e2e_parity.py)."""
    from sedsnet import register_data_type, register_endpoint
    from sedsnet.reliable_origin import contract
    if not schema.type_record(7792):
        register_endpoint(7791, "ER_EP")
        register_data_type(7792, "ER_CMD", True, 1, 2, 0, [7791], reliable=1, e2e_encryption=2)
    e2e.register_e2e_key(11, KEY)
    try:
        c = bytes(contract(schema.type_record(7792), [sender_hash("erHolder")]))
        buf = bytearray(128)
        k = pack_into(buf, 7792, source_address("erOrigin"), [7791], 3000, 5, b"\x2a", c, 0x84, 0)
        clear = bytes(buf[:k])
        sealer = Router(hostname="erOrigin", now_ms=lambda: 1000, discovery=False, e2e_key_id=11)
        sealed = bytes(seal_packed(sealer, schema.type_record(7792), clear))
    finally:
        e2e.remove_e2e_key(11)
    h = FrameHeader(max_endpoints=4)
    h.parse(clear)
    pid = bytearray(8)
    ids.write_packet_id(h, clear, pid)
    return sealed, bytes(pid)


def _acked(frames):
    out = []
    for f in frames:
        f = bytes.fromhex(f)
        a = FrameHeader(max_endpoints=4)
        a.parse(f)
        if a.ty == 1 and a.contract_start >= 0:
            out.append(bytes(f[a.payload_start:a.payload_end]))
    return out


def test_every_ack_of_a_sealed_resend_names_the_opened_packet(mp_runtime):
    sealed, pid = _frames()
    assert sealed[0] & 0x10
    got, frames = run_script(SCRIPT, "reference", sealed.hex())
    assert got == ["2a"]  # delivered once
    assert _acked(frames) == [pid] * 3  # each copy ACKed, with the opened frame's ID
    for res in (run_script(SCRIPT, "ours", sealed.hex(), toolchain.LIB),
                run_script(SCRIPT, "ours", sealed.hex(),
                           argv=[toolchain.runtime_binary(mp_runtime), "-X", "heapsize=4M"],
                           env=toolchain.mp_env())):
        assert res[0] == got
        assert _acked(res[1]) == [pid] * 3
