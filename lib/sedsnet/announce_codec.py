# Payload codecs of the discovery frames a node announces itself with (sedsnet 4.2.7):
# DISCOVERY_ADDRESS v2, DISCOVERY_TOPOLOGY (full snapshot and delta), LINK_CAPABILITIES, ANNOUNCE.
# Layouts: shared/protocol/control-payloads.md; reference checks: docs/router-interop.md.
# Payloads only; the frame around them is wire.py's. Malformed input raises DecodeError.
from struct import pack_into, unpack_from

from .compat import const
from .errors import DecodeError
from .ids import sender_hash

LINK_PLAIN = const(0x58)  # link flags a canonical 4.2.7 side advertises
LINK_RELIABLE = const(0x04)  # added on a hop-reliable side
EMPTY_SCHEMA = b"\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # v3, no endpoints, no types

# parse_address() tuple indices
A_VERSION = const(0)
A_MODE = const(1)
A_STATE = const(2)
A_ADDRESS = const(3)
A_REQUESTED = const(4)
A_BIRTH = const(5)
A_OWNER = const(6)
A_HOSTNAME = const(7)
A_ENDPOINTS = const(8)
A_NETVARS = const(9)
A_TIMESYNC = const(10)
A_LINK = const(11)  # (link_version, link_flags, profile, max_frame, compact_target, templates)

_M32 = const(0xFFFFFFFF)


def to_bytes(s):
    return s.encode() if isinstance(s, str) else bytes(s)


class Writer:
    """Little-endian payload builder over one reusable, growing bytearray."""

    def __init__(self, size=128):
        self.buf = bytearray(size)
        self.n = 0

    def _room(self, k):
        if self.n + k > len(self.buf):
            nb = bytearray(max(self.n + k, 2 * len(self.buf)))
            nb[:self.n] = memoryview(self.buf)[:self.n]
            self.buf = nb

    def u8(self, v):
        self._room(1)
        self.buf[self.n] = v
        self.n += 1

    def u32(self, v):
        self._room(4)
        pack_into("<I", self.buf, self.n, v)
        self.n += 4

    def u64(self, v):
        self._room(8)
        pack_into("<II", self.buf, self.n, v & _M32, (v >> 32) & _M32)
        self.n += 8

    def str(self, s):
        s = to_bytes(s)
        self.u32(len(s))
        self._room(len(s))
        self.buf[self.n:self.n + len(s)] = s
        self.n += len(s)

    def u32s(self, vals):
        self.u32(len(vals))
        for v in vals:
            self.u32(v)

    def strs(self, vals):
        self.u32(len(vals))
        for v in vals:
            self.str(v)

    def board(self, b):
        self.str(b[0])
        self.u32s(b[1])
        self.strs(b[2])
        self.strs(b[3])

    def view(self):
        return memoryview(self.buf)[:self.n]


class Reader:
    """Bounds-checked reads over a payload; every shortfall is a DecodeError."""

    def __init__(self, payload, what):
        self.b = payload
        self.p = 0
        self.what = what

    def need(self, k):
        if k > len(self.b) - self.p:
            raise DecodeError("discovery %s payload short" % self.what)

    def u8(self):
        self.need(1)
        self.p += 1
        return self.b[self.p - 1]

    def u32(self):
        self.need(4)
        self.p += 4
        return unpack_from("<I", self.b, self.p - 4)[0]

    def u64(self):
        self.need(8)
        lo, hi = unpack_from("<II", self.b, self.p)
        self.p += 8
        return lo | (hi << 32)

    def count(self, min_size):
        n = self.u32()
        if n * min_size > len(self.b) - self.p:  # never allocate for a count the bytes can't hold
            raise DecodeError("discovery %s count too large" % self.what)
        return n

    def str(self, field="name"):
        """A u32-length string: its bytes, which must be UTF-8 (4.2.7 refuses the frame)."""
        n = self.u32()
        self.need(n)
        self.p += n
        out = bytes(self.b[self.p - n:self.p])
        if not utf8_ok(out):
            raise DecodeError("discovery %s %s not UTF-8" % (self.what, field))
        return out

    def u32s(self):
        return tuple(self.u32() for _ in range(self.count(4)))

    def strs(self, field="name"):
        return tuple(self.str(field) for _ in range(self.count(4)))

    def end(self):
        if self.p != len(self.b):
            raise DecodeError("discovery %s trailing bytes" % self.what)


def utf8_ok(b):
    """Strict UTF-8 (as Rust's from_utf8: no overlongs, surrogates or code points above
    U+10FFFF; MicroPython's own decoder lets the last two through)."""
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            k, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= c <= 0xEF:
            k = 2
            lo = 0xA0 if c == 0xE0 else 0x80
            hi = 0x9F if c == 0xED else 0xBF
        elif 0xF0 <= c <= 0xF4:
            k = 3
            lo = 0x90 if c == 0xF0 else 0x80
            hi = 0x8F if c == 0xF4 else 0xBF
        else:
            return False
        if i + k >= n:
            return False
        if not lo <= b[i + 1] <= hi:
            return False
        for j in range(i + 2, i + k + 1):
            if not 0x80 <= b[j] <= 0xBF:
                return False
        i += k + 1
    return True


