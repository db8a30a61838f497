# E2E payload crypto (lib/sedsnet/e2e.py, e2e_frame.py): the keyring, seal/open against golden
# vectors from the reference's seds_crypto_seal/open (host_tests/vectors/e2e_seal.json, made by
# tools/gen_e2e_vectors.py), the send policy x mode table, receiving (authenticate before any
# handler, tampered frames dropped as `e2e`, RequireOn in clear dropped), and lazy loading.
import sys

import sedsnet
from sedsnet.router import Router
from support import load_vectors, raises, unhex

SINK = 150  # the vectors' endpoint and types (tools/gen_e2e_vectors.py)
T_U8 = 4100  # static u8 x1, RequireOn
T_F32 = 4101  # static f32 x3, RequireOn
T_DYN = 4102  # dynamic u8, PreferOn
T_OFF = 4103  # static u8 x1, PreferOff (ours only)
T_ON = 4104  # static u8 x1, PreferOn (ours only)


def setup():
    if sedsnet.data_type_exists(T_U8):
        return
    sedsnet.register_endpoint(SINK, "E2E_SINK")
    sedsnet.register_data_type(T_U8, "E2E_U8", True, 1, 2, 0, [SINK], e2e_encryption=2)
    sedsnet.register_data_type(T_F32, "E2E_F32X3", True, 3, 1, 0, [SINK], e2e_encryption=2)
    sedsnet.register_data_type(T_DYN, "E2E_DYN", False, 0, 2, 0, [SINK], e2e_encryption=1)
    sedsnet.register_data_type(T_OFF, "E2E_OFF", True, 1, 2, 0, [SINK], e2e_encryption=0)
    sedsnet.register_data_type(T_ON, "E2E_ON", True, 1, 2, 0, [SINK], e2e_encryption=1)


def _vectors():
    return load_vectors("e2e_seal.json")


def _clear_keys():
    from sedsnet import e2e
    for kid in list(e2e._keys):
        e2e.remove_e2e_key(kid)
    return e2e


def _forget_e2e_modules():
    # a fresh look at what a plain Router imports (the CPython run shares one process)
    saved = {}
    for name in ("e2e", "e2e_frame", "netvar"):
        full = "sedsnet." + name
        if full in sys.modules:
            saved[full] = sys.modules.pop(full)
        if name in sedsnet.__dict__:
            saved[name] = sedsnet.__dict__.pop(name)
    return saved


def _restore(saved):
    for k, v in saved.items():
        if k.startswith("sedsnet."):
            sys.modules[k] = v
        else:
            setattr(sedsnet, k, v)


def test_plain_router_never_imports_e2e_modules():
    setup()
    saved = _forget_e2e_modules()
    try:
        got = []
        out = []
        a = Router(handlers=[(SINK, got.append, None)], hostname="plain", now_ms=lambda: 5)
        s = a.add_side_packed("ONLY", out.append)
        a.log_bytes(T_OFF, b"\x01")
        b = Router(hostname="plain_tx", now_ms=lambda: 6, discovery=False)
        b.add_side_packed("ONLY", lambda f: a.receive_packed_from_side(s, bytes(f)))
        b.log_bytes(T_OFF, b"\x02")
        a.periodic(0)
        a.export_runtime_stats()
        assert len(got) == 2 and got[1].payload == b"\x02"
        assert "sedsnet.e2e" not in sys.modules
        assert "sedsnet.e2e_frame" not in sys.modules
        assert "sedsnet.netvar" not in sys.modules  # (network variables: the same rule)
    finally:
        _restore(saved)


def test_seal_matches_reference_vectors_byte_for_byte():
    e2e = _clear_keys()
    n = 0
    for c in _vectors():
        if not c["case"].startswith("seal_"):
            continue
        e2e.register_e2e_key(c["key_id"], unhex(c["key"]))
        ct, tag = e2e.seal(c["key_id"], unhex(c["nonce"]), unhex(c["aad"]), unhex(c["plaintext"]))
        assert ct == unhex(c["ciphertext"]), c["case"]
        assert tag == unhex(c["tag"]), c["case"]
        back = e2e.open(c["key_id"], unhex(c["nonce"]), unhex(c["aad"]), ct, tag)
        assert back == unhex(c["plaintext"]), c["case"]
        n += 1
    assert n == 48


