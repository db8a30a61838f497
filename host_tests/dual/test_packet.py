# Packet API with the reference's (4.2.7) behaviour: validation in make_packet, data_as_*,
# header_string()/str() text, and unpack/peek of what we pack.
import struct

from sedsnet import ids, schema
from sedsnet.errors import ArgumentError, DecodeError, SedsError, UnknownTypeError
from sedsnet.packet import make_packet, peek_header, unpack_packet, unpack_packet_py
from codec_helpers import fresh
from support import IS_MICROPYTHON, raises


def _schema():
    fresh()
    schema.register_endpoint(1, "EP_A")
    schema.register_endpoint(2, "EP_B")
    for ty, name, static, count, mdt in (
            (100, "T_F32X2", True, 2, 1), (101, "T_BIN", False, 0, 14), (110, "T_STR", False, 0, 13),
            (111, "T_U16", False, 0, 3), (112, "T_BOOL", True, 3, 12), (113, "T_NODATA", True, 0, 15),
            (114, "T_U128", False, 0, 6), (115, "T_I16", True, 1, 8), (116, "T_I128", False, 0, 11),
            (117, "T_F64", False, 0, 0), (118, "T_U64", False, 0, 5), (119, "T_I64", False, 0, 10)):
        schema.register_data_type(ty, name, static, count, mdt, 0, [1])


def test_make_packet_validation():
    _schema()
    p = make_packet(100, "x", [1], 1, b"abc")  # static: zero-padded to its fixed size
    assert p.payload == b"abc" + bytes(5) and p.data_size == 8
    assert make_packet(100, "x", [1], 1, bytes(range(12))).payload == bytes(range(8))
    raises(ArgumentError, make_packet, 100, "x", [], 1, b"")
    raises(ArgumentError, make_packet, 100, "x", [77], 1, b"")
    raises(UnknownTypeError, make_packet, 999, "x", [1], 1, b"")
    raises(ArgumentError, make_packet, 110, "x", [1], 1, b"\xff\xfe")
    assert "SizeMismatch" in str(raises(ArgumentError, make_packet, 111, "x", [1], 1, b"abc"))
    raises(ArgumentError, make_packet, 114, "x", [1], 1, bytes(15))
    raises(ArgumentError, make_packet, 101, "x", [1], 1 << 64, b"")
    raises(ArgumentError, make_packet, 101, "x", [1], -1, b"")
    p = make_packet(101, "x", [1, 1], 1, b"a")  # duplicates are kept, the wire dedups
    assert p.endpoints == [1, 1] and unpack_packet(p.pack()).endpoints == [1]


def test_properties_and_accessors():
    _schema()
    p = make_packet(100, "nodeA", [2, 1], 1000, struct.pack("<2f", 1.0, 2.0))
    assert (p.ty, p.data_size, p.sender, p.endpoints, p.timestamp_ms) == (
        100, 8, "nodeA", [2, 1], 1000)
    assert p.data_as_f32() == [1.0, 2.0]
    for name in ("data_as_u8", "data_as_u16", "data_as_u32", "data_as_f64", "data_as_bool",
                 "data_as_string", "data_as_i16"):
        assert "TypeMismatch" in str(raises(SedsError, getattr(p, name)))
    assert make_packet(111, "x", [1], 1, b"\x01\x80\x02\x00").data_as_u16() == [32769, 2]
    assert make_packet(115, "x", [1], 1, b"\x01\x80").data_as_i16() == [-32767]
    assert make_packet(112, "x", [1], 1, b"\x01\x00\x02").data_as_bool() == [True, False, True]
    assert make_packet(110, "x", [1], 1, b"hi\x00").data_as_string() == "hi"
    assert make_packet(118, "x", [1], 1, struct.pack("<Q", 2 ** 64 - 1)).data_as_u64() == [
        2 ** 64 - 1]
    assert make_packet(119, "x", [1], 1, struct.pack("<q", -5)).data_as_i64() == [-5]
    raises(SedsError, make_packet(101, "x", [1], 1, b"ab").data_as_u8)


