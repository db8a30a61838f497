# Pure-Python twins of the hot kernels in _fast.py (CPython, CircuitPython, and any board whose
# MicroPython lacks the viper emitter). Same signatures, same results; tests compare the two.
# Span layout shared with wire.FrameHeader: see wire.py (_S_* indices).
from struct import pack_into, unpack_from

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
_PART = 1024  # the longest buffer _part copies: its scratch grows to the longest one seen
_S = bytearray(64)
_E = b""


def _part(buf, start, end):
    # buf[start:end] as the whole of _S, made with slice stores only: a memoryview slice per
    # call would be two heap objects, and garbage between two collections makes every
    # heap-allocated call frame after it slower to place (the pure path spent ~45% of its
    # instructions in gc_alloc with six a packet)
    s = _S
    s[:] = buf
    s[end:] = _E
    if start:
        s[:start] = _E
    return s


def crc32(buf, start, end, c=0):
    """CRC-32/IEEE (zlib.crc32) of buf[start:end] as an int, continuing from crc c."""
    if _crc32 is not None:  # (unsigned on CPython 3 and every MicroPython: no mask)
        if start == 0 and end == len(buf):
            return _crc32(buf, c)
        if len(buf) <= _PART:
            return _crc32(_part(buf, start, end), c)
        return _crc32(memoryview(buf)[start:end], c)
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


def crc32_write(buf, start, end):
    """Store the CRC-32 of buf[start:end] little-endian at buf[end:end+4]."""
    if _crc32 is not None and len(buf) <= _PART:  # (_part inline: a call is a heap frame)
        t = _S
        t[:] = buf
        t[end:] = _E
        if start:
            t[:start] = _E
        pack_into("<I", buf, end, _crc32(t))
    else:
        pack_into("<I", buf, end, crc32(buf, start, end))


_RESIDUE = 0x2144DF1C  # CRC-32 of any message followed by its own CRC, little-endian
_C4 = bytearray(4)


def crc32_check(buf, start, end):
    """True when buf[end:end+4] holds the little-endian CRC-32 of buf[start:end]."""
    if _crc32 is not None:
        # one call over the message and its CRC against CRC-32's residue: a good frame's
        # answer is that small int (a CRC of 2**30 or more is a heap int on 32-bit boards)
        if start == 0 and end + 4 == len(buf):
            return _crc32(buf) == _RESIDUE
        if len(buf) > _PART:
            return crc32(buf, start, end + 4) == _RESIDUE
        t = _S  # (_part inline)
        t[:] = buf
        t[end + 4:] = _E
        if start:
            t[:start] = _E
        return _crc32(t) == _RESIDUE
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
    if _NARROW:
        return _nonce16(state)
    x = state[0]
    state[0] = (x + 0x9E3779B9) & 0xFFFFFFFF
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return (x & 0xFFFF) | 1


try:  # 32-bit boards: an int of 2**30 or more is a heap object
    from sys import maxsize
    _NARROW = maxsize < 0xFFFFFFFF
except ImportError:  # (a port without sys.maxsize: the halves are right on any word size)
    _NARROW = True


def _nonce16(state):
    # nonce_next on 16-bit halves: one tuple instead of ~10 heap ints (~360 B) on 32-bit
    lo, hi = unpack_from("<HH", state, 0)
    s = lo + 0x79B9
    pack_into("<HH", state, 0, s & 0xFFFF, (hi + 0x9E37 + (s >> 16)) & 0xFFFF)
    a = lo ^ ((lo << 13) & 0xFFFF)  # x ^= x << 13
    hi ^= ((hi << 13) | (lo >> 3)) & 0xFFFF
    a ^= hi >> 1  # x ^= x >> 17
    return ((a ^ (a << 5)) & 0xFFFF) | 1  # x ^= x << 5: only the low half is returned


