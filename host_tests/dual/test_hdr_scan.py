# The one-pass header kernel (hdr_scan, _fast_frame viper and its _pure_frame twin) behind
# FrameHeader.parse(full=True): for every frame, valid or damaged, parse gives exactly what the
# field-by-field parser gives (fields, spans, limbs, endpoints, or the same error), and the two
# kernels agree with each other.
from sedsnet import _pure_frame, wire
from sedsnet.errors import SedsError
from sedsnet.wire import FrameHeader, pack_into
from codec_helpers import VECTOR_SCHEMA, fresh, router_frames, valid_frames
from support import micropython_only, unhex

try:
    from binascii import crc32
except ImportError:
    from zlib import crc32

_FIELDS = ("flags", "nep", "ty", "data_size", "timestamp_ms", "nonce", "has_nonce", "src_addr",
           "ep_form", "ep_count", "bitmap_start", "contract_start", "contract_end", "rel_form",
           "rel_flags", "seq", "ack", "payload_start", "payload_end", "frame_len", "compressed",
           "e2e")


def _fix_crc(body):
    c = crc32(bytes(body)) & 0xFFFFFFFF
    return bytes(body) + bytes([c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, c >> 24])


def _snap(hdr, frame, n):
    try:
        hdr.parse(frame, n, True)
    except SedsError as e:
        return ("error", type(e).__name__, str(e))
    out = [getattr(hdr, k) for k in _FIELDS]
    out.append(list(hdr.spans))
    out.append(list(hdr.wide))
    out.append(list(hdr.endpoints[:hdr.ep_count]))
    return out


def _no_scan(*args):
    return 0


def _compare(frames):
    """parse with the kernel vs without it on every frame; returns how many the kernel took."""
    fast = FrameHeader(max_endpoints=8)
    slow = FrameHeader(max_endpoints=8)
    took = 0
    saved = wire.hdr_scan
    for frame in frames:
        for n in (len(frame), len(frame) - 1):
            wire.hdr_scan = saved
            a = _snap(fast, frame, n)
            wire.hdr_scan = _no_scan
            b = _snap(slow, frame, n)
            wire.hdr_scan = saved
            assert a == b, (bytes(frame), n, a, b)
            o = fast._o
            if saved(frame, n, fast.spans, o, fast.wide, fast.endpoints):
                took += 1
    wire.hdr_scan = saved
    return took


def _packed():
    """Frames of every plain shape: wide senders and timestamps, reliable headers, nonces."""
    out = []
    buf = bytearray(128)
    eps_sets = ([101], [101, 102], [1, 0x0FFFFFFF], [5, 0x10000000, 0xFFFFFFFF], [7] * 0)
    for ty in (3000, 0x0FFFFFFF, 0x10000000, 0xFFFFFFFF):
        for src in (1, 0x3FFFFFFF, 0x0FFFFFFF, 0x10000000, 0xFFFFFFFF):
            for ts in (0, 127, 128, 2 ** 30, 2 ** 56 - 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1):
                for eps in eps_sets:
                    if not eps:
                        continue
                    for rel, seq, ack in ((-1, 0, 0), (0x84, 0, 0), (0x0C, 5, 2 ** 28),
                                          (0x04, 2 ** 28 - 1, 0), (0x01, 0, 0)):
                        n = pack_into(buf, ty, src, eps, ts, (ts + src) & 0xFFFF, b"abc",
                                      None, rel, seq, ack)
                        out.append(bytes(buf[:n]))
    return out


def _damaged(frames):
    for frame in frames:
        yield frame
    for frame in frames[::3]:
        body = bytearray(frame[:-4])
        for i in range(len(body)):
            for bit in (0, 3, 7):
                body[i] ^= 1 << bit
                yield _fix_crc(body)
                body[i] ^= 1 << bit
        for k in range(len(body)):
            yield _fix_crc(body[:k])


