# Logged frames from a per-type template (wire.log_template + the log_pack kernel of _fast/_pure,
# as Router._log_frame calls it): byte for byte what pack_into makes, for wide senders,
# timestamps up to u64, every nonce width and reliable types, with the spans FrameHeader.parse
# finds in them (the packet-ID kernels read those); a short buffer gets nothing written.
import struct
from array import array

from sedsnet import _pure_frame, kernels
from sedsnet.kernels import log_pack
from sedsnet.wire import TS8, FrameHeader, log_template, pack_into
from support import micropython_only

SPANS = array("i", bytes(32))


def log_into(buf, tmpl, ts, nonce, payload):
    # what Router._log_frame does: the timestamp into wire.TS8, then one log_pack call
    struct.pack_into("<Q", TS8, 0, ts)
    return log_pack(buf, SPANS, len(buf), tmpl, TS8, nonce, payload, len(payload))

_TYS = (3000, 0x7F, 0x80, 0x0FFFFFFF, 0xFFFFFFFF)
_SRCS = (1, 0x3FFFFFFF, 0x40000000, 0xFFFFFFFF)
_TSS = (0, 1, 127, 128, 2 ** 28, 2 ** 30, 2 ** 35 + 3, 1764633600000, 2 ** 56, 2 ** 63,
        2 ** 64 - 1)
_EPS = ([101], [101, 102], [1, 0x0FFFFFFF, 0xFFFFFFFF])
_PAYS = (b"", b"\x01", bytes(range(12)), bytes(200))


def _cases():
    for ty in _TYS:
        for src in (_SRCS if ty == 3000 else (_SRCS[0], _SRCS[3])):
            for eps in _EPS:
                for rel in (-1, 0x84):
                    yield ty, src, eps, rel


def test_log_into_makes_the_bytes_pack_into_makes():
    a = bytearray(300)
    b = bytearray(300)
    hdr = FrameHeader()
    count = 0
    for ty, src, eps, rel in _cases():
        t = log_template(ty, src, eps, rel)
        for ts in _TSS:
            for nonce in (0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0xFFFF):
                for pay in (_PAYS if nonce else _PAYS[1:3]):
                    n = pack_into(a, ty, src, eps, ts, nonce, pay, None, rel)
                    m = log_into(b, t, ts, nonce, memoryview(pay))
                    assert m == n and a[:n] == b[:n], (ty, src, eps, rel, ts, nonce, len(pay))
                    hdr.parse(b, n)
                    assert list(SPANS) == list(hdr.spans), (ty, src, eps, rel, ts, nonce)
                    # Router._template's endpoints: as the frame holds them
                    assert list(hdr.endpoints[:hdr.ep_count]) == eps
                    count += 1
    assert count > 1000


def test_log_into_a_short_buffer_writes_nothing_and_says_how_much_it_needs():
    t = log_template(3000, 0xFFFFFFFF, [101, 102], 0x84)
    full = bytearray(64)
    n = log_into(full, t, 2 ** 40, 0x1234, bytes(12))
    for size in (0, 1, n - 1):
        buf = bytearray(b"\xee" * size)
        assert log_into(buf, t, 2 ** 40, 0x1234, bytes(12)) == -n
        assert buf == bytearray(b"\xee" * size)
    buf = bytearray(n)
    assert log_into(buf, t, 2 ** 40, 0x1234, bytes(12)) == n
    assert buf == full[:n]
    # the kernel itself keeps within a capacity smaller than the buffer, spans untouched
    ts8 = bytearray(8)
    struct.pack_into("<Q", ts8, 0, 2 ** 40)
    buf = bytearray(b"\xee" * (n + 5))
    spans = array("i", [-7] * 8)
    assert log_pack(buf, spans, n - 1, t, ts8, 0x1234, bytes(12), 12) == -n
    assert buf == bytearray(b"\xee" * (n + 5)) and list(spans) == [-7] * 8
    assert log_pack(buf, spans, n, t, ts8, 0x1234, bytes(12), 12) == n
    assert buf[:n] == full[:n] and buf[n:] == b"\xee" * 5 and list(spans) == list(SPANS)


@micropython_only("the viper kernel exists only under MicroPython")
def test_viper_and_pure_log_pack_agree():
    from sedsnet import _fast_frame
    a = bytearray(300)
    b = bytearray(300)
    sa = array("i", bytes(32))
    sb = array("i", bytes(32))
    ts8 = bytearray(8)
    for ty, src, eps, rel in _cases():
        t = log_template(ty, src, eps, rel)
        for ts in _TSS:
            struct.pack_into("<Q", ts8, 0, ts)
            for nonce in (1, 0x80, 0x4000):
                pay = bytes(range(nonce & 31))
                x = _fast_frame.log_pack(a, sa, 298, t, ts8, nonce, pay, len(pay))
                y = _pure_frame.log_pack(b, sb, 298, t, ts8, nonce, pay, len(pay))
                assert x == y and a[:x] == b[:y] and sa == sb, (ty, src, ts, nonce)
    assert kernels.log_pack is _fast_frame.log_pack
