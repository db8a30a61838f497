# Frame codec against the reference's vectors, malformed input and allocation: wire.pack_into
# and wire.FrameHeader.parse (shared/protocol/frame.md).

from sedsnet import ids, wire
from sedsnet.errors import (ArgumentError, CompressedFrameError, DecodeError, SedsError,
                            UnknownTypeError)
from sedsnet.packet import make_packet, peek_header, unpack_packet
from sedsnet.wire import FrameHeader, pack_into
from codec_helpers import VECTOR_SCHEMA, fresh, router_frames, valid_frames
from support import IS_MICROPYTHON, case, load_vectors, raises, unhex

try:
    from binascii import crc32
except ImportError:
    from zlib import crc32


def _fix_crc(body):
    c = crc32(bytes(body)) & 0xFFFFFFFF
    return bytes(body) + bytes([c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, c >> 24])


def test_make_packet_pack_matches_reference_vectors():
    n = 0
    for c in load_vectors("frame.json"):
        if "frame_hex" not in c:
            continue
        i = c["inputs"]
        fresh(i["schema"])
        pkt = make_packet(i["ty"], i["sender"], i["endpoints"], i["timestamp_ms"],
                          unhex(i["payload_hex"]))
        frame = pkt.pack()
        if c["decoded"]["flags"] & 1:
            # the reference compressed this one; we send the same frame raw (FLAGS 0x88)
            assert frame[0] == 0x88 and frame[-4 - len(pkt.payload):-4] == pkt.payload
            raises(CompressedFrameError, unpack_packet, unhex(c["frame_hex"]))
            assert peek_header(unhex(c["frame_hex"]))["ty"] == i["ty"]
        else:
            assert frame == unhex(c["frame_hex"]), c["case"]
            assert pkt.wire_size() == len(frame)
        n += 1
    assert n == 23


def test_nonce_sequence_frames():
    c = case("frame.json", "pack_nonce_sequence_same_process")
    fresh(c["inputs"]["schema"])
    for hexframe in c["frames_hex"]:
        assert make_packet(101, "nodeA", [1], 1000, b"x").pack() == unhex(hexframe)


def test_decode_vectors():
    for c in load_vectors("frame_decode.json"):
        fresh(c["inputs"]["schema"])
        frame = unhex(c["inputs"]["frame_hex"])
        p = unpack_packet(frame)
        u = c["unpack"]
        assert (p.ty, p.sender, p.endpoints, p.timestamp_ms) == (
            u["ty"], u["sender"], u["endpoints"], u["timestamp_ms"]), c["case"]
        assert p.payload == unhex(u["payload_hex"])
        pk = c["peek"]
        pk.pop("ok")
        assert peek_header(frame) == pk, c["case"]


def _ref_text(err):
    # 'RuntimeError: Telemetry error: Unpack("crc32 mismatch")' -> 'crc32 mismatch'
    t = err.split("Telemetry error: ")[-1]
    return t[8:-2] if t.startswith("Unpack(") else t


def test_malformed_vectors_raise_seds_errors():
    for c in load_vectors("malformed.json"):
        fresh(c["inputs"]["schema"])
        frame = unhex(c["inputs"]["frame_hex"])
        e = raises(SedsError, unpack_packet, frame)
        want = _ref_text(c["unpack"]["error"])
        if want == "InvalidType":
            assert isinstance(e, UnknownTypeError)
        elif c["case"] == "unpack_err_compressed_flag_garbage":
            assert isinstance(e, CompressedFrameError)
        elif c["case"] not in ("unpack_err_list_and_bitmap", "unpack_err_e2e_flag_no_wrapper"):
            assert isinstance(e, DecodeError) and want in str(e), (c["case"], str(e))
        if c["peek"]["ok"]:
            assert peek_header(frame)["ty"] == c["peek"]["ty"], c["case"]
        else:
            e = raises(SedsError, peek_header, frame)
            assert _ref_text(c["peek"]["error"]) in str(e), (c["case"], str(e))