def test_parse_with_the_kernel_equals_the_field_parser_on_vectors_and_damage():
    fresh(VECTOR_SCHEMA)
    frames = [unhex(h) for h in valid_frames()] + [unhex(f["hex"]) for f in router_frames()]
    took = _compare(_damaged(frames))
    assert took > 40, took  # the kernel really does take the plain ones


def test_parse_with_the_kernel_equals_the_field_parser_on_plain_shapes():
    fresh(VECTOR_SCHEMA)
    frames = _packed()
    nonce_less = []
    for f in frames[:200:7]:  # the same without FLAGS 0x08 and its nonce
        h = FrameHeader(max_endpoints=8).parse(f)
        p = h.spans[wire.S_SRC]
        q = p - 1
        while q > h.spans[wire.S_TS] and f[q - 1] & 0x80:
            q -= 1
        nonce_less.append(_fix_crc(bytes([f[0] & ~0x08]) + f[1:q] + f[p:-4]))
    took = _compare(frames + nonce_less)
    assert took > len(frames) // 8, (took, len(frames))  # (n - 1 never parses)


@micropython_only("the viper kernel exists only under MicroPython")
def test_viper_and_pure_hdr_scan_agree():
    from sedsnet import _fast_frame
    fresh(VECTOR_SCHEMA)
    frames = _packed()[::5] + [unhex(h) for h in valid_frames()]
    a = [array_of("i", 8), array_of("i", 9), array_of("H", 8), array_of("I", 8)]
    b = [array_of("i", 8), array_of("i", 9), array_of("H", 8), array_of("I", 8)]
    ones = 0
    for frame in frames:
        for n in (len(frame), len(frame) - 2, -len(frame)):  # (-n: the CRC unchecked)
            ra = _fast_frame.hdr_scan(frame, n, a[0], a[1], a[2], a[3])
            rb = _pure_frame.hdr_scan(frame, n, b[0], b[1], b[2], b[3])
            assert ra == rb, (frame, n)
            if ra:
                ones += 1
                assert [list(x) for x in a] == [list(x) for x in b], frame
    assert ones > len(frames) // 8, ones


def array_of(code, n):
    from array import array
    return array(code, [0] * n)


def test_frame_header_has_no_property_and_still_reads_wide_fields():
    # a property on the class would make every attribute store of a parse slow on MicroPython
    for k in dir(FrameHeader):
        assert not isinstance(getattr(FrameHeader, k), property), k
    buf = bytearray(64)
    fresh(VECTOR_SCHEMA)
    n = pack_into(buf, 3000, 0xFFFFFFFF, [101], 2 ** 64 - 1, 9, b"x")
    h = FrameHeader().parse(buf, n)
    assert (h.src_addr, h.timestamp_ms, h.ty) == (0xFFFFFFFF, 2 ** 64 - 1, 3000)
    assert not hasattr(h, "no_such_field")


def test_a_scan_of_our_own_frame_skips_only_the_crc_check():
    # n < 0 (FrameHeader.parse(full=OWN), the log path's frames): the same fields, the CRC
    # not read, so a frame with a bad CRC passes there and nowhere else
    fresh(VECTOR_SCHEMA)
    took = 0
    for frame in _packed()[::7]:
        f = bytearray(frame)
        a = [array_of("i", 8), array_of("i", 9), array_of("H", 8), array_of("I", 8)]
        b = [array_of("i", 8), array_of("i", 9), array_of("H", 8), array_of("I", 8)]
        ra = wire.hdr_scan(f, len(f), a[0], a[1], a[2], a[3])
        f[-1] ^= 0xFF
        assert wire.hdr_scan(f, len(f), b[0], b[1], b[2], b[3]) == 0
        assert wire.hdr_scan(f, -len(f), b[0], b[1], b[2], b[3]) == ra
        if ra:
            took += 1
            assert [list(x) for x in a] == [list(x) for x in b], frame
    assert took > 0