def test_open_refuses_what_the_reference_refuses():
    e2e = _clear_keys()
    c = next(v for v in _vectors() if v["case"] == "open_refused")
    e2e.register_e2e_key(c["key_id"], unhex(c["key"]))
    g = c["good"]
    assert e2e.open(c["key_id"], unhex(g["nonce"]), unhex(g["aad"]), unhex(g["ciphertext"]),
                    unhex(g["tag"])) == unhex(c["plaintext"])
    for b in c["bad"]:
        out = bytearray(b"\xee" * len(unhex(b["ciphertext"])))
        raises(sedsnet.E2EError, e2e.open_into, c["key_id"], unhex(b["nonce"]), unhex(b["aad"]),
               unhex(b["ciphertext"]), unhex(b["tag"]), out)
        assert out == bytearray(b"\xee" * len(out))  # nothing decrypted on failure
    raises(sedsnet.E2EError, e2e.open, c["key_id"], unhex(g["nonce"]), unhex(g["aad"]),
           unhex(g["ciphertext"]), unhex(g["tag"])[:8])
    raises(sedsnet.E2EError, e2e.open, 4242, unhex(g["nonce"]), unhex(g["aad"]),
           unhex(g["ciphertext"]), unhex(g["tag"]))


def test_keyring_lengths_bound_and_remove():
    e2e = _clear_keys()
    lens = next(v for v in _vectors() if v["case"] == "key_lengths")["results"]
    for n in (0, 1, 15, 16):
        if lens[str(n)] == 0:
            sedsnet.register_e2e_key(900 + n, bytes(n))
        else:  # the reference refuses keys under 16 bytes
            raises(sedsnet.ArgumentError, sedsnet.register_e2e_key, 900 + n, bytes(n))
    raises(sedsnet.ArgumentError, sedsnet.register_e2e_key, -1, bytes(32))
    raises(sedsnet.ArgumentError, sedsnet.register_e2e_key, 1 << 32, bytes(32))
    raises(sedsnet.ArgumentError, sedsnet.register_e2e_key, 1, "not bytes")
    for kid in range(e2e.key_count(), 8):
        sedsnet.register_e2e_key(1000 + kid, bytes(32))
    assert e2e.key_count() == 8
    full = e2e.stats()["keyring_full"]
    raises(sedsnet.E2EError, sedsnet.register_e2e_key, 5000, bytes(32))
    assert e2e.stats()["keyring_full"] == full + 1
    sedsnet.register_e2e_key(1007, bytes(range(32)))  # a known id is replaced, not refused
    assert sedsnet.remove_e2e_key(1007) is True
    assert sedsnet.remove_e2e_key(1007) is False
    sedsnet.register_e2e_key(5000, bytes(32))
    assert e2e.key_count() == 8
    _clear_keys()


def _rx_router(eps=(SINK,), **kw):
    got = []
    raw = []
    r = Router(handlers=[(e, got.append, raw.append) for e in eps], hostname="e2e_rx",
               now_ms=lambda: 50, discovery=False, **kw)
    s = r.add_side_packed("IN", lambda f: None)
    return r, s, got, raw


def test_reference_frames_open_and_deliver_plaintext():
    setup()
    _clear_keys()
    sedsnet.register_e2e_key(7, bytes(range(32)))
    n = 0
    for c in _vectors():
        if not c["case"].startswith("frame_"):
            continue
        r, s, got, raw = _rx_router(e2e_mode=0)  # any router with the key opens (4.2.7)
        r.receive_packed_from_side(s, unhex(c["frame"]))
        assert len(got) == 1, c["case"]
        assert got[0].ty == c["ty"] and got[0].payload == unhex(c["payload"])
        assert raw == [unhex(c["frame"])]  # packed handlers get the frame as it came (4.2.7)
        n += 1
    assert n == 4
    _clear_keys()


