# The SEDSnet 4.2.7 frame codec (shared/protocol/frame.md): pack_into() writes a frame into a
# preallocated buffer, FrameHeader.parse() validates one in place (CRC included) and records
# where every field lives. Neither allocates per frame for typical frames under MicroPython
# (host_tests/dual/test_wire.py proves it under heap_lock). parse() takes a plain data frame in
# one kernel call (hdr_scan); every other frame goes to wire_parse.py, loaded on first use.
import struct
from array import array

from .compat import const
from .schema import R_EPS, type_record

from .kernels import KIND as KERNELS  # noqa: F401 ("viper" or "pure": firmware, tests)
from .kernels import crc32_write, hdr_scan

_F_COMPRESSED = const(0x01)
_F_RELIABLE = const(0x02)
_F_CONTRACT = const(0x04)
_F_NONCE = const(0x08)
F_E2E = const(0x10)
_F_BITMAP = const(0x20)
_F_COMPACT_REL = const(0x40)
_F_EP_LIST = const(0x80)

# Compact reliable header wire_flags
REL_ACK_ONLY = const(0x01)
REL_UNORDERED = const(0x02)
REL_HAS_SEQ = const(0x04)
REL_HAS_ACK = const(0x08)
REL_UNSEQUENCED = const(0x80)

# FrameHeader.spans indices (the packet-ID kernels read these)
_S_TY = const(0)  # offset of the ty ULEB
S_TS = const(1)  # offset of the timestamp ULEB
_S_NONCE = const(2)  # nonce value (0 when the frame has none)
S_SRC = const(3)  # offset of the src_addr ULEB
_S_SIZE = const(4)  # offset of the data_size ULEB
_S_PAY = const(5)  # payload start
_S_PAYEND = const(6)  # payload end (exclusive)
_S_NEP = const(7)  # endpoint IDs stored in FrameHeader.endpoints

_EP_DEFAULT = const(0)  # endpoint forms
_EP_LIST = const(1)
EP_BITMAP = const(2)

_MAX_U32 = const(0xFFFFFFFF)
REL_MODE = 2  # FrameHeader.parse(full=REL_MODE)
_OWN = const(3)  # FrameHeader.parse(full=3): full=True for a frame this node just packed


_BIG = const(0x0FFFFFFF)  # above this, ULEBs are worked out from the value's bytes
_W = bytearray(8)  # those bytes (little-endian u64): v >> 7 would be a heap int on 32-bit boards
TS8 = _W  # log_pack's timestamp (u64 LE; also the ULEB helpers' scratch: log_pack calls none)


def uleb_len(v):
    """Bytes a ULEB128 of v takes."""
    if v > _BIG:
        struct.pack_into("<Q", _W, 0, v)
        return _uleb_len_le(_W)
    n = 1
    while v > 0x7F:
        v >>= 7
        n += 1
    return n


def put_uleb(buf, p, v):
    """Write v as ULEB128 at buf[p]; returns the position after it."""
    if v > _BIG:
        struct.pack_into("<Q", _W, 0, v)
        return _put_uleb_le(buf, p, _W)
    while v > 0x7F:
        buf[p] = (v & 0x7F) | 0x80
        v >>= 7
        p += 1
    buf[p] = v
    return p + 1


def _uleb_len_le(le):
    # ULEB length of the little-endian integer in le (small ints only)
    k = len(le) - 1
    while k > 0 and not le[k]:
        k -= 1
    bits = 8 * k
    x = le[k]
    while x:
        x >>= 1
        bits += 1
    return (bits + 6) // 7 if bits else 1


def _put_uleb_le(buf, p, le):
    # the ULEB of the little-endian integer in le, 7 bits at a time through a 15-bit window
    n = _uleb_len_le(le)
    acc = nb = k = 0
    for j in range(n):
        if nb < 7 and k < len(le):
            acc |= le[k] << nb
            k += 1
            nb += 8
        b = acc & 0x7F
        acc >>= 7
        nb -= 7
        buf[p] = b | 0x80 if j < n - 1 else b
        p += 1
    return p


def frame_size(nep_bytes, ty, src_addr, timestamp_ms, nonce, plen, clen=-1, rel_flags=-1,
               seq=0, ack=0):
    """Length of a frame; nep_bytes = bytes of the endpoint IDs (0 for the default form)."""
    n = 6 + uleb_len(ty) + uleb_len(plen) + uleb_len(timestamp_ms) + uleb_len(nonce)
    n += uleb_len(src_addr) + nep_bytes + plen
    if clen >= 0:
        n += uleb_len(clen) + clen
    if rel_flags >= 0:
        n += 1
        if rel_flags & REL_HAS_SEQ:
            n += uleb_len(seq)
        if rel_flags & REL_HAS_ACK:
            n += uleb_len(ack)
    return n


