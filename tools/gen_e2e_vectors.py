"""Generate host_tests/vectors/e2e_seal.json from the reference sedsnet 4.2.7 (CPython only).

The reference's exported C API (seds_crypto_register_software_key, seds_crypto_seal,
seds_crypto_open), called through ctypes on the extension the `sedsnet` module loaded, gives
golden seal outputs (ciphertext + 16-byte tag) for a spread of keys (32 bytes as is, other
lengths by SHA-256), key ids, nonces, AADs and payload lengths; opens of tampered inputs (all
refused) and the key lengths the keyring refuses; and whole E2E frames sent by reference Routers
(RequireOn type, key id 7) that host_tests/dual/test_e2e.py opens with our Router.

Usage: .venv/bin/python tools/gen_e2e_vectors.py [OUT.json]
"""
import ctypes
import json
import os
import sys

import sedsnet as ref  # the reference; this script never imports our lib/
import sedsnet.sedsnet as native

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "host_tests", "vectors", "e2e_seal.json"))
LIB = ctypes.CDLL(native.__file__)
c_size = ctypes.c_size_t


def register(kid, key):
    return LIB.seds_crypto_register_software_key(ctypes.c_uint32(kid), bytes(key), c_size(len(key)))


def seal(kid, nonce, aad, pt):
    ct = ctypes.create_string_buffer(len(pt) + 1)
    tag = ctypes.create_string_buffer(64)
    cl, tl = c_size(), c_size()
    rc = LIB.seds_crypto_seal(ctypes.c_uint32(kid), bytes(nonce), c_size(len(nonce)), bytes(aad),
                              c_size(len(aad)), bytes(pt), c_size(len(pt)), ct, c_size(len(pt) + 1),
                              ctypes.byref(cl), tag, c_size(64), ctypes.byref(tl))
    if rc:
        raise RuntimeError("seds_crypto_seal: %d" % rc)
    return ct.raw[:cl.value], tag.raw[:tl.value]


def open_rc(kid, nonce, aad, ct, tag):
    out = ctypes.create_string_buffer(len(ct) + 1)
    ol = c_size()
    rc = LIB.seds_crypto_open(ctypes.c_uint32(kid), bytes(nonce), c_size(len(nonce)), bytes(aad),
                              c_size(len(aad)), bytes(ct), c_size(len(ct)), bytes(tag), c_size(len(tag)),
                              out, c_size(len(ct) + 1), ctypes.byref(ol))
    return rc, out.raw[:ol.value]


def pattern(n, seed):
    return bytes((seed + 31 * i + (i * i >> 3)) & 0xFF for i in range(n))


def seal_cases():
    keys = [(7, pattern(32, 1)), (0, pattern(16, 2)), (127, pattern(20, 3)), (128, pattern(31, 4)),
            (300, pattern(33, 5)), (0xFFFFFFFF, pattern(64, 6))]
    cases = []
    for kid, key in keys:
        assert register(kid, key) == 0
    for ki, (kid, key) in enumerate(keys):
        for plen in (0, 1, 12, 31, 32, 33, 64, 100):
            nonce = pattern(12, 40 + plen + ki)
            aad = pattern((plen * 3 + ki) % 23 + 3, 90 + ki)
            pt = pattern(plen, 7 * plen + ki)
            ct, tag = seal(kid, nonce, aad, pt)
            rc, back = open_rc(kid, nonce, aad, ct, tag)
            assert rc == 0 and back == pt and len(tag) == 16
            cases.append({"case": "seal_k%d_p%d" % (kid, plen), "key_id": kid, "key": key.hex(),
                          "nonce": nonce.hex(), "aad": aad.hex(), "plaintext": pt.hex(),
                          "ciphertext": ct.hex(), "tag": tag.hex()})
    # tampering: one bit of each input; the reference's open refuses every one
    kid, key = keys[0]
    nonce, aad, pt = pattern(12, 11), pattern(9, 12), pattern(12, 13)
    ct, tag = seal(kid, nonce, aad, pt)
    bad = []
    for part in ("nonce", "aad", "ciphertext", "tag"):
        src = {"nonce": nonce, "aad": aad, "ciphertext": ct, "tag": tag}
        for pos in (0, len(src[part]) - 1):
            b = bytearray(src[part])
            b[pos] ^= 0x01
            src[part] = bytes(b)
            rc, _ = open_rc(kid, src["nonce"], src["aad"], src["ciphertext"], src["tag"])
            assert rc != 0
            bad.append({"part": part, "pos": pos, "nonce": src["nonce"].hex(), "aad": src["aad"].hex(),
                        "ciphertext": src["ciphertext"].hex(), "tag": src["tag"].hex(), "rc": rc})
    rc_short, _ = open_rc(kid, nonce, aad, ct, tag[:8])
    rc_nokey, _ = open_rc(4242, nonce, aad, ct, tag)
    cases.append({"case": "open_refused", "key_id": kid, "key": key.hex(), "plaintext": pt.hex(),
                  "good": {"nonce": nonce.hex(), "aad": aad.hex(), "ciphertext": ct.hex(),
                           "tag": tag.hex()},
                  "bad": bad, "short_tag_rc": rc_short, "no_key_rc": rc_nokey})
    cases.append({"case": "key_lengths", "results": {str(n): register(900 + n, bytes(n))
                                                     for n in (0, 1, 15, 16)}})
    return cases


def frame_cases():
    # whole frames from reference Routers with key id 7 = bytes(range(32)), RequireOn types
    assert register(7, bytes(range(32))) == 0
    ref.register_endpoint(150, "E2E_SINK")
    ref.register_data_type(4100, "E2E_U8", True, 1, 2, 0, [150], e2e_encryption=2)
    ref.register_data_type(4101, "E2E_F32X3", True, 3, 1, 0, [150], e2e_encryption=2)
    ref.register_data_type(4102, "E2E_DYN", False, 0, 2, 0, [150], e2e_encryption=1)
    out = []
    r = ref.Router(hostname="e2e_gen", now_ms=lambda: 123456789, e2e_mode=1, e2e_key_id=7)
    r.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
    r3 = ref.Router(hostname="e2e_gen3", now_ms=lambda: 1000, e2e_mode=3, e2e_key_id=7)
    r3.add_side_packed("ONLY", lambda f: out.append(bytes(f)))
    cases = []
    for router, ty, payload in ((r, 4100, b"\x2a"), (r, 4101, pattern(12, 77)),
                                (r3, 4102, pattern(40, 5)), (r3, 4100, b"\x07")):
        n = len(out)
        router.log_bytes(ty, payload)
        user = [f for f in out[n:] if ref.peek_header_py(f)["ty"] == ty]
        assert len(user) == 1 and user[0][0] & 0x10, user
        cases.append({"case": "frame_%d_%d" % (ty, len(cases)), "ty": ty, "key_id": 7,
                      "payload": payload.hex(), "frame": user[0].hex()})
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    cases = seal_cases() + frame_cases()
    with open(out, "w") as f:
        json.dump({"area": "e2e_seal", "generator": "tools/gen_e2e_vectors.py",
                   "reference": "sedsnet 4.2.7", "cases": cases}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), out))


if __name__ == "__main__":
    main()
