# Identities against the reference's vectors (identities.json): name IDs with the alias table,
# source address, sender hash, node address, the process-wide nonce sequence, the packet ID.
from array import array

from sedsnet import ids
from sedsnet.wire import FrameHeader
from codec_helpers import fresh, router_frames
from support import case, skip, unhex


def test_name_identities_match_reference():
    rows = case("identities.json", "identity_name_hashes")["rows"]
    assert len(rows) == 31
    for r in rows:
        assert ids.endpoint_identity(r["name"]) == r["endpoint_identity"], r["name"]
        assert ids.data_type_identity(r["name"]) == r["data_type_identity"], r["name"]
    assert ids.endpoint_identity("SD_CARD") == 100 and ids.data_type_identity("GPS_DATA") == 100
    assert ids.endpoint_identity("") == 18733205 and ids.data_type_identity("") == 18729372


def test_source_address_sender_hash_node_address():
    for r in case("identities.json", "identity_source_address_and_sender_hash")["rows"]:
        assert ids.source_address(r["sender"]) == r["src_addr_on_wire"]
        assert ids.sender_hash(r["sender"]) == r["sender_hash_u64"]
        assert ids.node_address(r["sender"]) == r["node_address_model"]
    for r in case("identities.json", "identity_router_addresses")["rows"]:
        assert ids.node_address(r["hostname"]) == r["current_address"]


def test_nonce_sequence_is_the_reference_one():
    c = case("frame.json", "pack_nonce_sequence_same_process")
    ids.reset_nonce()
    assert [ids.next_nonce() for _ in range(len(c["nonces"]))] == c["nonces"]
    assert c["nonces"][0] == 6837
    ids.reset_nonce()


def test_packet_id_from_end_to_end_ack():
    c = case("identities.json", "identity_packet_id_from_e2e_ack")
    fresh()
    frame = unhex(c["user_frame"]["hex"])
    hdr = FrameHeader().parse(frame)
    out = bytearray(10)
    ids.write_packet_id(hdr, frame, out, 1)
    assert int.from_bytes(bytes(out[1:9]), "little") == c["ack_payload_u64"]
    # the ACK frame carries the same value as its payload
    ack = unhex(c["e2e_ack_frame"]["hex"])
    h2 = FrameHeader().parse(ack)
    assert bytes(ack[h2.payload_start:h2.payload_end]) == bytes(out[1:9])


def test_write_packet_id_matches_int_form_on_router_frames():
    fresh()
    out = bytearray(8)
    n = 0
    for f in router_frames():
        d = f["decoded"]
        if "packet_id" not in d:
            continue
        frame = unhex(f["hex"])
        hdr = FrameHeader().parse(frame)
        ids.write_packet_id(hdr, frame, out)
        assert int.from_bytes(bytes(out), "little") == d["packet_id"], f["hex"]
        pl = unhex(d["payload_hex"])
        assert ids.packet_id(d["src_addr"], d["ty"], d["endpoints"], d["timestamp_ms"],
                             d["nonce"], pl) == d["packet_id"]
        n += 1
    assert n >= 10


def test_kernel_twins_agree_on_packet_ids():
    from sedsnet import _pure
    try:
        from sedsnet import _fast
    except ImportError:  # CPython: only the pure twin exists (checked against the vectors above)
        skip("no viper kernels (sedsnet._fast) on this runtime")
    fresh()
    for f in router_frames():
        frame = unhex(f["hex"])
        hdr = FrameHeader(accept_compressed=True).parse(frame)
        a = bytearray(8)
        b = bytearray(8)
        _fast.pid_into(frame, hdr.spans, hdr.endpoints, a, 0)
        _pure.pid_into(frame, hdr.spans, hdr.endpoints, b, 0)
        assert a == b
    # large fields: 64-bit timestamp, big endpoint IDs, long payload
    spans = array("i", [2, 0, 0xFFFF, 0, 0, 0, 0, 3])
    frame = bytearray(b"\x00\x00\xff\xff\xff\xff\x0f" + b"\xff" * 9 + b"\x01" + bytes(range(256)))
    spans[0] = 2
    spans[1] = 7
    spans[3] = 2
    spans[5] = 17
    spans[6] = len(frame)
    eps = array("I", [1, 0x7FFFFFFF, 0xFFFFFFFF])
    a = bytearray(8)
    b = bytearray(8)
    _fast.pid_into(frame, spans, eps, a, 0)
    _pure.pid_into(frame, spans, eps, b, 0)
    assert a == b


