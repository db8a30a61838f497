# The general frame parser behind wire.FrameHeader.parse (shared/protocol/frame.md): every form
# 4.2.7 accepts (schema-default and bitmap endpoints, wire contracts, fixed reliable headers,
# peek and relay modes) and every error. Loaded with the first frame the one-pass kernel
# (hdr_scan) leaves to it, so a board that only logs and forwards plain frames never holds it.
from .compat import const
from .errors import (ArgumentError, CompressedFrameError, DecodeError, E2EError, SedsError,
                     UnknownTypeError)
from .kernels import crc32_check
from .schema import R_EPS, endpoint_exists, type_record

# the same values as wire.py's (private here: MicroPython folds only a module's own consts)
_F_BITMAP = const(0x20)
_F_COMPACT_REL = const(0x40)
_F_COMPRESSED = const(0x01)
_F_CONTRACT = const(0x04)
_F_EP_LIST = const(0x80)
_F_NONCE = const(0x08)
_F_RELIABLE = const(0x02)
_F_E2E = const(0x10)
_REL_ACK_ONLY = const(0x01)
_REL_HAS_ACK = const(0x08)
_REL_HAS_SEQ = const(0x04)
_S_TY = const(0)
_S_TS = const(1)
_S_NONCE = const(2)
_S_SRC = const(3)
_S_SIZE = const(4)
_S_PAY = const(5)
_S_PAYEND = const(6)
_S_NEP = const(7)
_EP_DEFAULT = const(0)
_EP_LIST = const(1)
_EP_BITMAP = const(2)
_MAX_U32 = const(0xFFFFFFFF)


def _uleb(h, b, end):
    p = h._p
    v = 0
    s = 0
    while True:
        if p >= end:
            raise DecodeError("short read")
        x = b[p]
        p += 1
        if s == 63 and x > 1:
            raise DecodeError("uleb128 too long")
        v |= (x & 0x7F) << s
        if x < 0x80:
            break
        s += 7
    h._p = p
    return v


def _wide(h, b, end, k):
    # a ULEB (at most u64) into the limbs wide[k:k+4], never as one int (see the class doc)
    w = h.wide
    w[k] = w[k + 1] = w[k + 2] = w[k + 3] = 0
    p = h._p
    acc = nb = s = 0
    j = k
    while True:
        if p >= end:
            raise DecodeError("short read")
        x = b[p]
        p += 1
        if s == 63 and x > 1:
            raise DecodeError("uleb128 too long")
        acc |= (x & 0x7F) << nb
        nb += 7
        if nb >= 16 and j < k + 4:
            w[j] = acc & 0xFFFF
            j += 1
            acc >>= 16
            nb -= 16
        if x < 0x80:
            break
        s += 7
    if j < k + 4:
        w[j] = acc & 0xFFFF
    h._p = p