def test_text_forms_match_reference():
    _schema()
    p = make_packet(100, "nodeA", [2, 1], 1000, struct.pack("<2f", 1.0, 2.0))
    assert str(p) == ("{Type: T_F32X2, Data Size: 8, Sender: nodeA, Endpoints: [EP_B, EP_A], "
                      "Timestamp: 1000 (1s 000ms), Data: (1.00000000, 2.00000000)}")
    assert p.header_string() == ("Type: T_F32X2, Data Size: 8, Sender: nodeA, Endpoints: "
                                 "[EP_B, EP_A], Timestamp: 1000 (1s 000ms)")
    b = make_packet(101, "x", [1], 1, b"\x01\x02\x03")
    assert str(b) == ("Type: T_BIN, Data Size: 3, Sender: x, Endpoints: [EP_A], Timestamp: 1 "
                      "(0s 001ms), Data (hex): 0x01 0x02 0x03")
    assert str(make_packet(101, "x", [1], 1, b"")).endswith("Data: (<NoData>)}")
    assert str(make_packet(113, "x", [1], 1, b"")).endswith("Data: (<NoData>)}")
    assert str(make_packet(112, "x", [1], 1, b"\x01\x00\x02")).endswith(
        "Data: (true, false, true)}")
    assert str(make_packet(110, "x", [1], 1, "h\u00e9llo".encode())).endswith(
        'Data: ("h\u00e9llo")}')
    assert str(make_packet(116, "x", [1], 1, b"\xfb" + b"\xff" * 15 + b"\x07" + bytes(15))
               ).endswith("Data: (-5, 7)}")
    assert str(make_packet(114, "x", [1], 1, b"\xff" * 16)).endswith(
        "Data: (340282366920938463463374607431768211455)}")
    if not IS_MICROPYTHON:  # MicroPython prints big floats with fewer exact digits
        assert "0.33333333, " in str(make_packet(117, "x", [1], 1, struct.pack("<2d", 1 / 3, 5)))
    for ts, text in ((0, "0s 000ms"), (59999, "59s 999ms"), (60000, "1m 00s 000ms"),
                     (3600000, "1h 00m 00s 000ms"), (86400000, "24h 00m 00s 000ms"),
                     (999999999999, "277777h 46m 39s 999ms"),
                     (1000000000000, "2001-09-09 01:46:40.000Z"),
                     (1700000000000, "2023-11-14 22:13:20.000Z"),
                     (2 ** 63 - 1, "292278994-08-17 07:12:55.807Z"),
                     (2 ** 64 - 1, "584556019-04-03 14:25:51.615Z")):
        h = make_packet(101, "x", [1], ts, b"").header_string()
        assert h.endswith("Timestamp: %d (%s)" % (ts, text)), h


def test_unpack_and_peek_of_our_frames():
    _schema()
    ids.forget_senders()
    p = make_packet(111, "zzz", [2, 1], 123456, b"\x01\x02\x03\x04")
    frame = p.pack()
    q = unpack_packet_py(frame)
    assert (q.ty, q.sender, q.endpoints, q.timestamp_ms, q.payload) == (
        111, "zzz", [1, 2], 123456, b"\x01\x02\x03\x04")
    assert q.nonce == p.nonce and q.packet_id() == p.packet_id()
    assert peek_header(frame) == {"ty": 111, "sender": "zzz", "endpoints": [1, 2],
                                  "timestamp_ms": 123456}
    ids.forget_senders()
    assert unpack_packet(frame).sender == "@addr:%d" % ids.source_address("zzz")
    buf = bytearray(100)
    n = p.pack_into(buf, 5)
    assert bytes(buf[5:5 + n]) == frame and n == p.wire_size()
    raises(SedsError, unpack_packet, "not bytes")


