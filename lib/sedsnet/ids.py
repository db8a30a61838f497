# Names -> wire identities, as sedsnet 4.2.7 computes them (shared/protocol/identities.md):
# endpoint / data-type IDs (FNV-1a with an alias table), the header source address, the u64
# sender hash, the node address, the process-wide packet nonce sequence and the packet ID.
# Everything here runs off the hot path except write_packet_id (router duplicate cache).
from array import array

from .compat import const
from .kernels import key_into as _key_kernel
from .kernels import nonce_next as _nonce_kernel
from .kernels import pid_into as _pid_kernel

_M32 = const(0xFFFFFFFF)
_MIX_K = const(0x9E3779B1)
_SRC_BASIS = 0xA6D38C214B7F19E5
_SENDER_BASIS = 0x517CC1B727220A95
_PID_BASIS = 0x9E3779B97F4A7C15
_M64 = 0xFFFFFFFFFFFFFFFF

def _utf8(name):
    if not isinstance(name, str):
        from .errors import ArgumentError
        raise ArgumentError("name must be a str")
    return name.encode()


def mix64(h, data):
    """The reference's 64-bit byte mixer (Python ints; allocates on MicroPython)."""
    for b in data:
        h ^= b
        h = (h * _MIX_K) & _M64
        h ^= h >> 27
    return h


# Sender names seen in this process, so a decoded header can show the name behind its address
# as the reference does ("@addr:<n>" otherwise). The reference never forgets; we keep at most
# set_sender_cache_size() names (default 16) and forget the least recently used one first.
_names_max = [16]
_names = {}
_heard = {}  # addr -> when last remembered (a counter: MicroPython dicts keep no order)
_tick = [0]


def set_sender_cache_size(n):
    """How many sender names to remember for decoding (reference: unbounded)."""
    _names_max[0] = n
    forget_senders()


def remember_sender(name, addr):
    t = _tick[0] = (_tick[0] + 1) & 0x3FFFFFFF
    if addr not in _names:
        if len(_names) >= _names_max[0]:
            old = None
            for k in _heard:
                if old is None or _heard[k] < _heard[old]:
                    old = k
            if old is not None:
                del _names[old]
                del _heard[old]
        _names[addr] = name
    _heard[addr] = t


def forget_senders():
    """Empty the address -> sender name cache (tests)."""
    _names.clear()
    _heard.clear()


def sender_name(addr):
    """The sender string for a header source address: a remembered name or "@addr:<n>"."""
    name = _names.get(addr)
    return name if name is not None else "@addr:%d" % addr


def source_address(name):
    """u32 header src_addr of a sender string (0 maps to 1)."""
    return (mix64(_SRC_BASIS, _utf8(name)) & _M32) or 1


def sender_hash(name):
    """u64 sender hash (wire-contract targets, owner hash base)."""
    return mix64(_SENDER_BASIS, _utf8(name))


def node_address(hostname):
    """Dynamic compact node address of a router hostname (DISCOVERY_ADDRESS, P2P)."""
    h = sender_hash(hostname)
    return ((h & _M32) ^ (h >> 32)) or 1


# Process-wide nonce sequence of the reference: a Weyl counter through an xorshift, low 16 bits,
# forced odd. A fresh process of ours and of the reference emit the same sequence. The state is
# a one-word array so the viper step (_fast.nonce_next) runs without heap ints.
_nonce_state = array("I", [0xA5C31F27])


def next_nonce():
    """Next packet nonce (u16, odd) of the process-global sequence; first value 6837."""
    return _nonce_kernel(_nonce_state)


def reset_nonce(state=0xA5C31F27):
    """Restart the nonce sequence (tests; the reference has no such call)."""
    _nonce_state[0] = state & _M32


def _le(v, n):
    out = bytearray(n)
    for i in range(n):
        out[i] = (v >> (8 * i)) & 0xFF
    return out


def packet_id(src_addr, ty, endpoints, timestamp_ms, nonce, payload):
    """u64 packet ID (dedupe key, E2E ACK payload) over the uncompressed payload.

    endpoints: the packet's endpoint IDs (hashed in ascending order).
    """
    h = mix64(_PID_BASIS, _le(src_addr, 4))
    h = mix64(h, _le(ty, 4))
    for e in sorted(endpoints):
        h = mix64(h, _le(e, 4))
    h = mix64(h, _le(timestamp_ms, 8))
    h = mix64(h, _le(nonce, 2))
    h = mix64(h, _le(len(payload), 8))
    return mix64(h, payload)


def write_packet_id(hdr, frame, out, off=0):
    """Write the 8-byte little-endian packet ID of a parsed frame into out[off:off+8].

    hdr: a wire.FrameHeader that has parsed `frame`. Allocation-free with the viper kernel
    (MicroPython); needs an uncompressed, non-E2E frame.
    """
    _pid_kernel(frame, hdr.spans, hdr.endpoints, out, off)


def write_dup_key(hdr, frame, out, off=0):
    """Write the 8-byte duplicate-cache key of a parsed frame into out[off:off+8]: the packet
    ID with the viper kernel, the pure path's cheaper key (_pure.key_into) without it. Either
    way two frames share a key when they carry the same packet (the same fields as the ID)."""
    _key_kernel(frame, hdr.spans, hdr.endpoints, out, off)


def __getattr__(name):
    # endpoint_identity / data_type_identity (schema names -> IDs) live in identity.py
    from . import identity
    try:
        return getattr(identity, name)
    except AttributeError:
        raise AttributeError(name)