def parse(h, buf, n, full):
    # FrameHeader.parse for every frame hdr_scan leaves to it (see its docstring)
    h.compressed = h.e2e = False  # a frame refused early is neither (drop reasons)
    h._plain = False  # (the fields FrameHeader.parse sets once for plain frames change here)
    if n < 0:
        n = len(buf)
    if n < 4 or n > len(buf):
        raise DecodeError("short buffer")
    end = n - 4
    if not crc32_check(buf, 0, end):
        raise DecodeError("crc32 mismatch")
    if end < 2:
        raise DecodeError("short read")
    h.frame_len = n
    flags = buf[0]
    nep = buf[1]
    h.flags = flags
    h.nep = nep
    if nep == 0 and not flags & (_F_EP_LIST | _F_BITMAP):
        raise DecodeError("EmptyEndpoints")
    if flags & _F_EP_LIST and flags & _F_BITMAP:
        raise DecodeError("ambiguous endpoint encoding")
    sp = h.spans
    h._p = 2
    sp[_S_TY] = 2
    ty = _uleb(h, buf, end)
    if ty > _MAX_U32:
        raise DecodeError("type too large")
    h.ty = ty
    sp[_S_SIZE] = h._p
    h.data_size = _uleb(h, buf, end)
    sp[_S_TS] = h._p
    _wide(h, buf, end, 0)
    h.has_nonce = bool(flags & _F_NONCE)
    h.nonce = 0
    if flags & _F_NONCE:
        v = _uleb(h, buf, end)
        if v > 0xFFFF and full is True:
            raise DecodeError("packet nonce too large")
        h.nonce = v
    sp[_S_NONCE] = h.nonce & 0xFFFF  # (peek mode lets a wider nonce through)
    sp[_S_SRC] = h._p
    _wide(h, buf, end, 4)
    if h.wide[6] or h.wide[7]:
        raise DecodeError("source address too large")
    _endpoints(h, buf, end, flags, nep, ty)
    sp[_S_NEP] = h.ep_count
    p = h._p
    h.contract_start = h.contract_end = -1
    if flags & _F_CONTRACT:
        clen = _uleb(h, buf, end)
        p = h._p
        if clen > end - p:
            raise DecodeError("short read")
        _check_contract(h, buf, p, p + clen)
        h.contract_start = p
        h.contract_end = p = p + clen
    h.rel_form = h.rel_flags = h.seq = h.ack = 0
    # 4.2.7 reads a reliable header when FLAGS has 0x02 or the contract's cflags have 0x04
    # ("reliable header implied"); FLAGS 0x40 picks its form either way
    has_rel = flags & _F_RELIABLE or (h.contract_start >= 0
                                     and buf[h.contract_start] & 0x04)
    if nep == 0 and not (has_rel and p < end and buf[p] & _REL_ACK_ONLY
                         and (flags & _F_COMPACT_REL or p + 9 <= end)):
        raise DecodeError("EmptyEndpoints")  # (4.2.7 lets an ACK-only frame name none)
    if not full:
        h.payload_start = sp[_S_PAY] = p  # (what follows the header, for a packet ID)
        h.payload_end = sp[_S_PAYEND] = end
        return h
    if has_rel:
        if p >= end:
            raise DecodeError("short read")
        h.rel_flags = rf = buf[p]
        p += 1
        if flags & _F_COMPACT_REL:
            h.rel_form = 1
            h._p = p
            if rf & _REL_HAS_SEQ:
                h.seq = _uleb(h, buf, end)
                if h.seq > _MAX_U32:
                    raise DecodeError("reliable seq too large")
            if rf & _REL_HAS_ACK:
                h.ack = _uleb(h, buf, end)
                if h.ack > _MAX_U32:
                    raise DecodeError("reliable ack too large")
            p = h._p
        else:
            if p + 8 > end:
                raise DecodeError("short read")
            h.rel_form = 2
            h.seq = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)
            h.ack = buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24)
            p += 8
    if full is not True:  # REL_MODE: a 4.2.7 Router's checks of a frame it only relays
        h.payload_start = sp[_S_PAY] = p
        h.payload_end = sp[_S_PAYEND] = end
        return h
    h.compressed = bool(flags & _F_COMPRESSED)
    h.e2e = bool(flags & _F_E2E)
    h.payload_start = sp[_S_PAY] = p
    if h.compressed or h.e2e:
        h.payload_end = end  # a wrapped payload runs to the CRC
    else:
        if h.data_size > end - p:
            raise DecodeError("short read")
        h.payload_end = p + h.data_size
    sp[_S_PAYEND] = h.payload_end
    if h.compressed and not h.accept_compressed:
        raise CompressedFrameError("zstd-compressed payload (FLAGS 0x01) not supported")
    return h


def _endpoints(h, buf, end, flags, nep, ty):
    eps = h.endpoints
    h.bitmap_start = -1
    if flags & _F_EP_LIST:
        h.ep_form = _EP_LIST
        if nep > h.max_endpoints:
            raise DecodeError("more endpoints than this FrameHeader holds")
        last = -1
        for i in range(nep):
            e = _uleb(h, buf, end)
            if e > _MAX_U32:
                raise DecodeError("endpoint too large")
            if e <= last:
                raise DecodeError("endpoint list is not unique and sorted")
            eps[i] = last = e
        h.ep_count = nep
    elif flags & _F_BITMAP:
        h.ep_form = _EP_BITMAP
        p = h._p
        if p + 32 > end:
            raise DecodeError("short read")
        count = 0
        for i in range(32):
            x = buf[p + i]
            while x:
                x &= x - 1
                count += 1
        if count != nep:
            raise DecodeError("endpoint count mismatch")
        if nep > h.max_endpoints:
            raise DecodeError("more endpoints than this FrameHeader holds")
        k = 0
        for i in range(256):
            if buf[p + (i >> 3)] & (1 << (i & 7)):
                if not endpoint_exists(i):
                    raise DecodeError("bad endpoint bit set")
                eps[k] = i
                k += 1
        h.ep_count = k
        h.bitmap_start = p
        h._p = p + 32
    else:
        h.ep_form = _EP_DEFAULT
        rec = type_record(ty)
        if rec is None:
            raise UnknownTypeError("InvalidType: %d" % ty)
        deflt = rec[R_EPS]
        if len(deflt) != nep:
            raise DecodeError("endpoint count mismatch")
        if nep > h.max_endpoints:
            raise DecodeError("more endpoints than this FrameHeader holds")
        for i in range(nep):
            eps[i] = deflt[i]
        h.ep_count = nep

