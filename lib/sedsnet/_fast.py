# Viper kernels for the per-frame hot loops (CRC-32 and the packet ID). Import fails cleanly on
# CPython and on ports without the viper emitter; _pure.py is the twin with the same signatures.
# Written for any word size: values are kept to 32 bits with masks built from 16-bit halves, and
# every right shift is masked, so the same code is right on 32-bit boards and the 64-bit Unix port.
import micropython
from array import array

_T = array("I", bytes(64))  # 16-entry (nibble) table: 64 bytes instead of 1 KiB


def _table():
    # the same table as _pure._crc_table(), built here so a viper board never loads _pure
    for i in range(16):
        c = i
        for _ in range(4):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        _T[i] = c


_table()
del _table


@micropython.viper
def _crc(buf, start: int, end: int, write: int) -> int:
    # CRC-32 of buf[start:end]; write=1 stores it at buf[end:end+4], write=0 returns 1 when it
    # is there. The CRC never leaves this function as an object: a u32 returned to Python
    # (or to another viper function) would be a heap int on 32-bit boards.
    p = ptr8(buf)
    t = ptr32(_T)
    m16 = 0xFFFF
    mask = (m16 << 16) | m16
    c = mask
    i = start
    while i < end:
        c = c ^ p[i]
        c = ((c >> 4) & 0x0FFFFFFF) ^ t[c & 15]
        c = ((c >> 4) & 0x0FFFFFFF) ^ t[c & 15]
        i += 1
    c = (c ^ mask) & mask
    if write:
        p[end] = c & 0xFF
        p[end + 1] = (c >> 8) & 0xFF
        p[end + 2] = (c >> 16) & 0xFF
        p[end + 3] = (c >> 24) & 0xFF
        return 1
    if p[end] != (c & 0xFF) or p[end + 1] != ((c >> 8) & 0xFF):
        return 0
    if p[end + 2] != ((c >> 16) & 0xFF) or p[end + 3] != ((c >> 24) & 0xFF):
        return 0
    return 1


def crc32_write(buf, start, end):
    _crc(buf, start, end, 1)


def crc32_check(buf, start, end):
    return _crc(buf, start, end, 0) == 1


@micropython.viper
def pid_into(frame, spans, eps, out, off: int):
    f = ptr8(frame)
    sp = ptr32(spans)
    ep = ptr32(eps)
    o = ptr8(out)
    m16 = 0xFFFF
    mask = (m16 << 16) | m16
    kh = 0x9E37
    kl = 0x79B1
    # built at run time from 16-bit halves: a folded 32-bit literal would be a heap int on
    # 32-bit ports, which viper cannot mix with native ints
    hi = kh
    hi = (hi << 16) | 0x79B9
    lo = 0x7F4A
    lo = (lo << 16) | 0x7C15
    k64 = kh
    k64 = (k64 << 16) | kl
    m37 = (mask << 5) | 0x1F  # 2^37 - 1 where the word has 64 bits (unused on 32-bit ports)
    wide = 0
    t = 1
    if (t << 31) > 0:
        wide = 1
    nep = sp[7]
    pay = sp[5]
    payend = sp[6]
    last = 4 + nep  # segments: src, ty, eps..., ts, nonce, size, then the payload bytes
    seg = 0
    while seg <= last + 1:
        # bytes to mix: o[off:off+w], or the payload f[pay:payend] in the last segment
        w = 0
        up = -1  # offset of a ULEB field to expand into o[off:off+w]
        if seg == 0:
            up = sp[3]
            w = 4
        elif seg == 1:
            up = sp[0]
            w = 4
        elif seg < 2 + nep:
            v = ep[seg - 2]
            o[off] = v & 0xFF
            o[off + 1] = (v >> 8) & 0xFF
            o[off + 2] = (v >> 16) & 0xFF
            o[off + 3] = (v >> 24) & 0xFF
            w = 4
        elif seg == 2 + nep:
            up = sp[1]
            w = 8
        elif seg == 3 + nep:
            v = sp[2]
            o[off] = v & 0xFF
            o[off + 1] = (v >> 8) & 0xFF
            w = 2
        elif seg == 4 + nep:
            v = payend - pay
            j = 0
            while j < 8:
                o[off + j] = v & 0xFF
                v = (v >> 8) & 0xFFFFFF
                j += 1
            w = 8
        if up >= 0:  # ULEB -> little-endian bytes through a small bit accumulator
            acc = 0
            nb = 0
            j = 0
            while True:
                b = f[up]
                up += 1
                acc = acc | ((b & 0x7F) << nb)
                nb += 7
                while nb >= 8:
                    if j < w:
                        o[off + j] = acc & 0xFF
                        j += 1
                    acc = (acc >> 8) & 0xFFFF
                    nb -= 8
                if not (b & 0x80):
                    break
            while j < w:
                o[off + j] = acc & 0xFF
                acc = (acc >> 8) & 0xFFFF
                j += 1
        i = 0
        n = w
        if seg == last + 1:
            i = pay
            n = payend
        if wide:  # 64-bit machine words: the hash in one, products wrap mod 2^64 natively
            h = (hi << 32) | lo
            while i < n:
                if seg == last + 1:
                    h = h ^ f[i]
                else:
                    h = h ^ o[off + i]
                h = h * k64
                h = h ^ ((h >> 27) & m37)  # (a logical shift of the signed word)
                i += 1
            lo = h & mask
            hi = (h >> 32) & mask
        while i < n:
            if seg == last + 1:
                lo = lo ^ f[i]
            else:
                lo = lo ^ o[off + i]
            # (hi:lo) *= 0x9E3779B1 mod 2^64, on 16-bit limbs
            a0 = lo & m16
            a1 = (lo >> 16) & m16
            p00 = a0 * kl
            p01 = a0 * kh
            p10 = a1 * kl
            mid = ((p00 >> 16) & m16) + (p01 & m16) + (p10 & m16)
            nlo = ((p00 & m16) | ((mid & m16) << 16)) & mask
            carry = a1 * kh + ((p01 >> 16) & m16) + ((p10 >> 16) & m16) + ((mid >> 16) & m16)
            b0 = hi & m16
            b1 = (hi >> 16) & m16
            nhi = (b0 * kl + ((b0 * kh + b1 * kl) << 16) + carry) & mask
            # h ^= h >> 27
            lo = (nlo ^ (((nlo >> 27) & 0x1F) | (nhi << 5))) & mask
            hi = (nhi ^ ((nhi >> 27) & 0x1F)) & mask
            i += 1
        seg += 1
    j = 0
    while j < 4:
        o[off + j] = (lo >> (8 * j)) & 0xFF
        o[off + 4 + j] = (hi >> (8 * j)) & 0xFF
        j += 1


