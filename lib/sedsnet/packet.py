# Packet, make_packet, unpack_packet and peek_header with the reference's (4.2.7) validation
# rules, built on wire.py. Convenience API: it allocates (a Packet per frame); the router's hot
# path uses wire.FrameHeader and wire.pack_into directly. Text forms live in _fmt.py.
import struct

from . import ids, schema
from .compat import const
from .errors import ArgumentError, CompressedFrameError, DecodeError, UnknownTypeError
from .schema import R_EPS, R_FIXED, R_MDT, R_RELIABLE, R_STATIC, WIDTHS
from .wire import REL_ACK_ONLY, REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, frame_size, pack_into, uleb_len

_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type

_REL_UNSEQ = REL_UNSEQUENCED | REL_HAS_SEQ

_STRING = 13
_BINARY = 14
# data_as_* accessor -> (MessageDataType code, struct letter)
_AS = {"u8": (2, "B"), "u16": (3, "H"), "u32": (4, "I"), "u64": (5, "Q"), "i8": (7, "b"),
       "i16": (8, "h"), "i32": (9, "i"), "i64": (10, "q"), "f32": (1, "f"), "f64": (0, "d"),
       "bool": (12, "B")}


def _utf8_ok(data):
    try:
        str(data, "utf-8")
        return True
    except UnicodeError:
        return False


def _check_payload(is_static, mdt, fixed, payload, utf8=True):
    """Reference rules for a received payload: exact static size, whole dynamic elements,
    UTF-8 strings (make_packet checks UTF-8 of dynamic strings only: utf8=False for static
    ones there, as the reference). Raises DecodeError."""
    n = len(payload)
    width = WIDTHS[mdt]
    if is_static:
        if n != fixed:
            raise DecodeError("SizeMismatch { expected: %d, got: %d }" % (fixed, n))
    elif width == 0 or (width <= 16 and n % width):
        # (a dynamic NoData type can never be built or decoded by the reference either)
        raise DecodeError("SizeMismatch { expected: %d, got: %d }" % (width, n))
    if mdt == _STRING and utf8 and not _utf8_ok(payload):
        raise DecodeError("InvalidUtf8")


def _zstd_decompress(data, size):
    """Decompress a zstd frame when the host has a decoder; else None."""
    try:
        import zstandard
        return zstandard.ZstdDecompressor().decompress(bytes(data), max_output_size=size)
    except ImportError:
        pass
    try:
        from compression import zstd
        return zstd.decompress(bytes(data))
    except ImportError:
        return None


