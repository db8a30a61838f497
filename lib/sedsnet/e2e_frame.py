# E2E on the wire (verified-4.2.7.md "E2E"): which logs a Router encrypts, sends in clear or
# refuses (4.2.7's policy x mode table), sealing a frame in place, and opening a received one.
# A sealed frame is the clear frame's header with FLAGS | 0x10 (data_size = plaintext length),
# then `uleb key_id | uleb plen | uleb 12 | nonce | uleb 16 | tag | ciphertext`, then the CRC.
# nonce = u32le ty | low 48 bits of the timestamp (LE) | u16le packet nonce; AAD = the header
# as sent. Loaded only by a Router that logs an E2E type or meets a wrapped frame.
from . import e2e
from .compat import const
from .errors import DecodeError, E2EError
from .kernels import crc32_write
from .ring import HDR
from .schema import R_E2E, R_PRIORITY
from .wire import F_E2E, FrameHeader, pack_into, put_uleb, uleb_len

_REQUIRE_ON = const(2)
_FORCE_ALL = const(3)
_TX_TAG = const(0xFE)  # router.py's ring tag of queued TX frames
_nonce = bytearray(12)


def send_key(router, rec):
    """The key id to seal a log of rec's type with, or -1 to send it in clear; E2EError
    (nothing sent) where 4.2.7 refuses. Table (RequireOn/PreferOn/PreferOff, key present/no
    key): mode 0 !cc/!cc, 1 Ecc/!cc, 2 (and 255, the default) EEc/!!c, 3 EEE/!!!."""
    pol = rec[R_E2E]
    opts = router._opts  # (options.NAMES order)
    mode = opts[10]  # e2e_mode
    kid = opts[11]  # e2e_key_id
    if mode == 0:
        if pol == _REQUIRE_ON:
            raise E2EError("type %d requires E2E encryption and e2e_mode is 0 (Disabled)" % rec[0])
        return -1
    if mode == 1:
        want = pol == _REQUIRE_ON
    elif mode == _FORCE_ALL:
        want = True
    else:  # 2 Preferred, 255 build default (= 2), other u8 values as 255 (not probed)
        want = pol != 0
    if not want:
        return -1
    if not e2e.has_key(kid):
        raise E2EError("no e2e key for key id %d (type %d must be encrypted; nothing sent)"
                       % (kid, rec[0]))
    return kid


def overhead(kid, plen):
    """Bytes a sealed frame has more than the clear one."""
    return uleb_len(kid) + uleb_len(plen) + 2 + e2e.NONCE_LEN + e2e.TAG_LEN


def _fill_nonce(ty, ts, pnonce):
    nb = _nonce
    for i in range(4):
        nb[i] = (ty >> (8 * i)) & 0xFF
    for i in range(6):
        nb[4 + i] = (ts >> (8 * i)) & 0xFF
    nb[10] = pnonce & 0xFF
    nb[11] = pnonce >> 8
    return nb


def seal_frame(buf, off, size, kid, ty, ts, pnonce, payload):
    """buf[off:off+size] holds the clear frame of payload (pack_into); rewrite it sealed in
    place (buf has room for overhead() more bytes). Returns the sealed frame's length."""
    plen = len(payload)
    hlen = size - 4 - plen
    mv = memoryview(buf)
    buf[off] |= F_E2E
    p = put_uleb(buf, off + hlen, kid)
    p = put_uleb(buf, p, plen)
    buf[p] = e2e.NONCE_LEN
    nonce = _fill_nonce(ty, ts, pnonce)
    mv[p + 1:p + 13] = nonce
    p += 13
    buf[p] = e2e.TAG_LEN
    tag = p + 1
    p = tag + e2e.TAG_LEN
    e2e.seal_into(kid, nonce, mv[off:off + hlen], payload, mv[p:p + plen], mv[tag:tag + 16])
    p += plen
    crc32_write(buf, off, p)
    return p + 4 - off


def log_sealed(router, kid, ty, rec, payload, ts, nonce, rel, eps, size, queue):
    """Router._log_frame for a frame to seal with key kid: as the clear path (TX ring when
    queued or busy, else straight out), the frame sealed before it is committed or sent. A
    reliable type to discovered holders goes as a plain reliable log does (reliable_origin.py:
    contract, then sealed; kept until ACKed), as 4.2.7."""
    if rel > 0 and router.discovery and router.discovery.origin(router, ty, rec, payload, ts,
                                                                nonce, queue):
        return
    full = size + overhead(kid, len(payload))
    if queue or router._busy:
        tx = router._tx
        p = tx.reserve(full, True)
        if p < 0:
            raise E2EError("sealed frame of %d bytes does not fit the TX queue" % full)
        pack_into(tx.buf, ty, router.src_addr, eps, ts, nonce, payload, None, rel, 0, 0, p + HDR)
        seal_frame(tx.buf, p + HDR, size, kid, ty, ts, nonce, payload)
        tx.commit(p, full, _TX_TAG, rec[R_PRIORITY])
        router._nested = router._nested or router._busy
        return
    buf = router._txbuf(full)
    pack_into(buf, ty, router.src_addr, eps, ts, nonce, payload, None, rel)
    seal_frame(buf, 0, size, kid, ty, ts, nonce, payload)
    router._originate(full)