_ULEBS = (_S_SRC, _S_TY, _S_TS)  # the ID's fields kept as ULEBs in the frame (see key_into)
_KB = bytearray(164)  # key_into's fields: 9 words and up to 32 endpoints, cut to length
_KZ = bytes(164)


def key_into(frame, spans, eps, out, off):
    """The duplicate-cache key of a parsed frame, 8 bytes into out[off:off+8]: CRC-32 over
    the fields the packet ID covers (source, type, endpoints, timestamp, nonce, payload size
    and bytes, as values: the same packet in another encoding gets the same key) | nonce u16 |
    payload size u16. The exact ID (pid_into) costs ~10 KB of heap ints per frame here; this
    costs none. Two different packets share a key only if they share nonce and size and
    collide in the CRC (1 in 2**32)."""
    kb = _KB
    kb[:] = _KZ  # (a copy in place: the length back to 164, all zeros)
    # each ULEB as 28 bits of its value a word, from kb[8*k], zero words left out: an
    # overlong encoding gives the same words, and no word is a heap int on 32-bit boards
    o = 0
    for k in _ULEBS:
        p = spans[k]
        v = s = 0
        q = o
        while True:
            x = frame[p]
            p += 1
            v |= (x & 0x7F) << s
            if x < 0x80:
                break
            s += 7
            if s == 28:
                if v:
                    pack_into("<I", kb, q, v)
                q += 4
                v = s = 0
        if v:
            pack_into("<I", kb, q, v)
        o += 8  # (the timestamp, last, takes up to 3 words)
    nonce = spans[_S_NONCE]
    a = spans[_S_PAY]
    n = spans[_S_PAYEND] - a
    pack_into("<II", kb, 28, nonce, n)
    q = 36
    for i in range(spans[_S_NEP]):
        pack_into("<I", kb, q, eps[i])
        q += 4
    kb[q:] = _E
    if _crc32 is not None and len(frame) <= _PART:
        t = _part(frame, a, a + n)
        t[:0] = kb  # the fields, then the payload: one CRC call over them
        c = _crc32(t)
    else:
        c = crc32(frame, a, a + n, crc32(kb, 0, q))
    pack_into("<IHH", out, off, c, nonce, n & 0xFFFF)


def copy_into(dst, doff, src, soff, n):
    """dst[doff:doff+n] = src[soff:soff+n]."""
    if soff == 0 and n == len(src):
        dst[doff:doff + n] = src  # (a slice store makes no object; a memoryview would)
    else:
        dst[doff:doff + n] = memoryview(src)[soff:soff + n]


def recent_seen(table, index, st, key, koff):
    """Twin of _fast.recent_seen (the duplicate cache's hashed lookup and FIFO insert)."""
    size = st[2]
    if size == 0:
        return 0
    mask = st[3]
    k0 = key[koff]
    h = i = (k0 | (key[koff + 1] << 8) | (key[koff + 2] << 16)) & mask
    while True:
        e = index[i]
        if e == 0:
            break
        b = (e - 1) * 8
        if table[b] == k0:
            j = 1
            while j < 8 and table[b + j] == key[koff + j]:
                j += 1
            if j == 8:
                return 1
        i = (i + 1) & mask
    count = st[0]
    pos = st[1]
    b = pos * 8
    if count == size:  # the oldest ID leaves the index (homes inline: a call is a frame)
        i = (table[b] | (table[b + 1] << 8) | (table[b + 2] << 16)) & mask
        while index[i] != pos + 1:
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            e = index[j]
            if e == 0:
                break
            c = (e - 1) * 8
            home = (table[c] | (table[c + 1] << 8) | (table[c + 2] << 16)) & mask
            if (home <= i or home > j) if j > i else (home <= i and home > j):
                index[i] = e
                i = j
        index[i] = 0
    else:
        count += 1
    if koff == 0 and len(key) == 8:
        table[b:b + 8] = key  # (a slice store makes no object)
    else:
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