def _drops(r):
    return r.export_runtime_stats()["sides"][0]["drops"]


def test_every_byte_change_before_the_crc_is_rejected():
    from sedsnet.wire import crc32_write
    setup()
    _clear_keys()
    sedsnet.register_e2e_key(7, bytes(range(32)))
    c = next(v for v in _vectors() if v["case"].startswith("frame_4101"))
    frame = unhex(c["frame"])
    rejected = 0
    for pos in range(len(frame) - 4):
        for delta in (1, 0x80, 0xFF):
            m = bytearray(frame)
            m[pos] = (m[pos] + delta) & 0xFF
            crc32_write(m, 0, len(m) - 4)
            r, s, got, raw = _rx_router()
            try:
                r.receive_packed_from_side(s, bytes(m))
            except sedsnet.SedsError:
                rejected += 1
            assert got == [] and raw == [], (pos, delta)
    assert rejected > 0
    r, s, got, raw = _rx_router()
    r.receive_packed_from_side(s, frame)
    assert len(got) == 1  # the unmodified frame still opens
    _clear_keys()


def test_tampered_tag_counts_an_e2e_drop():
    from sedsnet.wire import crc32_write
    setup()
    _clear_keys()
    sedsnet.register_e2e_key(7, bytes(range(32)))
    c = next(v for v in _vectors() if v["case"].startswith("frame_4100"))
    m = bytearray(unhex(c["frame"]))
    m[-6] ^= 0x01  # the ciphertext byte
    crc32_write(m, 0, len(m) - 4)
    r, s, got, _raw = _rx_router()
    e = raises(sedsnet.E2EError, r.receive_packed_from_side, s, bytes(m))
    assert "crypto open" in str(e)
    assert _drops(r)["e2e"] == 1 and got == []
    sedsnet.remove_e2e_key(7)  # without the key: also an e2e drop, never delivered
    r2, s2, got2, _raw2 = _rx_router()
    e = raises(sedsnet.DecodeError, r2.receive_packed_from_side, s2, unhex(c["frame"]))
    assert "no e2e key" in str(e)
    assert _drops(r2)["e2e"] == 1 and got2 == []


def test_require_on_type_in_clear_is_dropped_unlike_4_2_7():
    # 4.2.7 delivers a RequireOn type that arrives without the wrapper (the downgrade an
    # attacker gets by clearing FLAGS 0x10); we drop and count it
    setup()
    _clear_keys()
    sender = Router(hostname="clear_tx", now_ms=lambda: 9, discovery=False, e2e_mode=1)
    frames = []
    sender.add_side_packed("OUT", lambda f: frames.append(bytes(f)))
    sender.log_bytes(T_OFF, b"\x05")  # PreferOff: clear
    r, s, got, _raw = _rx_router()
    r.receive_packed_from_side(s, frames[0])
    assert len(got) == 1
    from sedsnet.packet import make_packet
    clear = make_packet(T_U8, "clear_tx", [SINK], 77, b"\x09").pack()
    assert clear[0] & 0x10 == 0
    e = raises(sedsnet.E2EError, r.receive_packed_from_side, s, clear)
    assert "in clear" in str(e)
    assert _drops(r)["e2e"] == 1 and len(got) == 1


def _send(mode, ty, key):
    _clear_keys()
    if key:
        sedsnet.register_e2e_key(7, bytes(range(32)))
    out = []
    r = Router(hostname="e2e_tx", now_ms=lambda: 1000, discovery=False, e2e_mode=mode,
               e2e_key_id=7)
    r.add_side_packed("OUT", lambda f: out.append(bytes(f)))
    try:
        r.log_bytes(ty, b"\x01")
    except sedsnet.E2EError:
        assert out == []  # refused: nothing sent
        return "!"
    assert len(out) == 1
    return "E" if out[0][0] & 0x10 else "c"


