# Viper kernels of the frame codec (wire.py): the one-pass header scan of a plain frame and the
# logged-frame packer from a per-type template. Split from _fast.py (its CRC kernel is shared);
# _pure_frame.py is the twin with the same signatures. Same word-size rules as _fast.py.
import micropython

from ._fast import _crc

@micropython.viper
def hdr_scan(buf, n: int, spans, o, wide, eps) -> int:
    # One pass over a plain frame buf[:n] (CRC, FLAGS with an endpoint list and a nonce, a
    # compact reliable header optional; no contract, bitmap, compression or E2E), filling what
    # FrameHeader.parse(full=True) records: spans, the wide limbs, the endpoints (at most
    # len(eps): six arguments, so parse's call keeps to 11 words of call state) and
    # o = [ty, data_size, nonce, rel_form, rel_flags, seq, ack, payload_start, payload_end].
    # n < 0: the frame of -n bytes this node just packed, its CRC not checked (log_pack wrote
    # it a moment ago: the check would only repeat that pass over the frame).
    # Returns 1 when done; 0 when the frame is anything else or anything is off (any field
    # above 28 bits but the timestamp and sender): the Python parser then does it, and raises.
    b = ptr8(buf)
    sp = ptr32(spans)
    out = ptr32(o)
    w = ptr16(wide)
    ep = ptr32(eps)
    crc = 1
    if n < 0:
        n = 0 - n
        crc = 0
    if n < 8:
        return 0
    end = n - 4
    flags = b[0]
    nep = b[1]
    maxeps = int(len(eps))  # noqa: RUF046 (viper: len() gives an object, int() a machine word)
    if (flags & 0x35) or (flags & 0x88) != 0x88 or nep == 0 or nep > maxeps:
        return 0
    if (flags & 0x02) and not (flags & 0x40):
        return 0
    if crc and int(_crc(buf, 0, end, 0)) != 1:
        return 0
    p = 2
    f = 0
    while f < 3:  # ty, data_size, nonce: ULEBs of at most 4 bytes (28 bits)
        if f == 2:
            sp[1] = p
            # the timestamp (at most 9 bytes, 63 bits) into wide[0:4]
            w[0] = 0
            w[1] = 0
            w[2] = 0
            w[3] = 0
            acc = 0
            nb = 0
            j = 0
            k = 0
            while True:
                if p >= end or k == 9:
                    return 0
                x = b[p]
                p += 1
                k += 1
                acc = acc | ((x & 0x7F) << nb)
                nb += 7
                if nb >= 16:
                    w[j] = acc & 0xFFFF
                    j += 1
                    acc = (acc >> 16) & 0xFFFF
                    nb -= 16
                if x < 0x80:
                    break
            if j < 4:
                w[j] = acc & 0xFFFF
        if f == 1:
            sp[4] = p
        v = 0
        s = 0
        while True:
            if p >= end or s == 28:
                return 0
            x = b[p]
            p += 1
            v = v | ((x & 0x7F) << s)
            if x < 0x80:
                break
            s += 7
        out[f] = v
        f += 1
    if out[2] > 0xFFFF:
        return 0
    sp[0] = 2
    sp[2] = out[2]
    sp[3] = p
    # the sender (at most 5 bytes, u32) into wide[4:6]
    v = 0
    s = 0
    while True:
        if p >= end or s == 35:
            return 0
        x = b[p]
        p += 1
        if s == 28:
            if x > 0x0F:
                return 0
            w[4] = v & 0xFFFF
            w[5] = ((v >> 16) & 0x0FFF) | (x << 12)
            break
        v = v | ((x & 0x7F) << s)
        if x < 0x80:
            w[4] = v & 0xFFFF
            w[5] = (v >> 16) & 0xFFFF
            break
        s += 7
    w[6] = 0
    w[7] = 0
    last = -1
    i = 0
    while i < nep:
        v = 0
        s = 0
        while True:
            if p >= end or s == 28:
                return 0
            x = b[p]
            p += 1
            v = v | ((x & 0x7F) << s)
            if x < 0x80:
                break
            s += 7
        if v <= last:
            return 0
        ep[i] = v
        last = v
        i += 1
    sp[7] = nep
    out[3] = 0
    out[4] = 0
    out[5] = 0
    out[6] = 0
    if flags & 0x02:
        if p >= end:
            return 0
        rf = b[p]
        p += 1
        out[3] = 1
        out[4] = rf
        f = 5
        while f < 7:
            if (f == 5 and (rf & 0x04)) or (f == 6 and (rf & 0x08)):
                v = 0
                s = 0
                while True:
                    if p >= end or s == 28:
                        return 0
                    x = b[p]
                    p += 1
                    v = v | ((x & 0x7F) << s)
                    if x < 0x80:
                        break
                    s += 7
                out[f] = v
            f += 1
    if out[1] > end - p:
        return 0
    out[7] = p
    out[8] = p + out[1]
    sp[5] = p
    sp[6] = p + out[1]
    return 1