def test_router_frames_parse_and_re_encode_byte_identical():
    fresh()
    hdr = FrameHeader()
    buf = bytearray(2048)
    n = 0
    for f in router_frames():
        d = f["decoded"]
        frame = unhex(f["hex"])
        if d["flags"] & 1:
            continue
        hdr.parse(frame)
        assert (hdr.flags, hdr.ty, hdr.data_size, hdr.timestamp_ms, hdr.src_addr) == (
            d["flags"], d["ty"], d["data_size"], d["timestamp_ms"], d["src_addr"])
        assert hdr.nonce == d.get("nonce", 0)
        assert list(hdr.endpoints[:hdr.ep_count]) == d["endpoints"]
        payload = frame[hdr.payload_start:hdr.payload_end]
        assert payload == unhex(d["payload_hex"])
        contract = None
        if "contract" in d:
            contract = frame[hdr.contract_start:hdr.contract_end]
            assert contract == unhex(d["contract"]["raw"])
            assert hdr.contract_targets(frame) == d["contract"].get("targets", [])
        rel = -1
        if "reliable" in d:
            r = d["reliable"]
            assert hdr.rel_form == 1 and hdr.rel_flags == r["wire_flags"]
            assert hdr.seq == r.get("seq", 0) and hdr.ack == r.get("ack", 0)
            rel = r["wire_flags"]
        eps = None if d["endpoints_from"] == "schema_default" else d["endpoints"]
        size = pack_into(buf, d["ty"], d["src_addr"], eps, d["timestamp_ms"], d.get("nonce", 0),
                         payload, contract, rel, hdr.seq, hdr.ack, 3)
        assert bytes(buf[3:3 + size]) == frame, f["hex"]
        n += 1
    assert n >= 20


def test_pack_into_rejects_before_writing():
    fresh()
    buf = bytearray(20)
    e = raises(SedsError, pack_into, buf, 101, 5, [1], 1000, 7, b"x" * 30)
    assert "fit" in str(e) and buf == bytearray(20)
    raises(SedsError, pack_into, buf, 101, 5, [2, 1], 1000, 7, b"")
    raises(SedsError, pack_into, buf, 101, 5, [], 1000, 7, b"")
    raises(SedsError, pack_into, buf, 101, 5, [1], 1000, 70000, b"")
    raises(UnknownTypeError, pack_into, buf, 999, 5, None, 1000, 7, b"")
    assert buf == bytearray(20)


def test_pack_into_refusals_keep_their_class_and_message():
    # the messages live in wire_parse.py (loaded on the first refusal): same class, same text
    fresh()
    buf = bytearray(64)
    cases = ((ArgumentError, (101, 5, [1], 1000, 7, b"x" * 70),
              "frame of 83 bytes does not fit the buffer"),
             (ArgumentError, (101, 5, [2, 1], 1000, 7, b""),
              "endpoints must be ascending, unique u32 IDs"),
             (ArgumentError, (101, 5, [], 1000, 7, b""), "EmptyEndpoints"),
             (ArgumentError, (101, 5, list(range(1, 257)), 1000, 7, b""),
              "more than 255 endpoints"),
             (ArgumentError, (101, 5, [1], 1000, 70000, b""),
              "field out of range (ty/src u32, nonce u16, timestamp u64)"),
             (UnknownTypeError, (999, 5, None, 1000, 7, b""), "InvalidType: 999"))
    for cls, args, msg in cases:
        e = raises(SedsError, pack_into, buf, *args)
        assert type(e) is cls and str(e) == msg, (cls, msg, type(e), str(e))
    assert buf == bytearray(64)


def test_truncation_at_every_offset_and_every_bit_flip():
    fresh(VECTOR_SCHEMA)
    hdr = FrameHeader()
    for hexframe in valid_frames():
        frame = unhex(hexframe)
        hdr.parse(frame)
        for k in range(len(frame)):
            raises(DecodeError, hdr.parse, frame[:k])
            raises(DecodeError, hdr.parse, frame, k)
            raises(SedsError, unpack_packet, frame[:k])
        work = bytearray(frame)
        for i in range(len(frame)):
            for bit in range(8):
                work[i] ^= 1 << bit
                raises(DecodeError, hdr.parse, work)  # CRC-32 catches every single-bit flip
                work[i] ^= 1 << bit


def _decode_any(frame):
    try:
        unpack_packet(frame)
    except SedsError:
        pass
    try:
        peek_header(frame)
    except SedsError:
        pass


def test_bit_flips_with_recomputed_crc_never_escape_as_other_errors():
    # Without the CRC safety net every field decoder must still fail cleanly.
    fresh(VECTOR_SCHEMA)
    for hexframe in valid_frames()[::2]:
        body = bytearray(unhex(hexframe)[:-4])
        for i in range(len(body)):
            for bit in range(8):
                body[i] ^= 1 << bit
                _decode_any(_fix_crc(body))
                body[i] ^= 1 << bit
        for k in range(len(body)):  # truncated bodies with a valid CRC
            _decode_any(_fix_crc(body[:k]))