# ---- payload codecs (payloads only; the frame around them is wire.py's) ------------------------
def address_payload(hostname, address, birth, owner_hash, endpoints, state=1, mode=0,
                    requested=0, netvars=(), timesync=(), link_flags=LINK_PLAIN, profile=0,
                    max_frame=0, compact_target=0, templates=64, w=None):
    """DISCOVERY_ADDRESS v2 payload (bytes; a memoryview of w's buffer when w is given)."""
    own = w is None
    if own:
        w = Writer()
    w.n = 0
    w.u8(2)
    w.u8(mode)
    w.u8(state)
    w.u32(address)
    w.u32(requested)
    w.u64(birth)
    w.u64(owner_hash)
    w.str(hostname)
    w.u32s(endpoints)
    w.u32s(netvars)
    w.strs(timesync)
    _link(w, link_flags, profile, max_frame, compact_target, templates)
    return bytes(w.view()) if own else w.view()


def _link(w, link_flags, profile, max_frame, compact_target, templates):
    w.u8(1)
    w.u32(link_flags)
    w.u8(profile)
    w.u32(max_frame)
    w.u32(compact_target)
    w.u32(templates)


def link_caps_payload(link_flags=LINK_PLAIN, profile=0, max_frame=0, compact_target=0,
                      templates=64):
    """DISCOVERY_LINK_CAPABILITIES payload (what a Relay sends instead of an ADDRESS)."""
    w = Writer(18)
    _link(w, link_flags, profile, max_frame, compact_target, templates)
    return bytes(w.view())


def _read_link(r):
    # the reference accepts any link_version (it sends 1)
    return (r.u8(), r.u32(), r.u8(), r.u32(), r.u32(), r.u32())


def parse_link_caps(payload):
    r = Reader(payload, "link capabilities")
    out = _read_link(r)
    r.end()
    return out


def parse_address(payload):
    """DISCOVERY_ADDRESS v2 -> tuple (A_* indices); names are UTF-8 bytes."""
    r = Reader(payload, "address")
    v = r.u8()
    if v != 2:
        raise DecodeError("discovery address version %d" % v)
    out = (v, r.u8(), r.u8(), r.u32(), r.u32(), r.u64(), r.u64(), r.str("hostname"), r.u32s(),
           r.u32s(), r.strs("timesync source"), _read_link(r))
    r.end()
    if not out[3] or not out[7]:  # 4.2.7 refuses both, whatever the address mode
        raise DecodeError("bad discovery address (%s)" % ("address 0" if out[7] else "no hostname"))
    return out


def board(name, endpoints=(), timesync=(), connections=()):
    """A TOPOLOGY board record: (name, endpoints, timesync sources, connections), names bytes."""
    return (to_bytes(name), tuple(endpoints), tuple(to_bytes(x) for x in timesync),
            tuple(to_bytes(x) for x in connections))


def topology_full_payload(boards, w=None):
    """Full TOPOLOGY snapshot: u32 count (>= 1) then the board records."""
    own = w is None
    if own:
        w = Writer()
    w.n = 0
    w.u32(len(boards))
    for b in boards:
        w.board(b)
    return bytes(w.view()) if own else w.view()


def topology_delta_payload(changed, removed, w=None):
    """TOPOLOGY delta: u32 0, changed board records, removed sender names."""
    own = w is None
    if own:
        w = Writer()
    w.n = 0
    w.u32(0)
    w.u32(len(changed))
    for b in changed:
        w.board(b)
    w.strs(removed)
    return bytes(w.view()) if own else w.view()


def parse_topology(payload):
    """-> (is_delta, boards, removed); boards as board() tuples, names bytes."""
    r = Reader(payload, "topology")
    n = r.count(16)  # a board record is at least 16 bytes
    delta = n == 0
    if delta:
        n = r.count(16)
    boards = []
    for _ in range(n):
        boards.append((r.str("sender id"), r.u32s(), r.strs("timesync source"),
                       r.strs("connection")))
    removed = r.strs("removed sender id") if delta else ()
    r.end()
    return delta, boards, removed


def announce_payload(endpoints, w=None):
    """DISCOVERY_ANNOUNCE: n x u32 endpoint IDs, no count (a Relay's reachable endpoints)."""
    own = w is None
    if own:
        w = Writer(4 * len(endpoints))
    w.n = 0
    for e in endpoints:
        w.u32(e)
    return bytes(w.view()) if own else w.view()


def parse_announce(payload):
    """DISCOVERY_ANNOUNCE: n x u32 endpoint IDs (empty = a heartbeat)."""
    if len(payload) & 3:
        raise DecodeError("SizeMismatch: discovery announce of %d bytes" % len(payload))
    return tuple(unpack_from("<I", payload, i)[0] for i in range(0, len(payload), 4))


def identity(hostname, created_ms, instance):
    """(birth, owner_hash) the reference puts in DISCOVERY_ADDRESS for a router made at
    created_ms as the process's instance-th router."""
    return created_ms * 1000000 + instance, sender_hash(hostname) ^ instance
