# Pure-Python twins of _fast_frame.py's kernels (the header scan and the logged-frame packer),
# for CPython, CircuitPython and builds without viper. Same signatures, same results; tests
# compare the two. Span layout: wire.FrameHeader (S_* indices).
from ._pure import crc32_check, crc32_write

_P = [0]  # the position after _u28's ULEB (a returned tuple would be a heap object)


def _u28(b, p, end):
    # a ULEB of at most 4 bytes at b[p], or -1 when short or longer; the next p in _P[0]
    v = s = 0
    while p < end and s < 28:
        x = b[p]
        p += 1
        v |= (x & 0x7F) << s
        if x < 0x80:
            _P[0] = p
            return v
        s += 7
    return -1


def hdr_scan(buf, n, spans, o, wide, eps):
    """Twin of _fast.hdr_scan: 1 when buf[:n] is a plain frame, parsed into spans, o, wide and
    eps (room for len(eps) endpoints); 0 when the full parser must look at it (see _fast.py).
    n < 0: the frame of -n bytes this node just packed (its CRC is not checked)."""
    crc = n > 0
    if not crc:
        n = -n
    if n < 8:
        return 0
    end = n - 4
    flags = buf[0]
    nep = buf[1]
    if flags & 0x35 or flags & 0x88 != 0x88 or nep == 0 or nep > len(eps):
        return 0
    if flags & 0x02 and not flags & 0x40:
        return 0
    if crc and not crc32_check(buf, 0, end):
        return 0
    # ULEBs of one or two bytes inline, longer ones through _u28: every call is a frame
    x = buf[2]
    if x < 0x80:
        ty = x
        p = 3
    elif buf[3] < 0x80:  # (index 3 < end: a frame has 8 bytes or more)
        ty = (x & 0x7F) | (buf[3] << 7)
        p = 4
    else:
        ty = _u28(buf, 2, end)
        if ty < 0:
            return 0
        p = _P[0]
    spans[4] = p
    if p >= end:
        return 0
    x = buf[p]
    if x < 0x80:
        size = x
        p += 1
    else:
        size = _u28(buf, p, end)
        if size < 0:
            return 0
        p = _P[0]
    spans[1] = p
    w = wide
    x = buf[p] if p + 1 < end else 0xFF
    if x < 0x80:
        v = x
        p += 1
    elif x < 0xFF and buf[p + 1] < 0x80:
        v = (x & 0x7F) | (buf[p + 1] << 7)
        p += 2
    else:
        v = _u28(buf, p, end)
        if v >= 0:
            p = _P[0]
    if v >= 0:  # a timestamp below 2**28 ms (3 days): one small int
        w[0] = v & 0xFFFF
        w[1] = v >> 16
        w[2] = w[3] = 0
    else:  # up to 9 bytes, through a 16-bit window (no big int on 32-bit)
        acc = nb = j = k = 0
        w[0] = w[1] = w[2] = w[3] = 0
        while True:
            if p >= end or k == 9:
                return 0
            x = buf[p]
            p += 1
            k += 1
            acc |= (x & 0x7F) << nb
            nb += 7
            if nb >= 16:
                w[j] = acc & 0xFFFF
                j += 1
                acc >>= 16
                nb -= 16
            if x < 0x80:
                break
        if j < 4:
            w[j] = acc
    if p >= end:
        return 0
    x = buf[p]
    if x < 0x80:
        nonce = x
        p += 1
    elif p + 1 < end and buf[p + 1] < 0x80:
        nonce = (x & 0x7F) | (buf[p + 1] << 7)
        p += 2
    else:
        nonce = _u28(buf, p, end)
        if nonce < 0 or nonce > 0xFFFF:
            return 0
        p = _P[0]
    spans[0] = 2
    spans[2] = nonce
    spans[3] = p
    v = s = 0
    while True:  # the sender: a u32, 5 bytes for most hashed addresses
        if p >= end:
            return 0
        x = buf[p]
        p += 1
        if s == 28:
            if x > 0x0F:
                return 0
            w[4] = v & 0xFFFF
            w[5] = (v >> 16) | (x << 12)
            break
        v |= (x & 0x7F) << s
        if x < 0x80:
            w[4] = v & 0xFFFF
            w[5] = v >> 16
            break
        s += 7
    w[6] = w[7] = 0
    last = -1
    for i in range(nep):
        if p >= end:
            return 0
        v = buf[p]
        if v < 0x80:
            p += 1
        else:
            v = _u28(buf, p, end)
            p = _P[0]
        if v <= last:  # (also a short or long one: -1)
            return 0
        eps[i] = last = v
    spans[7] = nep
    rf = seq = ack = form = 0
    if flags & 0x02:
        if p >= end:
            return 0
        rf = buf[p]
        p += 1
        form = 1
        if rf & 0x04:
            seq = _u28(buf, p, end)
            if seq < 0:
                return 0
            p = _P[0]
        if rf & 0x08:
            ack = _u28(buf, p, end)
            if ack < 0:
                return 0
            p = _P[0]
    if size > end - p:
        return 0
    o[0] = ty
    o[1] = size
    o[2] = nonce
    o[3] = form
    o[4] = rf
    o[5] = seq
    o[6] = ack
    o[7] = spans[5] = p
    o[8] = spans[6] = p + size
    return 1