def test_send_table_matches_4_2_7():
    setup()
    # RequireOn / PreferOn / PreferOff, key present / no key (verified-4.2.7.md "E2E")
    table = {0: ("!cc", "!cc"), 1: ("Ecc", "!cc"), 2: ("EEc", "!!c"), 3: ("EEE", "!!!"),
             255: ("EEc", "!!c")}
    for mode in (0, 1, 2, 3, 255):
        for k, key in ((0, True), (1, False)):
            row = "".join(_send(mode, ty, key) for ty in (T_U8, T_ON, T_OFF))
            assert row == table[mode][k], (mode, key, row)
    _clear_keys()


def test_sealed_log_round_trips_between_our_routers_and_queues():
    setup()
    _clear_keys()
    sedsnet.register_e2e_key(7, b"group key shared by all boards")  # 30 bytes: SHA-256
    r, s, got, raw = _rx_router()
    tx = Router(hostname="e2e_tx", now_ms=lambda: 0x123456789AB, discovery=False, e2e_key_id=7)
    sealed = []
    tx.add_side_packed("OUT", lambda f: (sealed.append(bytes(f)),
                                         r.receive_packed_from_side(s, bytes(f))))
    tx.log_f32(T_F32, [1.5, -2.0, 3.25])
    tx.log_bytes(T_DYN, bytes(range(70)), queue=True)  # several keystream blocks, TX ring
    tx.process_all_queues()
    assert [p.ty for p in got] == [T_F32, T_DYN]
    assert got[0].data_as_f32() == [1.5, -2.0, 3.25]
    assert got[0].timestamp_ms == 0x123456789AB
    assert got[1].payload == bytes(range(70))
    # a second holder of the same group key opens the same frame
    r2, s2, got2, _raw2 = _rx_router()
    r2.receive_packed_from_side(s2, sealed[0])
    assert len(got2) == 1 and got2[0].data_as_f32() == [1.5, -2.0, 3.25]
    assert sealed[0][0] == 0x98 and raw[0] == sealed[0]  # packed handlers: the sealed frame
    _clear_keys()


def test_middle_router_drops_tampered_frames_and_passes_on_what_it_cannot_open():
    from sedsnet.wire import crc32_write
    setup()
    _clear_keys()
    sedsnet.register_e2e_key(7, bytes(range(32)))
    c = next(v for v in _vectors() if v["case"].startswith("frame_4100"))
    good = unhex(c["frame"])
    bad = bytearray(good)
    bad[-6] ^= 0x40  # the ciphertext byte
    crc32_write(bad, 0, len(bad) - 4)

    def middle():
        fwd = []
        r = Router(handlers=[(SINK + 1, fwd.append, None)], hostname="mid", now_ms=lambda: 5,
                   discovery=False)
        a = r.add_side_packed("A", lambda f: None)
        r.add_side_packed("B", lambda f: fwd.append(bytes(f)))
        return r, a, fwd

    r, a, fwd = middle()
    e = raises(sedsnet.E2EError, r.receive_packed_from_side, a, bytes(bad))
    assert "tag mismatch" in str(e) and fwd == []  # not ours, still never passed on
    assert _drops(r)["e2e"] == 1
    r.receive_packed_from_side(a, good)
    assert fwd == [good]  # authentic: passed on as it came (sealed)
    sedsnet.remove_e2e_key(7)
    r, a, fwd = middle()
    r.receive_packed_from_side(a, bytes(bad))  # no key here: cannot tell, passed on unopened
    assert fwd == [bytes(bad)]
    _clear_keys()


def test_a_relay_passes_sealed_frames_on_as_they_came():
    from sedsnet.relay import Relay
    setup()
    _clear_keys()
    c = next(v for v in _vectors() if v["case"].startswith("frame_4101"))
    frame = unhex(c["frame"])
    fwd = []
    r = Relay(now_ms=lambda: 5, discovery=False)
    a = r.add_side_packed("A", lambda f: None)
    r.add_side_packed("B", lambda f: fwd.append(bytes(f)))
    r.rx_packed_from_side(a, frame)
    r.process_all_queues()
    assert fwd == [frame]