def seal_packed(router, rec, data):
    """A clear frame handed to transmit_*/network variables, sealed as a log of its type would
    be (a new bytearray), or data itself when the policy sends it in clear; E2EError where
    4.2.7 refuses (4.2.7's transmit_message and set_network_variable follow the same table)."""
    kid = send_key(router, rec)
    if kid < 0:
        return data
    h = _hdr[0]
    if h is None:
        h = _hdr[0] = FrameHeader(max_endpoints=32)
    h.parse(data, len(data), True)
    if h.e2e:
        return data
    payload = bytes(data[h.payload_start:h.payload_end])
    size = h.payload_end + 4
    buf = bytearray(size + overhead(kid, len(payload)))
    buf[:size - 4] = data[:size - 4]
    n = seal_frame(buf, 0, size, kid, h.ty, h.timestamp_ms, h.nonce, payload)
    return memoryview(buf)[:n]


_hdr = [None]


# ---- receiving ----------------------------------------------------------------------------
def _uleb(data, p, end):
    v = s = 0
    while True:
        if p >= end or s > 35:
            raise DecodeError("bad e2e payload length")
        x = data[p]
        p += 1
        v |= (x & 0x7F) << s
        if x < 0x80:
            return v, p
        s += 7


def open_frame(router, hdr, data, n):
    """Authenticate and decrypt the wrapped frame data[:n] (parsed into hdr). Returns
    (clear header, clear buffer, clear length): the frame as it would have been sent in clear,
    in router-owned buffers reused by the next call. Wrapper errors and a key id we hold no
    key for are DecodeError (a frame for others is then passed on unopened, as a Relay does),
    a wrong tag an E2EError (dropped even when it is not for us, as 4.2.7 does)."""
    end = n - 4
    p = hdr.payload_start
    kid, p = _uleb(data, p, end)
    if kid > 0xFFFFFFFF:
        raise DecodeError("e2e key id too large")
    plen, p = _uleb(data, p, end)
    nlen, p = _uleb(data, p, end)
    if nlen != e2e.NONCE_LEN or p + nlen > end:
        raise DecodeError("bad e2e nonce length")
    nonce = p
    p += nlen
    tlen, p = _uleb(data, p, end)
    if tlen != e2e.TAG_LEN or p + tlen > end:
        raise DecodeError("bad e2e tag length")
    tag = p
    p += tlen
    if end - p != plen or plen != hdr.data_size:
        raise DecodeError("bad e2e payload length")
    if not e2e.has_key(kid):  # (a DecodeError: a frame for others is passed on unopened)
        raise DecodeError("crypto open: no e2e key for key id %d" % kid)
    hlen = hdr.payload_start
    need = hlen + plen + 4
    buf = getattr(router, "_e2e_buf", None)
    if buf is None or len(buf) < need:
        buf = router._e2e_buf = bytearray(max(need, 64))
        router._e2e_hdr = FrameHeader(max_endpoints=router._hdr.max_endpoints)
    mv = memoryview(data)
    out = memoryview(buf)
    e2e.open_into(kid, mv[nonce:nonce + nlen], mv[:hlen], mv[p:end], mv[tag:tag + tlen],
                  out[hlen:hlen + plen])
    out[:hlen] = mv[:hlen]
    buf[0] &= ~F_E2E & 0xFF
    crc32_write(buf, 0, hlen + plen)
    h2 = router._e2e_hdr
    h2.parse(buf, need, True)
    return h2, buf, need


def check_rx(router, hdr, data, n):
    """The receive-side check (forward._check) of a wrapped frame: it opens and its
    plaintext fits the schema, or a SedsError. A RequireOn type in clear: E2EError (4.2.7
    delivers it, the downgrade an attacker gets by clearing FLAGS 0x10; we drop it)."""
    if not hdr.e2e:
        raise E2EError("type %d requires E2E encryption and arrived in clear (dropped)" % hdr.ty)
    h2, buf, _need = open_frame(router, hdr, data, n)
    from .schema import type_record
    rec = type_record(h2.ty)
    if rec is not None or h2.contract_start >= 0:
        router._check_payload(h2, buf, rec)


def deliver(router, src, hdr, data, n):
    """Local delivery of a wrapped frame: packet handlers get the opened Packet (payload =
    plaintext), packed handlers the frame as it came, sealed (as 4.2.7). Returns the
    held-endpoint bitmask."""
    h2, buf, need = open_frame(router, hdr, data, n)
    router._e2e_raw = bytes(data[:n])
    try:
        return router._deliver(src, h2, buf, need)
    finally:
        router._e2e_raw = None
