# The P2P message (type 18, SEDSNET_P2P_MESSAGE) payload, version 1, and the stream
# sub-frame it may carry (shared/protocol/control-payloads.md, verified-4.2.7.md "P2P"),
# byte-identical to sedsnet 4.2.7's (host_tests/test_p2p_codec_differential.py):
#   u8 1 | u16 dst_port | u16 src_port | u32 src address | u16 hostname_len | u32 payload_len
#   | hostname (utf-8, the sender's) | payload
# and, when the payload starts with "SDSP":
#   "SDSP" | u8 1 | u8 flags | u32 src_stream | u32 dst_stream | u32 seq | u32 len | data
# all little-endian. Loaded by p2p.py. Decoders read in place and raise DecodeError for
# anything malformed; encoders write into a caller's buffer (no allocation beyond it).
import struct

from .compat import const
from .errors import ArgumentError, DecodeError

VERSION = const(1)
HEADER = const(15)  # bytes before the hostname
SDSP_HEADER = const(22)  # bytes before the stream data
# stream sub-frame flags
SYN = const(0x01)
ACK = const(0x02)
FIN = const(0x04)
RST = const(0x08)
DATA = const(0x10)
_FLAGS = const(0x1F)
_MAGIC = b"SDSP"


def message_size(hostname_len, payload_len):
    """Bytes of a type-18 payload with a hostname and payload of these lengths."""
    return HEADER + hostname_len + payload_len


def encode_message(buf, p, dst_port, src_port, src_addr, hostname, payload):
    """Write the type-18 payload at buf[p]; returns the position after it. hostname and
    payload are bytes-like; ports u16, src_addr u32 (ArgumentError otherwise)."""
    _u16(dst_port, "dst_port")
    _u16(src_port, "src_port")
    if not isinstance(src_addr, int) or src_addr < 0 or src_addr > 0xFFFFFFFF:
        raise ArgumentError("address: a u32, not %r" % (src_addr,))
    hl = len(hostname)
    if hl > 0xFFFF:
        raise ArgumentError("hostname of %d bytes (at most 65535)" % hl)
    pl = len(payload)
    buf[p] = VERSION
    struct.pack_into("<HH", buf, p + 1, dst_port, src_port)
    _put32(buf, p + 5, src_addr)
    struct.pack_into("<H", buf, p + 9, hl)
    _put32(buf, p + 11, pl)
    p += HEADER
    buf[p:p + hl] = hostname
    p += hl
    buf[p:p + pl] = payload
    return p + pl


def decode_message(data, p=0, end=-1):
    """(dst_port, src_port, src_addr, host_start, host_end, pay_start, pay_end) of the type-18
    payload in data[p:end] (end -1: len(data)); DecodeError when malformed: another version,
    lengths that do not add up to the payload's length."""
    if end < 0:
        end = len(data)
    if end - p < HEADER:
        raise DecodeError("p2p message of %d bytes (header is %d)" % (end - p, HEADER))
    if data[p] != VERSION:
        raise DecodeError("p2p message version %d" % data[p])
    dst, src = struct.unpack_from("<HH", data, p + 1)
    addr = _get32(data, p + 5)
    hl = data[p + 9] | (data[p + 10] << 8)
    h = p + HEADER
    if end - h < hl or _get32(data, p + 11) != end - h - hl:
        raise DecodeError("p2p message lengths do not match its %d bytes" % (end - p))
    return dst, src, addr, h, h + hl, h + hl, end


def hostname_of(data, start, end):
    """The sender's hostname of a decoded message (str); DecodeError for bad UTF-8."""
    try:
        return str(bytes(data[start:end]), "utf-8")
    except UnicodeError:
        raise DecodeError("p2p hostname is not UTF-8")


def is_stream(data, p, end):
    """Whether the payload data[p:end] is a stream sub-frame (starts with "SDSP")."""
    return end - p >= 4 and data[p] == 0x53 and data[p + 1] == 0x44 and data[p + 2] == 0x53 \
        and data[p + 3] == 0x50


def stream_size(data_len):
    return SDSP_HEADER + data_len


def encode_stream(buf, p, flags, src_stream, dst_stream, seq, data=b""):
    """Write a stream sub-frame at buf[p]; returns the position after it."""
    if not isinstance(flags, int) or flags & ~_FLAGS or not flags:
        raise ArgumentError("stream flags %r" % (flags,))
    buf[p:p + 4] = _MAGIC
    buf[p + 4] = VERSION
    buf[p + 5] = flags
    _put32(buf, p + 6, src_stream)
    _put32(buf, p + 10, dst_stream)
    _put32(buf, p + 14, seq)
    n = len(data)
    _put32(buf, p + 18, n)
    p += SDSP_HEADER
    buf[p:p + n] = data
    return p + n


def decode_stream(data, p, end):
    """(flags, src_stream, dst_stream, seq, data_start, data_end) of the sub-frame in
    data[p:end]; DecodeError when malformed (short, not SDSP, another version, unknown or no
    flags, a length that does not match)."""
    if end - p < SDSP_HEADER or not is_stream(data, p, end):
        raise DecodeError("not a p2p stream sub-frame")
    if data[p + 4] != VERSION:
        raise DecodeError("p2p stream version %d" % data[p + 4])
    flags = data[p + 5]
    if not flags or flags & ~_FLAGS:
        raise DecodeError("p2p stream flags 0x%02x" % flags)
    n = _get32(data, p + 18)
    if n != end - p - SDSP_HEADER:
        raise DecodeError("p2p stream length %d for %d bytes" % (n, end - p - SDSP_HEADER))
    return (flags, _get32(data, p + 6), _get32(data, p + 10), _get32(data, p + 14),
            p + SDSP_HEADER, end)


def _u16(v, name):
    if not isinstance(v, int) or v < 0 or v > 0xFFFF:
        raise ArgumentError("%s: a u16 port, not %r" % (name, v))


def _put32(buf, p, v):
    # byte by byte: a u32 above 2^30 is already a heap int on 32-bit boards, no more made here
    buf[p] = v & 0xFF
    buf[p + 1] = (v >> 8) & 0xFF
    buf[p + 2] = (v >> 16) & 0xFF
    buf[p + 3] = (v >> 24) & 0xFF


def _get32(b, p):
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