class Packet:
    """One telemetry packet (the reference's Packet). Build with make_packet() or
    unpack_packet(); endpoints keep the caller's order, the wire form sorts them."""

    wire_mdt = -1  # the element type of a received wire contract's shape, if any

    def __init__(self, f):
        # f: (ty, sender, endpoints, timestamp_ms, payload, src_addr, nonce). One attribute:
        # on MicroPython each one the instance's table outgrows is an allocation, and each
        # store into a class with properties looks the name up in the class first (a miss:
        # the whole table); one argument, not seven: a call state over 11 words is a heap
        # block per call (from_header runs per delivery)
        self._f = f

    def _data_mdt(self):
        """The element type the payload holds: as 4.2.7, a received contract's inline shape
        wins over the local type (str() and data_as_* read it); -1 for an unknown type."""
        if self.wire_mdt >= 0:
            return self.wire_mdt
        rec = schema.type_record(self._f[0])
        return rec[R_MDT] if rec else -1

    ty = property(lambda self: self._f[0])
    sender = property(lambda self: self._f[1])
    timestamp_ms = property(lambda self: self._f[3])
    payload = property(lambda self: self._f[4])
    data_size = property(lambda self: len(self._f[4]))
    endpoints = property(lambda self: list(self._f[2]))
    src_addr = property(lambda self: self._f[5])  # the header's u32 source address
    nonce = property(lambda self: self._f[6])

    def _wire_eps(self):
        # sorted, unique; built-in control types whose set is their schema default go out in
        # the default form (no endpoint list), as the reference's pack() does
        eps = sorted(set(self._f[2]))
        if self._f[0] <= _SEDSNET_P2P_MESSAGE and tuple(eps) == schema.type_record(self._f[0])[R_EPS]:
            return None
        return eps

    def _rel(self):
        # reliable types carry a compact header "unsequenced, seq 0" (84 00) outside a side
        rec = schema.type_record(self._f[0])
        return _REL_UNSEQ if rec is not None and rec[R_RELIABLE] else -1

    def wire_size(self):
        """Bytes of pack() (raw payload; this port never compresses)."""
        eb = 0
        for e in self._wire_eps() or ():
            eb += uleb_len(e)
        return frame_size(eb, self._f[0], self._f[5], self._f[3], self._f[6], len(self._f[4]),
                          -1, self._rel())

    def pack_into(self, buf, off=0):
        """Write the frame into buf[off:]; returns its length."""
        return pack_into(buf, self._f[0], self._f[5], self._wire_eps(), self._f[3], self._f[6],
                         self._f[4], None, self._rel(), 0, 0, off)

    def pack(self):
        """The frame as bytes, byte-identical to the reference's uncompressed pack()."""
        buf = bytearray(self.wire_size())
        self.pack_into(buf)
        return bytes(buf)

    def packet_id(self):
        return ids.packet_id(self._f[5], self._f[0], sorted(set(self._f[2])), self._f[3], self._f[6],
                             self._f[4])

    def _values(self, which):
        mdt, letter = _AS[which]
        width = WIDTHS[mdt]
        have = self._data_mdt()
        if have != mdt:
            raise ArgumentError("TypeMismatch { expected: %d, got: %d }"
                                % (width, WIDTHS[have] if have >= 0 else 0))
        n = len(self._f[4]) // width
        vals = struct.unpack("<%d%s" % (n, letter), self._f[4][:n * width])
        if which == "bool":
            return [v != 0 for v in vals]
        return list(vals)

    def data_as_u8(self):
        return self._values("u8")

    def data_as_u16(self):
        return self._values("u16")

    def data_as_u32(self):
        return self._values("u32")

    def data_as_u64(self):
        return self._values("u64")

    def data_as_i8(self):
        return self._values("i8")

    def data_as_i16(self):
        return self._values("i16")

    def data_as_i32(self):
        return self._values("i32")

    def data_as_i64(self):
        return self._values("i64")

    def data_as_f32(self):
        return self._values("f32")

    def data_as_f64(self):
        return self._values("f64")

    def data_as_bool(self):
        return self._values("bool")

    def data_as_string(self):
        """The payload as text (String types), trailing NUL padding removed."""
        have = self._data_mdt()
        if have != _STRING:
            raise ArgumentError("TypeMismatch { expected: 1024, got: %d }"
                                % (WIDTHS[have] if have >= 0 else 0))
        data = bytes(self._f[4])
        end = len(data)
        while end and data[end - 1] == 0:
            end -= 1
        try:
            return str(data[:end], "utf-8")
        except UnicodeError:
            raise DecodeError("InvalidUtf8")

    def header_string(self):
        from ._fmt import header_string
        return header_string(self)

    def __str__(self):
        from ._fmt import packet_string
        return packet_string(self)

    def __repr__(self):
        return "<Packet %s>" % self.header_string()


def make_packet(ty, sender, endpoints, timestamp_ms, payload):
    """Build a Packet as the reference does: the type must exist, endpoints must be registered
    and non-empty, a static payload is zero-padded or cut to its fixed size, a dynamic one must
    hold whole elements, String payloads must be UTF-8. Takes the next process-wide nonce."""
    if not isinstance(ty, int):
        raise ArgumentError("ty: a data type is an int, not %s" % type(ty).__name__)
    rec = schema.type_record(ty)
    if rec is None:
        raise UnknownTypeError("InvalidType: %r" % (ty,))
    if not isinstance(sender, str):
        raise ArgumentError("sender must be a str, not %s" % type(sender).__name__)
    if not isinstance(endpoints, (list, tuple)):
        raise ArgumentError("endpoints: a list of endpoint ids, not %s"
                            % type(endpoints).__name__)
    eps = list(endpoints)
    for e in eps:
        if not isinstance(e, int) or not schema.endpoint_exists(e):
            raise ArgumentError("endpoints: bad endpoint %r" % (e,))
    if not isinstance(timestamp_ms, int) or not 0 <= timestamp_ms <= 0xFFFFFFFFFFFFFFFF:
        raise ArgumentError("timestamp_ms must be a u64, not %r" % (timestamp_ms,))
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        ok = isinstance(payload, (list, tuple))
        if ok:
            try:
                payload = bytes(payload)
            except (TypeError, ValueError, OverflowError):
                ok = False
        if not ok:
            raise ArgumentError("payload: bytes or a list of byte values, not %s"
                                % type(payload).__name__)
    # The reference takes the nonce here, before its remaining checks: a packet rejected for
    # empty endpoints, size or UTF-8 still uses one (keeps our sequence in step with theirs).
    nonce = ids.next_nonce()
    if not eps:
        raise ArgumentError("EmptyEndpoints")
    payload = bytes(payload)
    mdt = rec[R_MDT]
    if rec[R_STATIC]:
        fixed = rec[R_FIXED]
        if len(payload) < fixed:
            payload = payload + bytes(fixed - len(payload))
        elif len(payload) > fixed:
            payload = payload[:fixed]
    try:
        _check_payload(rec[R_STATIC], mdt, rec[R_FIXED], payload, not rec[R_STATIC])
    except DecodeError as e:
        raise ArgumentError(str(e))
    src = ids.source_address(sender)
    ids.remember_sender(sender, src)
    return Packet((ty, sender, eps, timestamp_ms, payload, src, nonce))


