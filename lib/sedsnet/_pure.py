# Pure-Python twins of the hot kernels in _fast.py (CPython, CircuitPython, and any board whose
# MicroPython lacks the viper emitter). Same signatures, same results; tests compare the two.
# Span layout shared with wire.FrameHeader: see wire.py (_S_* indices).
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


def crc32(buf, start, end):
    """CRC-32/IEEE (zlib.crc32) of buf[start:end] as an int."""
    if _crc32 is not None:
        if start == 0 and end == len(buf):
            return _crc32(buf) & 0xFFFFFFFF
        return _crc32(memoryview(buf)[start:end]) & 0xFFFFFFFF
    global _T
    if _T is None:
        _T = _crc_table()
    t = _T
    c = 0xFFFFFFFF
    for i in range(start, end):
        c ^= buf[i]
        c = (c >> 4) ^ t[c & 15]
        c = (c >> 4) ^ t[c & 15]
    return c ^ 0xFFFFFFFF


def crc32_write(buf, start, end):
    """Store the CRC-32 of buf[start:end] little-endian at buf[end:end+4]."""
    c = crc32(buf, start, end)
    buf[end] = c & 0xFF
    buf[end + 1] = (c >> 8) & 0xFF
    buf[end + 2] = (c >> 16) & 0xFF
    buf[end + 3] = c >> 24


def crc32_check(buf, start, end):
    """True when buf[end:end+4] holds the little-endian CRC-32 of buf[start:end]."""
    c = crc32(buf, start, end)
    return (buf[end] | (buf[end + 1] << 8) | (buf[end + 2] << 16) | (buf[end + 3] << 24)) == c


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


def find8(table, count, key, koff):
    """Index of the 8-byte record equal to key[koff:koff+8] among table's first count, or -1."""
    want = bytes(key[koff:koff + 8])
    end = 8 * count
    p = table.find(want, 0, end)
    while p >= 0:  # a hit straddling two records does not count; look further
        if p & 7 == 0:
            return p >> 3
        p = table.find(want, p + 1, end)
    return -1


def copy_into(dst, doff, src, soff, n):
    """dst[doff:doff+n] = src[soff:soff+n]."""
    dst[doff:doff + n] = memoryview(src)[soff:soff + n]
