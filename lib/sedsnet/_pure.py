# Pure-Python twins of the hot kernels in _fast.py (CPython, CircuitPython, and any board whose
# MicroPython lacks the viper emitter). Same signatures, same results; tests compare the two.
# Span layout shared with wire.FrameHeader: see wire.py (_S_* indices).
from struct import pack_into

try:
    from binascii import crc32 as _crc32
except ImportError:  # pragma: no cover - every port we target has binascii.crc32
    _crc32 = None

_S_TY = 0
_S_TS = 1
_S_NONCE = 2
_S_SRC = 3
_S_PAY = 5
_S_PAYEND = 6
_S_NEP = 7


def _crc_table():
    t = []
    for i in range(16):
        c = i
        for _ in range(4):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t.append(c)
    return t


_T = None


def crc32(buf, start, end, c=0):
    """CRC-32/IEEE (zlib.crc32) of buf[start:end] as an int, continuing from crc c."""
    if _crc32 is not None:
        if start == 0 and end == len(buf):
            return _crc32(buf, c) & 0xFFFFFFFF
        if not isinstance(buf, memoryview):
            buf = memoryview(buf)
        return _crc32(buf[start:end], c) & 0xFFFFFFFF
    global _T
    if _T is None:
        _T = _crc_table()
    t = _T
    c ^= 0xFFFFFFFF
    for i in range(start, end):
        c ^= buf[i]
        c = (c >> 4) ^ t[c & 15]
        c = (c >> 4) ^ t[c & 15]
    return c ^ 0xFFFFFFFF


# struct moves the CRC to and from bytes: shifts and masks on it would make more heap ints on
# 32-bit boards, where a CRC of 2**30 or more is one already
_C4 = bytearray(4)


def crc32_write(buf, start, end):
    """Store the CRC-32 of buf[start:end] little-endian at buf[end:end+4]."""
    pack_into("<I", buf, end, crc32(buf, start, end))


_RESIDUE = 0x2144DF1C  # CRC-32 of any message followed by its own CRC, little-endian


def crc32_check(buf, start, end):
    """True when buf[end:end+4] holds the little-endian CRC-32 of buf[start:end]."""
    if _crc32 is not None and start == 0 and end + 4 == len(buf):
        # a whole frame (the usual received one): one call over all of it, CRC included,
        # against CRC-32's residue; a slice of it would be two heap objects
        return _crc32(buf) == _RESIDUE  # (unsigned on every port; a mask makes a heap int)
    c4 = _C4
    pack_into("<I", c4, 0, crc32(buf, start, end))
    return buf[end] == c4[0] and buf[end + 1] == c4[1] and buf[end + 2] == c4[2] \
        and buf[end + 3] == c4[3]


def _uleb_at(buf, p):
    v = 0
    s = 0
    while True:
        b = buf[p]
        p += 1
        v |= (b & 0x7F) << s
        s += 7
        if not b & 0x80:
            return v


def _mix(h, v, n):
    for _ in range(n):
        h ^= v & 0xFF
        v >>= 8
        h = (h * 0x9E3779B1) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 27
    return h


def pid_into(frame, spans, eps, out, off):
    """Packet ID of a parsed frame (see ids.packet_id), 8 bytes LE into out[off:off+8]."""
    h = _mix(0x9E3779B97F4A7C15, _uleb_at(frame, spans[_S_SRC]), 4)
    h = _mix(h, _uleb_at(frame, spans[_S_TY]), 4)
    for i in range(spans[_S_NEP]):
        h = _mix(h, eps[i], 4)
    h = _mix(h, _uleb_at(frame, spans[_S_TS]), 8)
    h = _mix(h, spans[_S_NONCE], 2)
    a = spans[_S_PAY]
    b = spans[_S_PAYEND]
    h = _mix(h, b - a, 8)
    for i in range(a, b):
        h ^= frame[i]
        h = (h * 0x9E3779B1) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 27
    for i in range(8):
        out[off + i] = (h >> (8 * i)) & 0xFF


def nonce_next(state):
    """The reference's nonce step (ids.next_nonce) on a one-word array('I')."""
    x = state[0]
    state[0] = (x + 0x9E3779B9) & 0xFFFFFFFF
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return (x & 0xFFFF) | 1


