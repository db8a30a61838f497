# The typed log helpers' edges on both runtimes (lib/sedsnet/router.py), as 4.2.7 decodes and
# makes them (host_tests/test_typed_log_parity.py is the differential test against it):
# float32 rounding and overflow, ints too large for a float, log_f32 into other types, static
# strings cut at a character, and the nonce a log refused after packing takes.
import struct

import sedsnet
from sedsnet import ids
from sedsnet.errors import ArgumentError
from sedsnet.router import Router
from support import raises

EP = 157
F32D = 3700  # dynamic Float32
F64D = 3701  # dynamic Float64
U16D = 3702  # dynamic UInt16
U16S = 3703  # static UInt16 x3 (6 bytes: not whole float32s)
U8S4 = 3704  # static UInt8 x4
U64D = 3705  # dynamic UInt64
STRS = 3706  # static String (1024 bytes)
STRD = 3707  # dynamic String
INF = float("inf")


def setup():
    if not sedsnet.data_type_exists(F32D):
        sedsnet.register_endpoint(EP, "TYPED_LOG")
        for ty, static, n, mdt in ((F32D, False, 0, 1), (F64D, False, 0, 0), (U16D, False, 0, 3),
                                   (U16S, True, 3, 3), (U8S4, True, 4, 2), (U64D, False, 0, 5),
                                   (STRS, True, 1, 13), (STRD, False, 0, 13)):
            sedsnet.register_data_type(ty, "TL%d" % ty, static, n, mdt, 0, [EP])
    got = []
    r = Router(handlers=[(EP, got.append, None)], hostname="tl", now_ms=lambda: 5,
               discovery=False)
    return r, got


def test_float32_rounds_and_overflows_to_inf_as_the_reference():
    r, got = setup()
    r.log_f32(F32D, [1e300, -1e300, 3.4028236e38, 3.4028235e38, 0.1, 1 << 200])
    assert got[-1].payload == struct.pack("<6f", INF, -INF, INF, 3.4028234663852886e38, 0.1, INF)
    assert got[-1].data_as_f32()[:3] == [INF, -INF, INF]


def test_an_int_too_large_for_a_float_is_refused():
    r, got = setup()
    for method, ty in ((r.log_f32, F32D), (r.log_f64, F64D)):
        e = raises(ArgumentError, method, ty, [1.0, 1 << 1100])
        assert "values[1]" in str(e)
        method(ty, [-(1 << 60), True])  # big, but in range
    assert got[-1].data_as_f64() == [float(-(1 << 60)), 1.0]
    assert len(got) == 2


def test_log_f32_into_other_types_is_log_of_the_float32_bytes():
    r, got = setup()
    r.log_f32(U16D, [1.0])  # 4.2.7: the element type is not checked
    assert got[-1].payload == struct.pack("<f", 1.0) and got[-1].data_as_u16() == [0, 0x3F80]
    r.log_f32(U8S4, [1.0, 2.0])  # static: cut to its 4 bytes
    assert got[-1].payload == struct.pack("<f", 1.0)
    assert "BadArg" in str(raises(ArgumentError, r.log_f32, U16S, [1.0]))  # 6 % 4
    assert "SizeMismatch" in str(raises(ArgumentError, r.log_f32, U64D, [1.0]))
    assert "InvalidUtf8" in str(raises(ArgumentError, r.log_f32, STRD, [1.0]))
    r.log_f32(STRD, [0.0])  # four NULs are UTF-8
    assert got[-1].payload == bytes(4) and len(got) == 3


def test_a_static_string_is_cut_at_a_whole_character():
    r, got = setup()
    r.log_string(STRS, "a" * 1023 + "\u00e9")  # the 2-byte char would straddle byte 1024
    assert got[-1].payload == b"a" * 1023 + b"\x00" and got[-1].data_as_string() == "a" * 1023
    r.log_string(STRS, "a" * 1021 + "\u20ac")  # 3 bytes from 1021: fits exactly
    assert got[-1].data_as_string() == "a" * 1021 + "\u20ac"
    r.log_string(STRS, "x" * 1100)
    assert got[-1].payload == b"x" * 1024
    for text in (b"\xff", b"ab\xe2\x82"):
        assert "InvalidUtf8" in str(raises(ArgumentError, r.log_string, STRS, text))
        assert "InvalidUtf8" in str(raises(ArgumentError, r.log_string, STRD, text))
    r.log_bytes(STRS, b"\xff")  # log_bytes does not check a static String (4.2.7 neither)
    assert got[-1].payload[:2] == b"\xff\x00" and len(got) == 4


def test_a_log_refused_after_packing_takes_a_nonce_as_the_reference():
    r, got = setup()
    ids.reset_nonce()
    want = [ids.next_nonce() for _ in range(5)]
    ids.reset_nonce()
    r.log_u16(U16D, [1])
    raises(ArgumentError, r.log_bytes, U16D, b"\x01")  # SizeMismatch: 4.2.7 took a nonce
    r.log_u16(U16D, [2])
    raises(ArgumentError, r.log_bytes, STRD, b"\xff")  # InvalidUtf8: the same
    raises(ArgumentError, r.log_f32, U16S, [1.0])  # BadArg: refused before packing
    raises(ArgumentError, r.log_string, STRD, b"\xff")  # ours: checked before packing
    raises(ArgumentError, r.log_u16, U16D, [70000])
    r.log_u16(U16D, [3])
    assert [p.nonce for p in got] == [want[0], want[2], want[4]]