def from_header(hdr, data):
    """The Packet a handler gets for the frame data, parsed into hdr (Router._deliver): the
    fields straight from hdr's arrays (no __getattr__), the endpoints as an array slice."""
    w = hdr.wide
    src = w[4] | (w[5] << 16)
    ts = w[0] | (w[1] << 16)
    if w[2] or w[3]:  # (x << 32 is a heap int on a 32-bit board, even for x = 0)
        ts |= (w[2] << 32) | (w[3] << 48)
    e = hdr.endpoints
    n = hdr.ep_count
    # (a slice makes a slice object too, a list its items' block: the usual one or two
    # endpoints go in a tuple, one allocation; Packet.endpoints hands out a list of them)
    eps = (e[0], e[1]) if n == 2 else (e[0],) if n == 1 else e[:n]
    pkt = Packet((hdr.ty, ids.sender_name(src), eps, ts,
                  bytes(data[hdr.payload_start:hdr.payload_end]), src, hdr.nonce))
    shape = hdr.contract_shape(data) if hdr.contract_start >= 0 else None
    if shape is not None:
        pkt.wire_mdt = shape[1]  # str() and data_as_* read the wire shape, as 4.2.7
    return pkt


def _parse(data, full=True):
    hdr = FrameHeader(max_endpoints=256, accept_compressed=True)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ArgumentError("frame must be bytes-like")
    hdr.parse(data, -1, full)
    return hdr


def peek_header(data):
    """Header fields of a frame without validating its payload: a dict with ty, sender,
    endpoints, timestamp_ms (as the reference's peek_header_py)."""
    hdr = _parse(data, False)
    return {"ty": hdr.ty, "sender": ids.sender_name(hdr.src_addr),
            "endpoints": list(hdr.endpoints[:hdr.ep_count]), "timestamp_ms": hdr.timestamp_ms}


def unpack_packet(data):
    """Decode and validate a frame into a Packet. Malformed frames raise DecodeError; unknown
    types UnknownTypeError; zstd payloads CompressedFrameError unless the host can decompress
    (the reference's Packet.pack() compresses payloads of 128+ bytes)."""
    hdr = _parse(data)
    if hdr.rel_form and hdr.rel_flags & REL_ACK_ONLY:
        raise DecodeError("reliable control frame")  # as 4.2.7: an ACK-only reliable header
    payload = bytes(memoryview(data)[hdr.payload_start:hdr.payload_end])
    if hdr.e2e:
        raise DecodeError("bad e2e payload length (E2E payloads are not supported)")
    if hdr.compressed:
        raw = _zstd_decompress(payload, hdr.data_size)
        if raw is None:
            raise CompressedFrameError("zstd-compressed payload (FLAGS 0x01) and no decoder")
        if len(raw) != hdr.data_size:
            raise DecodeError("decompression failed")
        payload = raw
    rec = schema.type_record(hdr.ty)
    shape = hdr.contract_shape(data)
    if rec is None and shape is None:
        raise UnknownTypeError("InvalidType: %d" % hdr.ty)  # (4.2.7 decodes it by a shape)
    if shape is not None:  # an in-flight contract's shape overrides the local schema
        width = WIDTHS[shape[1]]
        _check_payload(shape[0], shape[1], width * shape[2], payload)
    else:
        _check_payload(rec[R_STATIC], rec[R_MDT], rec[R_FIXED], payload)
    pkt = Packet((hdr.ty, ids.sender_name(hdr.src_addr), list(hdr.endpoints[:hdr.ep_count]),
                  hdr.timestamp_ms, payload, hdr.src_addr, hdr.nonce))
    if shape is not None:
        pkt.wire_mdt = shape[1]
    return pkt


unpack_packet_py = unpack_packet
peek_header_py = peek_header