def test_unpack_validates_payload_against_schema():
    _schema()
    frame = make_packet(111, "x", [1], 1, b"\x01\x02\x03\x04").pack()
    schema.remove_data_type(111)
    schema.register_data_type(111, "T_U16", True, 1, 3, 0, [1])  # now static, 2 bytes
    e = raises(DecodeError, unpack_packet, frame)
    assert "SizeMismatch { expected: 2, got: 4 }" in str(e)
    assert peek_header(frame)["ty"] == 111
    schema.remove_data_type(111)
    raises(UnknownTypeError, unpack_packet, frame)


_NONCE = [0]


def _contract_frame(ty, mdt, payload, static_count=0):
    from sedsnet.wire import pack_into
    _NONCE[0] = (_NONCE[0] + 1) & 0xFFFF  # (a new packet ID each: the router dedupes)
    shape = bytes([mdt | (0x40 if static_count else 0)])
    if static_count:
        shape += bytes([static_count])
    buf = bytearray(128)
    n = pack_into(buf, ty, 99, [1], 5, _NONCE[0], payload, b"\x02" + shape)
    return bytes(buf[:n])


_ACCESSORS = ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "bool",
              "string")
_ACC_MDT = (2, 3, 4, 5, 7, 8, 9, 10, 1, 0, 12, 13)


def test_a_contract_shape_other_than_the_local_type_reads_as_the_wire_shape():
    # 4.2.7 (probed): a frame whose wire contract gives another shape than the local type is
    # checked against that shape and delivered as it; str() and data_as_* read the wire shape,
    # the other accessors raise TypeMismatch { expected: <their width>, got: <shape width> }
    _schema()
    from sedsnet import Router
    p = unpack_packet(_contract_frame(110, 8, b"\xff\xfe"))  # a String type, dynamic i16
    assert p.data_as_i16() == [-257]
    e = raises(ArgumentError, p.data_as_string)
    assert "TypeMismatch { expected: 1024, got: 2 }" in str(e)
    assert "TypeMismatch { expected: 1, got: 2 }" in str(raises(ArgumentError, p.data_as_u8))
    assert str(p).endswith("Data: (-257)}"), str(p)
    p = unpack_packet(_contract_frame(100, 13, b"hi"))  # static f32 x2 as a String
    assert p.data_as_string() == "hi" and str(p).endswith('Data: ("hi")}')
    assert "got: 1024" in str(raises(ArgumentError, p.data_as_f32))
    payloads = (b"", b"hi", b"\xff\xfe", bytes(8), b"\xc3\x28ab", b"\x01\x02\x03", bytes(16),
                b"\x80" * 32)
    local_types = (100, 101, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119)
    got = []
    r = Router(handlers=[(1, got.append, None)], now_ms=lambda: 0, discovery=False)
    side = r.add_side_packed("in", lambda f: None)
    delivered = 0
    for ty in local_types:
        for mdt in range(16):
            for count in (0, 1, 2):
                for pl in payloads:
                    f = _contract_frame(ty, mdt, pl, count)
                    try:
                        pkts = [unpack_packet(f)]
                    except SedsError:
                        pkts = []
                    del got[:]
                    try:
                        r.receive_packed_from_side(side, f)
                    except SedsError:
                        pass
                    assert len(got) == len(pkts), (ty, mdt, count, pl)
                    for p in pkts + got:
                        delivered += 1
                        assert "Type: " in str(p) and "Data" in str(p)
                        ok = 0
                        for name, want in zip(_ACCESSORS, _ACC_MDT):
                            try:
                                getattr(p, "data_as_" + name)()
                                ok += 1
                                assert want == mdt, (ty, mdt, name)
                            except SedsError:
                                pass
                        assert ok == (1 if mdt in _ACC_MDT else 0), (ty, mdt, count, pl)
    assert delivered > 300
