# End-to-end payload crypto, the software provider of sedsnet 4.2.7 (shared/protocol/e2e.md,
# verified-4.2.7.md "E2E"): the process-wide keyring (register_e2e_key) and HMAC-SHA256 seal/open.
# tag = HMAC(key, "SEDS-HMAC-TAG" | u32le key_id | nonce | aad | ciphertext)[:16];
# keystream block n = HMAC(key, "SEDS-HMAC-STREAM" | u32le key_id | nonce | aad | u64le n).
# HMAC is written once on hashlib.sha256 (MicroPython has no hmac module and no sha256.copy()):
# each key keeps its ipad/opad blocks, so a MAC is two sha256 objects and two digests.
import hashlib

from .compat import const
from .errors import ArgumentError, E2EError

MAX_KEYS = const(8)  # 4.2.7's software keyring refuses a 9th key id too (probed)
TAG_LEN = const(16)  # 4.2.7 truncates the 32-byte HMAC to 16 bytes
NONCE_LEN = const(12)
_MIN_KEY = const(16)
_BLOCK = const(64)
_STREAM = b"SEDS-HMAC-STREAM"
_TAG = b"SEDS-HMAC-TAG"

# key_id -> [ipad block, opad block, u32le key_id]; process-wide, as the reference's keyring
_keys = {}
_stats = [0, 0, 0]  # keys refused because the ring was full, opens that failed, seals
_ctr = bytearray(8)  # u64le keystream block counter


def _check_id(key_id):
    if not isinstance(key_id, int) or isinstance(key_id, bool) or not 0 <= key_id <= 0xFFFFFFFF:
        raise ArgumentError("key_id must be an int 0..4294967295, not %r" % (key_id,))


def register_e2e_key(key_id, key_bytes):
    """Install a software key for key_id (process-wide, as the reference's
    seds_crypto_register_software_key): 32 bytes are used as they are, 16..31 or more than 32
    bytes as their SHA-256; under 16 bytes is an ArgumentError. Registering an id again
    replaces its key. At most 8 key ids (E2EError when full, counted). Key exchange is the
    application's: call this with whatever your provisioning or exchange produced."""
    _check_id(key_id)
    if not isinstance(key_bytes, (bytes, bytearray, memoryview)):
        raise ArgumentError("key_bytes must be bytes-like, not %s" % type(key_bytes).__name__)
    key = bytes(key_bytes)
    if len(key) < _MIN_KEY:
        raise ArgumentError("key_bytes: a key needs at least 16 bytes, got %d" % len(key))
    if key_id not in _keys and len(_keys) >= MAX_KEYS:
        _stats[0] += 1
        raise E2EError("e2e keyring full (%d key ids)" % MAX_KEYS)
    if len(key) != 32:
        key = hashlib.sha256(key).digest()
    ipad = bytearray(_BLOCK)
    opad = bytearray(_BLOCK)
    for i in range(_BLOCK):
        k = key[i] if i < 32 else 0
        ipad[i] = k ^ 0x36
        opad[i] = k ^ 0x5C
    kid = bytearray(4)
    for i in range(4):
        kid[i] = (key_id >> (8 * i)) & 0xFF
    _keys[key_id] = (bytes(ipad), bytes(opad), bytes(kid))


def remove_e2e_key(key_id):
    """Forget key_id's key; True if it was registered."""
    _check_id(key_id)
    return _keys.pop(key_id, None) is not None


def has_key(key_id):
    return key_id in _keys


def key_count():
    return len(_keys)


def stats():
    return {"keys": len(_keys), "max_keys": MAX_KEYS, "keyring_full": _stats[0],
            "open_failures": _stats[1], "seals": _stats[2]}


def _key(key_id):
    k = _keys.get(key_id)
    if k is None:
        raise E2EError("no e2e key for key id %d" % key_id)
    return k


def _mac(k, label, nonce, aad, tail):
    # HMAC-SHA256(key, label | u32le key_id | nonce | aad | tail)
    h = hashlib.sha256(k[0])
    h.update(label)
    h.update(k[2])
    h.update(nonce)
    h.update(aad)
    h.update(tail)
    o = hashlib.sha256(k[1])
    o.update(h.digest())
    return o.digest()


def _xor_stream(k, nonce, aad, src, dst, n):
    # dst[i] = src[i] ^ keystream[i] for i < n (dst may be src)
    ctr = _ctr
    for i in range(8):
        ctr[i] = 0
    blk = 0
    i = 0
    while i < n:
        ks = _mac(k, _STREAM, nonce, aad, ctr)
        m = n - i if n - i < 32 else 32
        for j in range(m):
            dst[i + j] = src[i + j] ^ ks[j]
        i += m
        blk += 1
        ctr[0] = blk & 0xFF  # (a payload fits in far fewer than 2**16 blocks)
        ctr[1] = (blk >> 8) & 0xFF


def seal_into(key_id, nonce, aad, plaintext, out, tag_out):
    """Encrypt plaintext into out[:len(plaintext)] and write the 16-byte tag into
    tag_out[:16] (out may be plaintext itself). E2EError if key_id has no key."""
    k = _key(key_id)
    n = len(plaintext)
    _xor_stream(k, nonce, aad, plaintext, out, n)
    t = _mac(k, _TAG, nonce, aad, memoryview(out)[:n])
    for i in range(TAG_LEN):
        tag_out[i] = t[i]
    _stats[2] += 1


def open_into(key_id, nonce, aad, ciphertext, tag, out):
    """Check the tag, then decrypt ciphertext into out[:len(ciphertext)]. E2EError (counted)
    when there is no key, the tag is not 16 bytes or does not match; out is then untouched."""
    k = _keys.get(key_id)
    if k is None or len(tag) != TAG_LEN:
        _stats[1] += 1
        raise E2EError("crypto open: %s" % ("no key for key id %d" % key_id if k is None
                                            else "bad e2e tag length"))
    t = _mac(k, _TAG, nonce, aad, ciphertext)
    d = 0
    for i in range(TAG_LEN):
        d |= t[i] ^ tag[i]
    if d:
        _stats[1] += 1
        raise E2EError("crypto open: tag mismatch")
    _xor_stream(k, nonce, aad, ciphertext, out, len(ciphertext))


def seal(key_id, nonce, aad, plaintext):
    """(ciphertext, tag) as bytes: the reference's seds_crypto_seal."""
    ct = bytearray(len(plaintext))
    tag = bytearray(TAG_LEN)
    seal_into(key_id, nonce, aad, plaintext, ct, tag)
    return bytes(ct), bytes(tag)


def open(key_id, nonce, aad, ciphertext, tag):  # noqa: A001  (the reference's name)
    """The plaintext as bytes (seds_crypto_open), or E2EError."""
    out = bytearray(len(ciphertext))
    open_into(key_id, nonce, aad, ciphertext, tag, out)
    return bytes(out)