def test_overlong_and_oversize_fields():
    fresh(VECTOR_SCHEMA)
    head = b"\x88\x01\x65"
    cases = (
        (head + b"\x02" + b"\x80" * 10 + b"\x00", "uleb128 too long"),  # 11-byte ULEB
        (head + b"\x02" + b"\xff" * 9 + b"\x02" + b"\x05\x01\x01hi", "uleb128 too long"),  # > u64
        (head + b"\xff\xff\xff\xff\x0f\xe8\x07\x05\x01\x01hi", "short read"),  # data_size huge
        (b"\x8c\x01\x65\x02\xe8\x07\x05\x01\x01\xff\xff\xff\x7f\x01hi", "short read"),  # contract
        (b"\x8c\x01\x65\x02\xe8\x07\x05\x01\x01\x02\x01\xff\xff\xffhi", "short read"),  # targets
        (b"\x88\x01\xff\xff\xff\xff\x7f\x02\xe8\x07\x05\x01\x01hi", "type too large"),
        (b"\x88\x01\x65\x02\xe8\x07\x05\x01\xff\xff\xff\xff\x7fhi", "endpoint too large"),
        (b"\x08\x02\x65\x02\xe8\x07\x05\x01hi", "endpoint count mismatch"),
        (b"\x8a\x01\x65\x02\xe8\x07\x05\x01\x01\x00hi", "short read"),  # fixed rel header cut
        (b"\xca\x01\x65\x02\xe8\x07\x05\x01\x01\x0c", "short read"),  # compact seq/ack cut
        (b"\x28\x01\x65\x02\xe8\x07\x05\x01" + b"\x00" * 20, "short read"),  # bitmap cut
    )
    for body, text in cases:
        e = raises(DecodeError, FrameHeader().parse, _fix_crc(body))
        assert text in str(e), (body, str(e))
    big = FrameHeader(max_endpoints=2)
    body = b"\x88\x03\x65\x02\xe8\x07\x05\x01\x01\x02\x03hi"
    raises(DecodeError, big.parse, _fix_crc(body))
    assert FrameHeader(max_endpoints=3).parse(_fix_crc(body)).ep_count == 3


def test_bitmap_form():
    fresh(VECTOR_SCHEMA)
    frame = unhex(case("frame_decode.json", "unpack_ok_bitmap_32_bytes")["inputs"]["frame_hex"])
    hdr = FrameHeader().parse(frame)
    assert hdr.ep_form == wire.EP_BITMAP and hdr.ep_count == 1 and hdr.endpoints[0] == 1
    body = bytearray(frame[:-4])
    body[12] = 0x06  # endpoints 1 and 2 with NEP 1
    assert "count mismatch" in str(raises(DecodeError, hdr.parse, _fix_crc(body)))
    body[12] = 0x10  # endpoint 4 is not registered
    assert "bad endpoint bit" in str(raises(DecodeError, hdr.parse, _fix_crc(body)))


def _locked(fn):
    # Run fn twice with the heap locked under MicroPython (after one warm-up call): any
    # allocation raises. CPython has no heap lock: the same calls run, unlocked.
    try:
        from micropython import heap_lock, heap_unlock
    except ImportError:
        heap_lock = heap_unlock = None
    fn()
    if heap_lock is not None:
        heap_lock()
    try:
        fn()
        fn()
    finally:
        if heap_unlock is not None:
            heap_unlock()


class _Typical:
    """Per-frame work of a router, as plain calls (no *args, which would allocate)."""

    def __init__(self):
        self.buf = bytearray(300)
        self.payload = bytes(range(64))
        self.contract = unhex("070e0169cd73507453da5b")
        self.eps2 = (1, 2)
        self.eps1 = (1,)
        self.hdr = FrameHeader()
        self.out = bytearray(8)
        self.frames = []
        self.sizes = []
        for h in valid_frames():
            f = bytearray(unhex(h)) + bytearray(7)  # frames inside larger receive buffers
            n = len(unhex(h))
            self.hdr.parse(f, n)
            if self.hdr.timestamp_ms < (1 << 62):  # 2**63 is a heap int even on 64-bit
                self.frames.append(f)
                self.sizes.append(n)

    def pack(self):
        buf = self.buf
        pack_into(buf, 101, 3842416542, self.eps2, 1767225600000, 6837, self.payload)
        pack_into(buf, 1, 822348576, None, 1000, 11, self.payload)  # schema-default endpoints
        pack_into(buf, 103, 822348576, self.eps1, 2000, 36323, self.payload, self.contract,
                  6, 1, 0, 5)

    def parse(self):
        hdr = self.hdr
        sizes = self.sizes
        i = 0
        for f in self.frames:
            hdr.parse(f, sizes[i])
            ids.write_packet_id(hdr, f, self.out, 0)
            i += 1


def test_pack_into_parse_and_packet_id_do_not_allocate():
    fresh(VECTOR_SCHEMA)
    work = _Typical()
    assert len(work.frames) >= 30
    _locked(work.pack)
    _locked(work.parse)
    assert wire.KERNELS == ("viper" if IS_MICROPYTHON else "pure")


