# COBS codec (firmware/cobs.py): the published examples, the 254/255-byte block edges, streaming
# decode in random chunk sizes, and no allocation in encode_into/feed under MicroPython.
from sedsnet_node import cobs
from linkfakes import Rng
from support import micropython_only, raises

VECTORS = [
    ("00", "0101"),
    ("0000", "010101"),
    ("11220033", "0311220233"),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
]


def _ramp(a, b):
    return bytes(range(a, b))


def test_published_examples():
    for raw, enc in VECTORS:
        assert cobs.encode(bytes.fromhex(raw)) == bytes.fromhex(enc), raw
        assert cobs.decode(bytes.fromhex(enc)) == bytes.fromhex(raw), enc


def test_block_edges():
    assert cobs.encode(_ramp(1, 255)) == b"\xff" + _ramp(1, 255)
    assert cobs.encode(_ramp(0, 255)) == b"\x01\xff" + _ramp(1, 255)
    assert cobs.encode(_ramp(1, 256)) == b"\xff" + _ramp(1, 255) + b"\x02\xff"
    for data in (_ramp(1, 255), _ramp(0, 255), _ramp(1, 256), bytes(600), b"\x01" * 1000):
        enc = cobs.encode(data)
        assert 0 not in enc
        assert len(enc) <= cobs.max_encoded_len(len(data))
        assert cobs.decode(enc) == data


def test_decode_rejects_bad_blocks():
    raises(ValueError, cobs.decode, b"\x05\x11")
    raises(ValueError, cobs.decode, b"\x03\x11\x00")
    raises(ValueError, cobs.decode, b"\x00")


def test_streaming_decoder_random_chunks():
    rng = Rng(7)
    frames = []
    for length in (1, 2, 253, 254, 255, 256, 508, 509, 300):
        frames.append(rng.bytes(length))
    for _ in range(40):
        frames.append(rng.bytes(1 + rng.below(400)))
    stream = bytearray()
    for f in frames:
        stream.extend(cobs.encode(f))
        stream.append(0)
    dec = cobs.CobsDecoder(512)
    got = []
    i = 0
    while i < len(stream):
        k = 1 + rng.below(70)
        part = stream[i:i + k]
        dec.feed(part, len(part), lambda n: got.append(bytes(dec.buf[:n])))
        i += k
    assert got == frames
    assert dec.truncated == 0 and dec.oversize == 0


def test_decoder_oversize_and_truncation_resync():
    dec = cobs.CobsDecoder(16)
    got = []
    big = cobs.encode(bytes(range(1, 40))) + b"\x00"
    part = cobs.encode(b"\x01\x02\x03\x04\x05\x06")[:4] + b"\x00"
    ok = cobs.encode(b"hello") + b"\x00"
    data = big + part + ok
    dec.feed(data, len(data), lambda n: got.append(bytes(dec.buf[:n])))
    assert got == [b"hello"]
    assert dec.oversize == 1 and dec.truncated == 1


@micropython_only("heap_lock exists only under MicroPython")
def test_encode_and_decode_do_not_allocate():
    import micropython
    src = bytearray(Rng(3).bytes(300))
    dst = bytearray(cobs.max_encoded_len(300) + 1)
    dec = cobs.CobsDecoder(320)
    counter = [0]

    def on_frame(n):
        counter[0] += n

    micropython.heap_lock()
    try:
        end = cobs.encode_into(src, 300, dst)
        dst[end] = 0
        dec.feed(dst, end + 1, on_frame)
    finally:
        micropython.heap_unlock()
    assert counter[0] == 300
    assert bytes(dec.buf[:300]) == bytes(src)