def _check_contract(h, buf, p, end):
    # u8 cflags [shape u8 (+uleb count if static)] [uleb n + n x u64 targets], exact length
    if p >= end:
        raise DecodeError("short read")
    cf = buf[p]
    p += 1
    save = h._p
    if cf & 0x02:
        if p >= end:
            raise DecodeError("short read")
        shape = buf[p]
        p += 1
        if shape & 0x30 == 0x30:
            raise DecodeError("wire shape class")  # MessageClass codes are 0..2
        if shape & 0x40:
            h._p = p
            _uleb(h, buf, end)
            p = h._p
    if cf & 0x01:
        h._p = p
        count = _uleb(h, buf, end)
        p = h._p
        if count > (end - p) >> 3:
            raise DecodeError("short read")
        p += 8 * count
    h._p = save
    if p != end:
        raise DecodeError("wire contract trailing bytes")

def contract_shape(h, buf):
    """(is_static, mdt, count) from the contract's inline shape, or None."""
    p = h.contract_start
    if p < 0 or not buf[p] & 0x02:
        return None
    shape = buf[p + 1]
    count = 0
    if shape & 0x40:
        save = h._p
        h._p = p + 2
        count = _uleb(h, buf, h.contract_end)
        h._p = save
    return (bool(shape & 0x40), shape & 0x0F, count)

def contract_targets(h, buf):
    """The contract's u64 target sender hashes as a list (allocates), or []."""
    p = h.contract_start
    if p < 0 or not buf[p] & 0x01:
        return []
    q = p + 1
    if buf[p] & 0x02:
        q += 1
        if buf[q - 1] & 0x40:
            while buf[q] & 0x80:
                q += 1
            q += 1
    save = h._p
    h._p = q
    count = _uleb(h, buf, h.contract_end)
    q = h._p
    h._p = save
    out = []
    for i in range(count):
        v = 0
        for j in range(8):
            v |= buf[q + 8 * i + j] << (8 * j)
        out.append(v)
    return out


def refuse(why, v):
    # wire.pack_into's argument errors (why: its check; v: the value at fault)
    if why == 0:
        raise UnknownTypeError("InvalidType: %d" % v)
    if why == 5:
        raise ArgumentError("frame of %d bytes does not fit the buffer" % v)
    raise ArgumentError(("EmptyEndpoints", "more than 255 endpoints",
                         "endpoints must be ascending, unique u32 IDs",
                         "field out of range (ty/src u32, nonce u16, timestamp u64)")[why - 1])


_REL_MODE = const(2)  # wire.REL_MODE
_P2P_MESSAGE = const(18)  # the last built-in (control) type


def refused(node, side, data, n, e):
    # a frame from side that failed forward._check (e): as 4.2.7, a user frame no local
    # handler holds needs only pass the reliable header's checks and is then passed on as
    # it is (returns); anything else is counted on the side (its reason) and raises e
    hdr = node._hdr
    if n >= 3:
        e2e = hdr.e2e
        try:
            parse(hdr, data, n, _REL_MODE)
            if hdr.rel_form and hdr.rel_flags & _REL_ACK_ONLY:
                return  # 4.2.7 reads nothing after an ACK-only header
            # (a control type, a zstd payload (FLAGS 0x01) or a local holder: all of it)
            held = hdr.ty <= _P2P_MESSAGE or data[0] & _F_COMPRESSED or node._holds(hdr)
            held = held or isinstance(e, E2EError)  # failed authentication: never passed on
        except SedsError:
            held = True
        if not held:
            return
        hdr.e2e = e2e  # (the drop reason of the full parse)
    count_drop(side, hdr, e)
    raise e


def count_drop(side, hdr, e):
    # the drop reason (engine.DROP_NAMES) of a frame from side refused with e, counted there
    d = 0  # decode
    if hdr.e2e or isinstance(e, E2EError):
        d = 4  # e2e
    elif isinstance(e, UnknownTypeError):
        d = 2  # unknown_type
    elif isinstance(e, CompressedFrameError):
        d = 3  # compressed
    side.drops[d] += 1