def test_contract_reliable_bit_implies_a_reliable_header():
    # as 4.2.7 (host_tests/test_decode_differential.py): contract cflags 0x04 means a reliable
    # header follows even without FLAGS 0x02; FLAGS 0x40 makes it compact ("84 00" here)
    from sedsnet.wire import FrameHeader
    f = unhex("cc01690884529d08a9cfcddc0301140744020238cbb9ab91495d2b60541ef193495d2b8"
              "400000000000000000034776f30")
    h = FrameHeader(max_endpoints=4).parse(f)
    assert (h.rel_form, h.rel_flags, h.seq) == (1, 0x84, 0)
    assert bytes(f[h.payload_start:h.payload_end]) == bytes(8)


def test_reliable_seq_and_ack_beyond_u32_are_refused():
    from sedsnet.errors import DecodeError
    from sedsnet.wire import REL_HAS_ACK, REL_HAS_SEQ, FrameHeader, pack_into
    for rf, seq, ack, ok in ((REL_HAS_SEQ, 0xFFFFFFFF, 0, True), (REL_HAS_SEQ, 1 << 32, 0, False),
                             (REL_HAS_SEQ | REL_HAS_ACK, 1, 1 << 32, False)):
        buf = bytearray(64)
        n = pack_into(buf, 30, 1, [1], 5, 7, b"ab", None, rf, seq, ack)
        h = FrameHeader(max_endpoints=4)
        if ok:
            assert h.parse(buf, n).seq == seq
        else:
            raises(DecodeError, h.parse, buf, n)


# u32 / u64 values around the 30-bit small-int limit of 32-bit boards and the type limits
EDGES = (0, (1 << 30) - 1, 1 << 30, (1 << 32) - 1, 1 << 63, (1 << 64) - 1)
EDGES32 = EDGES[:4]


def _uleb_ref(v):
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class _Uleb:
    def __init__(self, values):
        self.values = values
        self.buf = bytearray(12)
        self.total = 0

    def run(self):
        t = 0
        for v in self.values:
            t += wire.uleb_len(v) + wire.put_uleb(self.buf, 1, v)
        self.total = t


def test_uleb_of_wide_values_is_exact_and_allocates_nothing():
    values = EDGES + (0x7F, 0x80, 0x0FFFFFFF, 0x10000000, 0x7FFFFFFF, 1767225600000)
    buf = bytearray(12)
    for v in values:
        want = _uleb_ref(v)
        assert wire.uleb_len(v) == len(want), v
        assert wire.put_uleb(buf, 1, v) == 1 + len(want), v
        assert bytes(buf[1:1 + len(want)]) == want, v
    work = _Uleb(values)
    _locked(work.run)
    assert work.total == sum(2 * len(_uleb_ref(v)) + 1 for v in values)


class _Wide:
    """Frames with edge-valued sender addresses and timestamps, parsed and ID'd in place."""

    def __init__(self):
        self.hdr = FrameHeader()
        self.out = bytearray(16)
        self.frames = []
        self.want = []
        buf = bytearray(64)
        for src in EDGES32:
            for ts in EDGES:
                n = pack_into(buf, 101, src, (1, 2), ts, 6837, b"\x01\x02\x03\x04")
                self.frames.append(bytes(buf[:n]))
                self.want.append((src, ts))

    def parse(self):
        hdr = self.hdr
        for f in self.frames:
            hdr.parse(f)
            ids.write_packet_id(hdr, f, self.out, 0)
            ids.write_dup_key(hdr, f, self.out, 8)


def test_wide_sender_and_timestamp_parse_without_allocating():
    fresh(VECTOR_SCHEMA)
    work = _Wide()
    hdr = FrameHeader()
    for f, (src, ts) in zip(work.frames, work.want):
        hdr.parse(f)
        assert (hdr.src_addr, hdr.timestamp_ms) == (src, ts)
        p = unpack_packet(f)
        assert (p.timestamp_ms, p.src_addr) == (ts, src)
        assert p.pack() == f  # make_packet/pack agree with pack_into on these fields
    _locked(work.parse)
    head = b"\x88\x01\x65\x02\xe8\x07\x05"
    e = raises(DecodeError, hdr.parse, _fix_crc(head + _uleb_ref(1 << 32) + b"\x01hi"))
    assert "source address too large" in str(e)
    e = raises(DecodeError, hdr.parse, _fix_crc(b"\x88\x01\x65\x02" + _uleb_ref(1 << 64)
                                               + b"\x05\x01\x01hi"))
    assert "uleb128 too long" in str(e)