def pack_into(buf, ty, src_addr, endpoints, timestamp_ms, nonce, payload, contract=None,
              rel_flags=-1, seq=0, ack=0, off=0, n_eps=-1):
    """Write one frame into buf[off:]; returns its length. Nothing is written if it won't fit.

    endpoints: strictly ascending endpoint IDs (explicit list, FLAGS 0x80), the first n_eps of
    them when n_eps >= 0 (e.g. a FrameHeader.endpoints array); None = the schema default list
    of ty (no 0x80; NEP = its length; how routers send control types). nonce: u16, always sent
    (0x08). contract: optional wire-contract bytes (0x04). rel_flags >= 0 adds a compact
    reliable header (0x02|0x40): wire_flags byte, then seq if REL_HAS_SEQ, ack if REL_HAS_ACK.
    payload: bytes-like, sent raw (never compressed).
    """
    flags = _F_NONCE
    if endpoints is None:
        rec = type_record(ty)
        if rec is None:
            _refuse(0, ty)
        endpoints = rec[R_EPS]
        nep = len(endpoints)
    else:
        flags |= _F_EP_LIST
        nep = len(endpoints) if n_eps < 0 else n_eps
    if nep < 1 or nep > 255:
        _refuse(1 if nep < 1 else 2, nep)
    ep_bytes = 0
    if flags & _F_EP_LIST:
        last = -1
        for i in range(nep):
            e = endpoints[i]
            if e <= last or e > _MAX_U32:
                _refuse(3, e)
            last = e
            ep_bytes += uleb_len(e)
    clen = -1
    if contract is not None:
        clen = len(contract)
        flags |= _F_CONTRACT
    if rel_flags >= 0:
        flags |= _F_RELIABLE | _F_COMPACT_REL
    plen = len(payload)
    if not (0 <= ty <= _MAX_U32 and 0 <= src_addr <= _MAX_U32 and 0 <= nonce <= 0xFFFF
            and 0 <= timestamp_ms <= 0xFFFFFFFFFFFFFFFF):
        _refuse(4, 0)
    size = frame_size(ep_bytes, ty, src_addr, timestamp_ms, nonce, plen, clen, rel_flags, seq,
                      ack)
    if off + size > len(buf):
        _refuse(5, size)
    buf[off] = flags
    buf[off + 1] = nep
    p = put_uleb(buf, off + 2, ty)
    p = put_uleb(buf, p, plen)
    p = put_uleb(buf, p, timestamp_ms)
    p = put_uleb(buf, p, nonce)
    p = put_uleb(buf, p, src_addr)
    if flags & _F_EP_LIST:
        for i in range(nep):
            p = put_uleb(buf, p, endpoints[i])
    if clen >= 0:
        p = put_uleb(buf, p, clen)
        buf[p:p + clen] = contract
        p += clen
    if rel_flags >= 0:
        buf[p] = rel_flags
        p += 1
        if rel_flags & REL_HAS_SEQ:
            p = put_uleb(buf, p, seq)
        if rel_flags & REL_HAS_ACK:
            p = put_uleb(buf, p, ack)
    buf[p:p + plen] = payload
    p += plen
    crc32_write(buf, off, p)
    return size


def log_template(ty, src_addr, endpoints, rel_flags=-1):
    """The fixed parts of the frames a router logs for one type, for log_pack(): bytes
    [hlen, tlen lo, tlen hi] + FLAGS NEP ty (hlen bytes) + sender, endpoints, reliable header
    (tlen bytes), cut from a frame pack_into() makes (so the same checks and bytes)."""
    eb = 0
    for e in endpoints:
        eb += uleb_len(e)
    n = frame_size(eb, ty, src_addr, 0, 0, 0, -1, rel_flags)
    buf = bytearray(n)
    pack_into(buf, ty, src_addr, endpoints, 0, 0, b"", None, rel_flags)
    h = 2 + uleb_len(ty)
    tail = buf[h + 3:n - 4]  # (data size, timestamp and nonce 0: one byte each)
    t = len(tail)
    return bytes([h, t & 0xFF, t >> 8]) + buf[:h] + tail


_wp = None  # wire_parse, the general parser: loaded with the first frame hdr_scan leaves to it
_len = len  # (per frame: a builtin is found only after a miss in this module's table)


def _refuse(why, v):
    # pack_into's argument errors: their messages live in wire_parse (off the hot path)
    (_wp or _load()).refuse(why, v)


def _load():
    global _wp
    from . import wire_parse
    _wp = wire_parse
    return _wp


