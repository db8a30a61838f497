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