@micropython.viper
def nonce_next(state) -> int:
    # the reference's nonce step (ids.next_nonce) on a one-word array('I'): no heap ints
    s = ptr32(state)
    m16 = 0xFFFF
    mask = (m16 << 16) | m16
    g = 0x9E37
    g = (g << 16) | 0x79B9
    x = int(s[0]) & mask
    s[0] = (x + g) & mask
    x = (x ^ (x << 13)) & mask
    x = x ^ ((x >> 17) & 0x7FFF)
    x = (x ^ (x << 5)) & mask
    return (x & m16) | 1


@micropython.viper
def copy_into(dst, doff: int, src, soff: int, n: int):
    # dst[doff:doff+n] = src[soff:soff+n] without a slice object (forward copy: safe when
    # moving data towards the start of the same buffer)
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1


@micropython.viper
def recent_seen(table, index, st, key, koff: int) -> int:
    # The duplicate cache (recent.RecentIds): 1 if the 8-byte ID key[koff:koff+8] is in
    # table; else 0, after remembering it in the slot st[1] (the oldest once st[0] == st[2]
    # IDs are held). index: linear-probing hash of table slots + 1 (0 = empty), st[3]+1 of
    # them (a power of two, at least twice the IDs), homed by the ID's low 3 bytes; an
    # evicted ID leaves by backward-shift deletion. st = [count, pos, size, mask].
    t = ptr8(table)
    ix = ptr16(index)
    s = ptr32(st)
    k = ptr8(key)
    size = s[2]
    mask = s[3]
    if size == 0:
        return 0
    h = (k[koff] | (k[koff + 1] << 8) | (k[koff + 2] << 16)) & mask
    i = h
    while True:
        e = ix[i]
        if e == 0:
            break
        b = (e - 1) * 8
        j = 0
        while j < 8:
            if t[b + j] != k[koff + j]:
                break
            j += 1
        if j == 8:
            return 1
        i = (i + 1) & mask
    count = s[0]
    pos = s[1]
    b = pos * 8
    if count == size:  # the oldest ID leaves the index
        i = (t[b] | (t[b + 1] << 8) | (t[b + 2] << 16)) & mask
        while ix[i] != pos + 1:
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            e = ix[j]
            if e == 0:
                break
            bb = (e - 1) * 8
            home = (t[bb] | (t[bb + 1] << 8) | (t[bb + 2] << 16)) & mask
            if j > i:
                move = home <= i or home > j
            else:
                move = home <= i and home > j
            if move:
                ix[i] = e
                i = j
        ix[i] = 0
    else:
        count += 1
    j = 0
    while j < 8:
        t[b + j] = k[koff + j]
        j += 1
    i = h
    while ix[i] != 0:
        i = (i + 1) & mask
    ix[i] = pos + 1
    pos += 1
    if pos == size:
        pos = 0
    s[0] = count
    s[1] = pos
    return 0