class FrameHeader:
    """A reusable, preallocated view of one frame's header. parse() fills it in place.

    Fields after parse(buf, n): flags, nep, ty, data_size, timestamp_ms, nonce (0 if absent),
    has_nonce, src_addr, ep_form (0 default, 1 list, EP_BITMAP), ep_count + endpoints (array of
    u32, first ep_count valid; ascending), bitmap_start (-1 unless bitmap form),
    contract_start/contract_end (-1 when absent; the contract bytes without their length),
    rel_form (0 none, 1 compact, 2 fixed), rel_flags, seq, ack, payload_start, payload_end,
    frame_len, compressed, e2e; spans (array, S_* indices) for the packet-ID kernels.
    timestamp_ms and src_addr are kept as 16-bit limbs (`wide`) and made into ints only when
    read: on 32-bit boards an int of 2**30 or more is a heap object, and the hot path (the
    packet ID re-reads the frame bytes) never needs them as ints.
    """

    def __init__(self, max_endpoints=32, accept_compressed=False):
        self.endpoints = array("I", bytes(4 * max_endpoints))
        self.max_endpoints = max_endpoints
        self.spans = array("i", bytes(4 * 8))
        self.accept_compressed = accept_compressed
        self.flags = self.nep = self.ty = self.data_size = 0
        self.nonce = self.ep_form = self.ep_count = 0
        self.wide = array("H", bytes(16))  # timestamp u64, src_addr u32: 16-bit limbs (LE)
        self.has_nonce = self.compressed = self.e2e = False
        self.bitmap_start = self.contract_start = self.contract_end = -1
        self.rel_form = self.rel_flags = self.seq = self.ack = 0
        self.payload_start = self.payload_end = self.frame_len = 0
        self._p = 0
        self._o = array("i", bytes(4 * 9))  # hdr_scan's fields (see _fast.hdr_scan)
        self._plain = False  # the fields of a plain frame's form are set (parse)

    # timestamp_ms and src_addr: through __getattr__, not properties. A class with a property
    # makes MicroPython look the class up on every attribute store of its instances (about 6x
    # slower stores: ~5 us per parse here); __getattr__ is only asked for missing names.
    def __getattr__(self, name):
        w = self.wide  # (set by __init__ before anything reads a field)
        if name == "timestamp_ms":
            return w[0] | (w[1] << 16) | (w[2] << 32) | (w[3] << 48)
        if name == "src_addr":
            return w[4] | (w[5] << 16)
        raise AttributeError(name)

    def parse(self, buf, n=-1, full=True):
        """Validate the frame buf[0:n] (n=-1: whole buffer) and fill the fields.

        full=False checks only what the reference's peek_header checks (CRC, header, endpoints,
        contract) and leaves the reliable header and payload fields unset; full=REL_MODE
        (2) adds the reliable header (what a 4.2.7 Router checks of a frame it only relays;
        no nonce range check). The payload span is then the rest of the frame. full=3:
        full=True for a frame this node packed itself (a plain one's CRC is not checked).

        Raises DecodeError (CompressedFrameError for zstd payloads unless accept_compressed,
        UnknownTypeError for a schema-default endpoint form with an unknown type).
        """
        # (four locals and the kernel's seven stack words: 11 words of call state, which
        # MicroPython keeps off the heap; n holds the kernel's outputs once it is stored)
        if full is True or full == _OWN:  # a plain data frame (nonce, endpoint list): one
            if n < 0:  # kernel call (given -n for _OWN: it skips the CRC check)
                n = _len(buf)
            if n <= _len(buf) and hdr_scan(buf, n if full is True else -n, self.spans, self._o,
                                          self.wide, self.endpoints):
                if not self._plain:  # (what every plain frame has: set once, not per frame)
                    self._plain = True
                    self.has_nonce = True
                    self.ep_form = _EP_LIST
                    self.bitmap_start = self.contract_start = self.contract_end = -1
                    self.compressed = self.e2e = False
                self.frame_len = n
                self.flags = buf[0]
                self.nep = self.ep_count = buf[1]
                n = self._o
                self.ty = n[0]
                self.data_size = n[1]
                self.nonce = n[2]
                self.rel_form = n[3]
                self.rel_flags = n[4]
                self.seq = n[5]
                self.ack = n[6]
                self.payload_start = n[7]
                self.payload_end = n[8]
                return self
        return (_wp or _load()).parse(self, buf, n, True if full == _OWN else full)

    def contract_shape(self, buf):
        """(is_static, mdt, count) from the contract's inline shape, or None."""
        return (_wp or _load()).contract_shape(self, buf)

    def contract_targets(self, buf):
        """The contract's u64 target sender hashes as a list (allocates), or []."""
        return (_wp or _load()).contract_targets(self, buf)