def _put7(buf, p, v):
    while v > 0x7F:
        buf[p] = (v & 0x7F) | 0x80
        v >>= 7
        p += 1
    buf[p] = v
    return p + 1


def _uleb_n(v):
    return 1 if v < 0x80 else 2 if v < 0x4000 else 3 if v < 0x200000 else 4 if v < 0x10000000 \
        else 5


_TV = {}  # template -> its two fixed parts as memoryviews, made once (a slice a frame is garbage)


def log_pack(buf, spans, cap, tmpl, ts8, nonce, payload, plen):
    """Twin of _fast_frame.log_pack: a logged frame from its type's template into buf[0:],
    its spans into spans."""
    hlen = tmpl[0]
    tlen = tmpl[1] | (tmpl[2] << 8)
    if ts8[7] | ts8[6] | ts8[5] | ts8[4] or ts8[3] > 0x3F:
        t = -1  # 2**30 ms or more: written from ts8, 7 bits at a time (no big int on 32-bit)
        k = 7
        while not ts8[k]:
            k -= 1
        bits = 8 * k
        x = ts8[k]
        while x:
            x >>= 1
            bits += 1
        tn = (bits + 6) // 7
    else:
        t = ts8[0] | (ts8[1] << 8) | (ts8[2] << 16) | (ts8[3] << 24)
        tn = 1 if t < 0x80 else 2 if t < 0x4000 else _uleb_n(t)
    n = hlen + tn + tlen + plen + 4 + (1 if plen < 0x80 else _uleb_n(plen)) \
        + (1 if nonce < 0x80 else 2 if nonce < 0x4000 else 3)
    if n > cap:
        return -n
    v = _TV.get(tmpl)
    if v is None:
        if len(_TV) >= 32:
            _TV.clear()
        m = memoryview(tmpl)
        v = _TV[tmpl] = (m[3:3 + hlen], m[3 + hlen:3 + hlen + tlen])
    buf[:hlen] = v[0]
    spans[0] = 2
    spans[4] = p = hlen
    if plen < 0x80:
        buf[p] = plen
        p += 1
    else:
        p = _put7(buf, p, plen)
    spans[1] = p
    if 0 <= t < 0x4000:  # (one or two bytes inline: a call is a frame)
        if t < 0x80:
            buf[p] = t
            p += 1
        else:
            buf[p] = (t & 0x7F) | 0x80
            buf[p + 1] = t >> 7
            p += 2
    elif t >= 0:
        p = _put7(buf, p, t)
    else:
        acc = nb = k = 0
        for j in range(tn):  # through a 15-bit window
            if nb < 7 and k < 8:
                acc |= ts8[k] << nb
                k += 1
                nb += 8
            x = acc & 0x7F
            acc >>= 7
            nb -= 7
            buf[p] = x | 0x80 if j < tn - 1 else x
            p += 1
    if nonce < 0x80:
        buf[p] = nonce
        p += 1
    elif nonce < 0x4000:
        buf[p] = (nonce & 0x7F) | 0x80
        buf[p + 1] = nonce >> 7
        p += 2
    else:
        p = _put7(buf, p, nonce)
    spans[2] = nonce
    spans[3] = p
    spans[7] = tmpl[4]
    buf[p:p + tlen] = v[1]
    p += tlen
    spans[5] = p
    spans[6] = p + plen
    buf[p:p + plen] = payload
    p += plen
    crc32_write(buf, 0, p)
    return n
