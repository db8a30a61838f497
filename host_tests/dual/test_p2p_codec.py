# The P2P message codec (lib/sedsnet/p2p_codec.py): type-18 payload v1 and the SDSP stream
# sub-frame, round trips, the bytes 4.2.7 sends (captured in host_tests/
# test_p2p_codec_differential.py), and malformed input -> DecodeError, bad arguments ->
# ArgumentError, never another exception.
from sedsnet import p2p_codec as pc
from sedsnet.errors import ArgumentError, DecodeError
from support import raises, unhex

# 4.2.7: "alpha" (address 2076267752) to port 80 from 49152, b"GET"-style payload and a
# stream DATA frame (stream 1 -> 1, seq 1, b"GET /stream")
REF_DGRAM = unhex("01500000c0e854c17b050012000000616c706861474554202f20485454502f312e310d0a0d0a")
REF_DATA = unhex("01901f00c0e854c17b050021000000616c7068615344535001100100000001000000"
                 "010000000b000000474554202f73747265616d")


def test_decode_reference_datagram():
    dp, sp, addr, hs, he, ps, pe = pc.decode_message(REF_DGRAM)
    assert (dp, sp, addr) == (80, 49152, 2076267752)
    assert pc.hostname_of(REF_DGRAM, hs, he) == "alpha"
    assert REF_DGRAM[ps:pe] == b"GET / HTTP/1.1\r\n\r\n"
    assert not pc.is_stream(REF_DGRAM, ps, pe)


def test_decode_reference_stream_data():
    dp, sp, _addr, _hs, _he, ps, pe = pc.decode_message(REF_DATA)
    assert (dp, sp) == (8080, 49152) and pc.is_stream(REF_DATA, ps, pe)
    fl, ss, ds, seq, d0, d1 = pc.decode_stream(REF_DATA, ps, pe)
    assert (fl, ss, ds, seq) == (pc.DATA, 1, 1, 1) and REF_DATA[d0:d1] == b"GET /stream"


def test_encode_is_the_reference_bytes():
    buf = bytearray(pc.message_size(5, 18))
    n = pc.encode_message(buf, 0, 80, 49152, 2076267752, b"alpha", b"GET / HTTP/1.1\r\n\r\n")
    assert n == len(buf) and bytes(buf) == REF_DGRAM
    inner = bytearray(pc.stream_size(11))
    pc.encode_stream(inner, 0, pc.DATA, 1, 1, 1, b"GET /stream")
    buf = bytearray(pc.message_size(5, len(inner)))
    pc.encode_message(buf, 0, 8080, 49152, 2076267752, b"alpha", inner)
    assert bytes(buf) == REF_DATA


def test_round_trip_extremes():
    inner = bytearray(pc.stream_size(3))
    pc.encode_stream(inner, 0, pc.SYN | pc.ACK, 0xFFFFFFFF, 0x80000000, 0xFFFFFFFE, b"abc")
    fl, ss, ds, seq, d0, d1 = pc.decode_stream(inner, 0, len(inner))
    assert (fl, ss, ds, seq, bytes(inner[d0:d1])) == (3, 0xFFFFFFFF, 0x80000000, 0xFFFFFFFE,
                                                      b"abc")
    buf = bytearray(pc.message_size(0, 0))
    pc.encode_message(buf, 0, 0, 65535, 0xFFFFFFFF, b"", b"")
    dp, sp, addr, hs, he, ps, pe = pc.decode_message(buf)
    assert (dp, sp, addr, he - hs, pe - ps) == (0, 65535, 0xFFFFFFFF, 0, 0)


def test_every_truncation_is_a_decode_error():
    for n in range(len(REF_DGRAM)):
        raises(DecodeError, pc.decode_message, REF_DGRAM[:n])
    p = len(REF_DATA) - 33  # the stream sub-frame's start
    for n in range(p, len(REF_DATA)):
        raises(DecodeError, pc.decode_stream, REF_DATA[:n], p, n)


def test_bad_fields_are_decode_errors():
    bad = bytearray(REF_DGRAM)
    bad[0] = 2  # version
    raises(DecodeError, pc.decode_message, bad)
    bad = bytearray(REF_DGRAM)
    bad[11] += 1  # payload_len one too many
    raises(DecodeError, pc.decode_message, bad)
    raises(DecodeError, pc.decode_message, REF_DGRAM + b"x")  # a byte after the payload
    bad = bytearray(REF_DGRAM)
    bad[9] = 0xFF  # hostname_len beyond the end
    raises(DecodeError, pc.decode_message, bad)
    bad = bytearray(REF_DGRAM)
    bad[15] = 0xFF  # hostname not UTF-8
    _dp, _sp, _addr, hs, he, _ps, _pe = pc.decode_message(bad)
    raises(DecodeError, pc.hostname_of, bad, hs, he)
    p = len(REF_DATA) - 33
    for i, v in ((p + 4, 2), (p + 5, 0), (p + 5, 0x20), (p + 18, 12)):  # version, flags, len
        bad = bytearray(REF_DATA)
        bad[i] = v
        raises(DecodeError, pc.decode_stream, bad, p, len(bad))
    raises(DecodeError, pc.decode_stream, b"SDSQ" + bytes(18), 0, 22)


def test_every_single_byte_change_decodes_or_raises_decode_error():
    for i in range(len(REF_DATA)):
        for v in (0, 1, 0x7F, 0x80, 0xFF):
            bad = bytearray(REF_DATA)
            bad[i] = v
            try:
                _dp, _sp, _addr, hs, he, ps, pe = pc.decode_message(bad)
                pc.hostname_of(bad, hs, he)
                if pc.is_stream(bad, ps, pe):
                    pc.decode_stream(bad, ps, pe)
            except DecodeError:
                pass


def test_bad_arguments_are_argument_errors():
    buf = bytearray(64)
    for args in ((65536, 1, 0), (-1, 1, 0), ("80", 1, 0), (80, 1 << 16, 0), (80, 1, -1),
                 (80, 1, 1 << 32), (80, 1, None)):
        raises(ArgumentError, pc.encode_message, buf, 0, args[0], args[1], args[2], b"h", b"")
    for fl in (0, 0x20, 0x100, None):
        raises(ArgumentError, pc.encode_stream, buf, 0, fl, 1, 1, 1, b"")
