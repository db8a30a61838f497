# Codec helpers of the SDT side transport (sdt.py, sdt_reassembly.py; shared/protocol/
# side-transport.md, docs/side-transport.md): the kinds, header spans of a canonical frame,
# 4.2.7's template-id and chunk-id hashes, ULEBs, and add_side_packed_profile's checks.
from . import ids, kernels
from .compat import const
from .errors import ArgumentError, DecodeError

PROFILES = ("canonical", "template", "ipv6_like", "ipv4_like")
K_FULL = const(1)
K_COMPACT = const(2)
K_CHUNK = const(3)
CHUNK_OVERHEAD = const(16)  # "SDT" kind msgid index total + CRC: chunk data = max_frame - 16
_TEMPLATE_SEED = const(0xD1B54A329C7E01F3)
_CHUNK_SEED = const(0x517CC1B727220A95)
_M32 = const(0xFFFFFFFF)
_F_CONTRACT = const(0x04)
_F_NONCE = const(0x08)
_F_BITMAP = const(0x20)
_F_EP_LIST = const(0x80)


def _skip(f, p, end):
    # past one ULEB at f[p]; a frame handed to us is already checked, a received one may not be
    while p < end and f[p] & 0x80:
        p += 1
    if p >= end:
        raise DecodeError("side transport: short read")
    return p + 1


def header_spans(f, n, sp=None):
    """(size_off, src_off, hdr_end) of the canonical frame f[:n]: where data_size starts,
    where src_addr starts and where the header (contract included) ends; written into sp
    (3 ints) when given, else a new tuple. DecodeError when it has a form a template cannot
    hold (bitmap endpoints) or is short."""
    end = n - 4
    if end < 2:
        raise DecodeError("side transport: short frame")
    flags = f[0]
    if flags & _F_BITMAP:
        raise DecodeError("side transport: bitmap endpoints have no template")
    p = _skip(f, 2, end)  # ty
    size_off = p
    p = _skip(f, _skip(f, p, end), end)  # data_size, timestamp
    if flags & _F_NONCE:
        p = _skip(f, p, end)
    src_off = p
    p = _skip(f, p, end)
    if flags & _F_EP_LIST:
        for _ in range(f[1]):
            p = _skip(f, p, end)
    if flags & _F_CONTRACT:
        clen, q = uleb_at(f, p, end)
        p = q + clen
        if p > end:
            raise DecodeError("side transport: short read")
    if sp is None:
        return size_off, src_off, p
    sp[0] = size_off
    sp[1] = src_off
    sp[2] = p
    return sp


def shape_hash(f, size_off, src_off, hdr_end):
    """4.2.7's 64-bit header-shape hash: mix64 over FLAGS & ~0x09, NEP and ty, src_addr up to
    the end of the contract. Its template dictionaries are ordered by it: a full one forgets
    its smallest. Allocates (Python ints)."""
    h = ids.mix64(_TEMPLATE_SEED, (f[0] & 0xF6,))
    h = ids.mix64(h, f[1:size_off])
    return ids.mix64(h, f[src_off:hdr_end])


def template_id(h):
    """The template id of shape hash h: folded to 32 bits (low ^ high)."""
    return (h & _M32) ^ (h >> 32)


def chunk_seed(name, out):
    """The chunk-id mixer state of a node named name into out[0:8]: mix64 of the chunk seed
    over its UTF-8 name (a message id is then mix_into(that, chunked bytes), folded)."""
    h = ids.mix64(_CHUNK_SEED, name.encode())
    for i in range(8):
        out[i] = (h >> (8 * i)) & 0xFF


def _mix_into(st, data, start, end):
    # the pure twin of _fast_sdt.mix_into (Python ints: allocates on MicroPython)
    h = 0
    for i in range(8):
        h |= st[i] << (8 * i)
    h = ids.mix64(h, data[start:end])
    for i in range(8):
        st[i] = (h >> (8 * i)) & 0xFF


mix_into = _mix_into
if kernels.KIND == "viper":  # the viper twin where kernels.py took _fast (when installed)
    try:
        from ._fast_sdt import mix_into as _viper_mix

        mix_into = _viper_mix
    except (ImportError, SyntaxError, ValueError, AttributeError):
        pass


def uleb_at(f, p, end):
    v = 0
    s = 0
    while True:
        if p >= end:
            raise DecodeError("side transport: short read")
        x = f[p]
        p += 1
        v |= (x & 0x7F) << s
        if x < 0x80:
            return v, p
        s += 7
        if s > 35:
            raise DecodeError("side transport: uleb too long")


def check_args(profile, max_frame_bytes, compact_header_target_bytes,
               max_side_transport_templates):
    """The profile code for valid arguments; ArgumentError naming the bad one (4.2.7: ValueError
    for a profile name, TypeError/OverflowError for the numbers)."""
    if not isinstance(profile, str):
        raise ArgumentError("profile must be a str, not %s" % type(profile).__name__)
    if profile not in PROFILES:
        raise ArgumentError("profile must be canonical, template, ipv6_like, or ipv4_like")
    for v, what in ((max_frame_bytes, "max_frame_bytes"),
                    (compact_header_target_bytes, "compact_header_target_bytes"),
                    (max_side_transport_templates, "max_side_transport_templates")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > _M32:
            raise ArgumentError("%s must be an int 0..4294967295, not %r" % (what, v))
    if 0 < max_frame_bytes <= CHUNK_OVERHEAD:
        # (4.2.7 accepts these; a chunk would carry no data)
        raise ArgumentError("max_frame_bytes must be 0 or more than %d, not %d"
                            % (CHUNK_OVERHEAD, max_frame_bytes))
    return PROFILES.index(profile)