@micropython.viper
def log_pack(buf, spans, cap: int, tmpl, ts8, nonce: int, payload, plen: int) -> int:
    # A logged frame from its type's template (wire.log_template: [hlen, tlen lo, tlen hi,
    # FLAGS NEP ty, sender endpoints reliable-header]) into buf[0:]: the template head, the
    # payload size, the timestamp (ts8: u64 little-endian, so no heap int here), the nonce,
    # the template tail, the payload and the CRC; spans (FrameHeader.spans' layout) as
    # hdr_scan would fill them, for the packet-ID kernels without a parse. Returns the
    # length, or -length (nothing written) when it exceeds cap. plen < 2**28, nonce u16.
    b = ptr8(buf)
    sp = ptr32(spans)
    t = ptr8(tmpl)
    le = ptr8(ts8)
    pl = ptr8(payload)
    hlen = t[0]
    tlen = t[1] | (t[2] << 8)
    k = 7
    while k > 0 and le[k] == 0:
        k -= 1
    bits = 8 * k
    x = le[k]
    while x:
        x = x >> 1
        bits += 1
    tn = 1
    while bits > 7 * tn:
        tn += 1
    pn = 1
    v = plen
    while v > 0x7F:
        v = v >> 7
        pn += 1
    nn = 1
    v = nonce
    while v > 0x7F:
        v = v >> 7
        nn += 1
    n = hlen + pn + tn + nn + tlen + plen + 4
    if n > cap:
        return 0 - n
    i = 0
    while i < hlen:
        b[i] = t[3 + i]
        i += 1
    p = hlen
    sp[0] = 2
    sp[4] = p
    v = plen
    while v > 0x7F:
        b[p] = (v & 0x7F) | 0x80
        v = v >> 7
        p += 1
    b[p] = v
    p += 1
    sp[1] = p
    acc = 0
    nb = 0
    k = 0
    j = 0
    while j < tn:
        if nb < 7 and k < 8:
            acc = acc | (le[k] << nb)
            k += 1
            nb += 8
        x = acc & 0x7F
        acc = (acc >> 7) & 0xFFFF
        nb -= 7
        if j < tn - 1:
            x = x | 0x80
        b[p] = x
        p += 1
        j += 1
    v = nonce
    while v > 0x7F:
        b[p] = (v & 0x7F) | 0x80
        v = v >> 7
        p += 1
    b[p] = v
    p += 1
    sp[2] = nonce
    sp[3] = p
    sp[7] = t[4]
    i = 0
    while i < tlen:
        b[p + i] = t[3 + hlen + i]
        i += 1
    p += tlen
    sp[5] = p
    sp[6] = p + plen
    i = 0
    while i < plen:
        b[p + i] = pl[i]
        i += 1
    p += plen
    _crc(buf, 0, p, 1)
    return n