def _le_at(frame, p, out, o, w):
    # the ULEB at frame[p] as w little-endian bytes into out[o:o+w], without one big int
    acc = nb = j = 0
    while True:
        b = frame[p]
        p += 1
        acc |= (b & 0x7F) << nb
        nb += 7
        if nb >= 8:
            if j < w:
                out[o + j] = acc & 0xFF
                j += 1
            acc >>= 8
            nb -= 8
        if not b & 0x80:
            break
    while j < w:
        out[o + j] = acc & 0xFF
        acc >>= 8
        j += 1


_KB = bytearray(48)
_KBV = memoryview(_KB)


def key_into(frame, spans, eps, out, off):
    """The duplicate-cache key of a parsed frame, 8 bytes into out[off:off+8]: CRC-32 over
    the fields the packet ID covers (source, type, endpoints, timestamp, nonce, payload size
    and bytes, as values: the same packet in another encoding gets the same key) | nonce u16 |
    payload size u16. The exact ID (pid_into) costs ~10 KB of heap ints per frame here; this
    costs a few small objects. Two different packets share a key only if they share nonce and
    size and collide in the CRC (1 in 2**32)."""
    kb = _KB
    _le_at(frame, spans[_S_SRC], kb, 0, 4)
    _le_at(frame, spans[_S_TY], kb, 4, 4)
    c = 0
    p = 8
    for i in range(spans[_S_NEP]):
        if p > 40:
            c = crc32(_KBV, 0, p, c)
            p = 0
        v = eps[i]
        kb[p] = v & 0xFF
        kb[p + 1] = (v >> 8) & 0xFF
        kb[p + 2] = (v >> 16) & 0xFF
        kb[p + 3] = (v >> 24) & 0xFF
        p += 4
    if p > 30:
        c = crc32(_KBV, 0, p, c)
        p = 0
    _le_at(frame, spans[_S_TS], kb, p, 8)
    nonce = spans[_S_NONCE]
    a = spans[_S_PAY]
    n = spans[_S_PAYEND] - a
    kb[p + 8] = out[off + 4] = nonce & 0xFF
    kb[p + 9] = out[off + 5] = nonce >> 8
    kb[p + 10] = out[off + 6] = n & 0xFF
    kb[p + 11] = out[off + 7] = (n >> 8) & 0xFF
    kb[p + 12] = (n >> 16) & 0xFF  # (a frame payload is below 2**24 bytes)
    for i in range(p + 13, 48):
        kb[i] = 0  # the whole of _KB goes in: a slice of it would be one more object
    c = crc32(kb, 0, 48, c)
    pack_into("<I", out, off, crc32(frame, a, a + n, c))


def copy_into(dst, doff, src, soff, n):
    """dst[doff:doff+n] = src[soff:soff+n]."""
    if soff == 0 and n == len(src):
        dst[doff:doff + n] = src  # (a slice store makes no object; a memoryview would)
    else:
        dst[doff:doff + n] = memoryview(src)[soff:soff + n]


def _home(t, b, mask):
    return (t[b] | (t[b + 1] << 8) | (t[b + 2] << 16)) & mask


def recent_seen(table, index, st, key, koff):
    """Twin of _fast.recent_seen (the duplicate cache's hashed lookup and FIFO insert)."""
    size = st[2]
    mask = st[3]
    if size == 0:
        return 0
    h = i = _home(key, koff, mask)
    while True:
        e = index[i]
        if e == 0:
            break
        b = (e - 1) * 8
        j = 0
        while j < 8 and table[b + j] == key[koff + j]:
            j += 1
        if j == 8:
            return 1
        i = (i + 1) & mask
    count = st[0]
    pos = st[1]
    b = pos * 8
    if count == size:
        i = _home(table, b, mask)
        while index[i] != pos + 1:
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            e = index[j]
            if e == 0:
                break
            home = _home(table, (e - 1) * 8, mask)
            if (home <= i or home > j) if j > i else (home <= i and home > j):
                index[i] = e
                i = j
        index[i] = 0
    else:
        count += 1
    for j in range(8):
        table[b + j] = key[koff + j]
    i = h
    while index[i] != 0:
        i = (i + 1) & mask
    index[i] = pos + 1
    pos += 1
    st[0] = count
    st[1] = 0 if pos == size else pos
    return 0
