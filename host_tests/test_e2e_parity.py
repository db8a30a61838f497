"""E2E send side against the reference: the same script of logs (every e2e_mode x policy, with
and without the key, queued and direct, reliable and dynamic types, a wide timestamp, a
multi-byte key id) run by a reference Router (CPython, key installed through the exported C API)
and by ours (CPython and both MicroPython runtimes, register_e2e_key) gives the same frame bytes
and the same refusals. The packet nonce sequence is the same process-global one on both, so the
frames are deterministic."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import sys
import json
OURS = sys.argv[1] != "reference"
if OURS and sys.implementation.name != "micropython":
    sys.path.insert(0, sys.argv[2])
import sedsnet as seds


def add_key(kid, key):
    if OURS:
        seds.register_e2e_key(kid, key)
        return
    import ctypes
    import sedsnet.sedsnet as native
    lib = ctypes.CDLL(native.__file__)
    assert lib.seds_crypto_register_software_key(ctypes.c_uint32(kid), key, ctypes.c_size_t(len(key))) == 0


seds.register_endpoint(150, "E2E_SINK")
seds.register_data_type(4100, "REQ", True, 1, 2, 0, [150], e2e_encryption=2)
seds.register_data_type(4101, "ON", True, 2, 3, 0, [150], e2e_encryption=1)
seds.register_data_type(4102, "OFF", True, 1, 2, 0, [150], e2e_encryption=0)
seds.register_data_type(4103, "REQ_REL", True, 3, 1, 0, [150], reliable=1, e2e_encryption=2)
seds.register_data_type(4104, "ON_DYN", False, 0, 2, 0, [150], e2e_encryption=1)
TYPES = (4100, 4101, 4102)
PAY = {4100: b"\x2a", 4101: b"\x01\x02\x03\x04", 4102: b"\x07"}
out = []
results = []


def run(r, ty, payload, queue=False, ts=None):
    n = len(out)
    try:
        r.log_bytes(ty, payload, timestamp_ms=ts, queue=queue)
        if queue:
            r.process_all_queues()
        got = [f.hex() for f in out[n:] if f[2:4] in (b"\x84\x20", b"\x85\x20", b"\x86\x20", b"\x87\x20",
                                                       b"\x88\x20")]
        results.append(got)
    except seds.SedsError if OURS else RuntimeError:
        results.append("refused" if len(out) == n else "refused-but-sent")


for with_key in (False, True):
    if with_key:
        add_key(7, bytes(range(32)))
        add_key(300, b"a 20-byte group key!")
    for mode in (0, 1, 2, 3, 255):
        r = seds.Router(hostname="par_e2e", now_ms=lambda: 1000, e2e_mode=mode, e2e_key_id=7)
        r.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
        r.periodic(0)  # the announcements first (4.2.7 draws their nonces at add_side, we later)
        for ty in TYPES:
            run(r, ty, PAY[ty])
r = seds.Router(hostname="par_e2e2", now_ms=lambda: 0x123456789ABCDE, e2e_key_id=300)
r.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
r.periodic(0)
run(r, 4100, b"\x01")
run(r, 4101, b"\x05\x06\x07\x08", queue=True)
run(r, 4103, bytes(range(12)))
run(r, 4104, bytes(range(70)), ts=5)
run(r, 4104, b"", ts=6)
r3 = seds.Router(hostname="par_e2e3", now_ms=lambda: 77, e2e_key_id=8)  # key id with no key
r3.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
r3.periodic(0)
run(r3, 4100, b"\x01")
run(r3, 4102, b"\x01")


def call(fn, *args):
    n = len(out)
    try:
        fn(*args)
        results.append([f.hex() for f in out[n:] if f[2:4] in (b"\x84\x20", b"\x86\x20")])
    except seds.SedsError if OURS else RuntimeError:
        results.append("refused" if len(out) == n else "refused-but-sent")


# transmit_message and set_network_variable follow the same table (4.2.7)
r4 = seds.Router(hostname="par_e2e4", now_ms=lambda: 2000, e2e_mode=1, e2e_key_id=7)
r4.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
r4.periodic(0)
call(r4.transmit_message, seds.make_packet(4100, "par_e2e4", [150], 1500, b"\x09"))
call(r4.transmit_message, seds.make_packet(4102, "par_e2e4", [150], 1501, b"\x0a"))
call(r4.transmit_packed_message, seds.make_packet(4100, "par_e2e4", [150], 1502, b"\x0b").pack())
r4.enable_network_variable(4100, True, True)
call(r4.set_network_variable, seds.make_packet(4100, "par_e2e4", [150], 1503, b"\x0c"))
r5 = seds.Router(hostname="par_e2e5", now_ms=lambda: 3000, e2e_mode=1, e2e_key_id=8)
r5.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
r5.periodic(0)
call(r5.transmit_message, seds.make_packet(4100, "par_e2e5", [150], 1600, b"\x0d"))
r5.enable_network_variable(4100, True, True)
call(r5.set_network_variable, seds.make_packet(4100, "par_e2e5", [150], 1601, b"\x0e"))
results.append(r5.cached_network_variable(4100) is not None)  # cached, though not sent
print(json.dumps(results))
"""


def _run(kind, runtime="cpython"):
    if runtime == "cpython":
        return run_script(SCRIPT, kind, toolchain.LIB)
    return run_script(SCRIPT, kind, argv=[toolchain.runtime_binary(runtime), "-X", "heapsize=4M"],
                      env=toolchain.mp_env())

def test_sealed_frames_match_the_reference_byte_for_byte(mp_runtime):
    ref = _run("reference")
    # the table of verified-4.2.7.md, from the reference itself: no key, then key 7 present
    shape = [("!" if r == "refused" else ("E" if int(r[0][:2], 16) & 0x10 else "c"))
             for r in ref[:30]]
    assert "".join(shape) == "!cc" "!cc" "!!c" "!!!" "!!c" "!cc" "Ecc" "EEc" "EEE" "EEc"
    assert "refused-but-sent" not in ref
    tail = ref[-7:]  # transmit and set_network_variable: sealed, clear, sealed, sealed; refused
    assert [t if isinstance(t, (str, bool)) else int(t[0][:2], 16) for t in tail] == [
        0x98, 0x88, 0x98, 0x98, "refused", "refused", True]
    for name, res in (("cpython", _run("ours")), (mp_runtime, _run("ours", mp_runtime))):
        for i, (a, b) in enumerate(zip(ref, res)):
            assert a == b, (name, i, a, b)
        assert len(res) == len(ref)