def test_identity_of_non_string_is_a_seds_error():
    from sedsnet.errors import SedsError
    from support import raises
    raises(SedsError, ids.endpoint_identity, 5)


def _overlong_ts(frame, hdr):
    # the same frame with its timestamp ULEB one byte longer (0x80 ... 0x00): same packet
    from sedsnet.wire import S_TS, uleb_len
    p = hdr.spans[S_TS]
    n = uleb_len(hdr.timestamp_ms)
    body = bytearray(frame[:p]) + bytearray(frame[p:p + n])
    body[-1] |= 0x80
    body += b"\x00" + frame[p + n:-4]
    c = _crc(bytes(body))
    return bytes(body) + bytes([c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, c >> 24])


def _crc(b):
    try:
        from binascii import crc32
    except ImportError:
        from zlib import crc32
    return crc32(b) & 0xFFFFFFFF


def test_pure_dup_key_and_packet_id_agree_on_what_is_a_duplicate():
    # The pure path dedupes on _pure.key_into (a CRC key), the viper path on the packet ID:
    # the same frame sequence must be classified the same way by both and by the exact ID.
    from sedsnet import _pure
    from sedsnet.recent import RecentIds
    from sedsnet.schema import register_data_type, register_endpoint
    from sedsnet.wire import pack_into
    fresh()
    register_endpoint(101, "RADIO")
    register_endpoint(102, "SD_CARD")
    register_data_type(3000, "GPS", True, 1, 1, 0, [101, 102])
    buf = bytearray(96)
    hdr = FrameHeader()
    frames = []
    want = []

    def add(dup, ty=3000, src=0xC0000001, eps=(101, 102), ts=1767225600000, nonce=7,
            payload=b"\x00\x00\x80\x3f", rel=-1, seq=0):
        n = pack_into(buf, ty, src, eps, ts, nonce, payload, None, rel, seq)
        frames.append(bytes(buf[:n]))
        want.append(dup)

    add(False)
    add(True)  # the same bytes
    add(True, eps=None)  # the same packet, schema-default endpoint form
    add(True, rel=0x04, seq=5)  # the same packet with a hop-reliable header
    hdr.parse(frames[0])
    frames.append(_overlong_ts(frames[0], hdr))  # a non-minimal timestamp ULEB
    want.append(True)
    add(False, src=0xC0000002)
    add(False, src=(1 << 30) - 1)
    add(False, ty=7777)  # a type this node does not know
    add(False, eps=(101,))
    add(False, eps=(102,))
    add(False, ts=1767225600001)
    add(False, ts=1 << 30)
    add(False, ts=(1 << 64) - 1)
    add(False, nonce=9)
    add(False, payload=b"\x00\x00\x80\x40")
    add(False, payload=b"\x00\x00\x80\x3f\x00")
    add(True, ts=1 << 30)
    add(True, src=(1 << 30) - 1)
    kernels = [_pure.pid_into, _pure.key_into]
    try:
        from sedsnet import _fast
        kernels.append(_fast.pid_into)
    except ImportError:
        pass  # CPython: the exact ID's pure twin stands in for the viper kernel
    key = bytearray(8)
    for k in kernels:
        recent = RecentIds(32)
        got = []
        for f in frames:
            hdr.parse(f)
            k(f, hdr.spans, hdr.endpoints, key, 0)
            got.append(recent.seen(key))
        assert got == want, (k, got)


def test_kernel_twins_agree_on_wide_fields():
    from sedsnet import _pure
    from sedsnet.wire import pack_into
    try:
        from sedsnet import _fast
        fast = _fast.pid_into
    except ImportError:
        fast = None
    edges = (0, (1 << 30) - 1, 1 << 30, (1 << 32) - 1, 1 << 63, (1 << 64) - 1)
    buf = bytearray(64)
    hdr = FrameHeader()
    a = bytearray(8)
    b = bytearray(8)
    for src in edges[:4]:
        for ts in edges:
            n = pack_into(buf, 7777, src, (1, (1 << 32) - 1), ts, 0xFFFF, b"\xff\x00\x01")
            f = bytes(buf[:n])
            hdr.parse(f)
            _pure.pid_into(f, hdr.spans, hdr.endpoints, a, 0)
            assert int.from_bytes(bytes(a), "little") == ids.packet_id(
                src, 7777, [1, (1 << 32) - 1], ts, 0xFFFF, b"\xff\x00\x01")
            if fast is not None:
                fast(f, hdr.spans, hdr.endpoints, b, 0)
                assert a == b, (src, ts)
