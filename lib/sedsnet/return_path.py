# The way back for end-to-end ACKs, learned per packet as 4.2.7 learns its return routes
# (host_tests/test_return_path_parity.py): the side each reliable data frame last came in on,
# by packet ID, so that a holder's E2E ACK for it goes back that way only (reliable_e2e.ack),
# never flooded. As 4.2.7: at most reliable_max_return_routes (32) packets, the oldest learned
# forgotten first (an ACK does not refresh one, a repeat of the frame does), no time limit.
# One preallocated ring per node (learning allocates nothing), its bytes charged to
# max_queue_budget. Loaded by the first reliable data frame a Router or Relay receives.
import sys

from . import schema
from .compat import const
from .ids import write_packet_id
from .schema import R_RELIABLE

_P2P = const(18)  # the last built-in (control) type: no return route for those
_CAP = const(32)  # reliable_max_return_routes' default (tuning.py), while tuning.py is not loaded
_RING_BYTES = const(144)  # a Ring and its buffers beside 9 B per entry (measured, 32-bit heap)


def _cap():
    t = sys.modules.get("sedsnet.tuning")  # (tuning.py's values: index 8 is the key's)
    return _CAP if t is None else t._values[8]


class Ring:
    """cap packet IDs (8 bytes each, oldest at head) and the side each came in on; the 8
    bytes after the last slot hold the ID being looked up."""

    def __init__(self, cap):
        self.cap = cap
        self.ids = bytearray(8 * cap + 8)
        self.sides = bytearray(cap)
        self.head = 0
        self.count = 0
        self.cost = _RING_BYTES + 9 * cap
        self.evicted = 0  # forgotten for a newer packet

    def find(self):
        """The slot holding the ID in the lookup bytes, newest first, or -1."""
        k = self.ids
        o = 8 * self.cap
        b0 = k[o]
        cap = self.cap
        i = self.count
        while i > 0:
            i -= 1
            s = self.head + i
            if s >= cap:
                s -= cap
            p = 8 * s
            if k[p] == b0:
                j = 1
                while j < 8 and k[p + j] == k[o + j]:
                    j += 1
                if j == 8:
                    return s
        return -1

    def put(self, sid, seen=True):
        """The ID in the lookup bytes came in on side sid: it becomes the newest entry (moved
        there when known; the oldest is forgotten when the ring is full). seen=False: a
        frame the recent-ID cache did not know, not looked for (no walk over the ring per
        new frame; should the cache have forgotten one still here, the newest copy is the
        one find() sees)."""
        k = self.ids
        cap = self.cap
        s = self.find() if seen else -1
        if s >= 0:  # known: the entries after it move up one, it goes last
            i = s - self.head
            if i < 0:
                i += cap
            while i < self.count - 1:
                n = s + 1 if s + 1 < cap else 0
                p = 8 * s
                q = 8 * n
                for j in range(8):
                    k[p + j] = k[q + j]
                self.sides[s] = self.sides[n]
                s = n
                i += 1
        else:
            if self.count == cap:
                self.head = self.head + 1 if self.head + 1 < cap else 0
                self.count -= 1
                self.evicted += 1
            s = self.head + self.count
            if s >= cap:
                s -= cap
            self.count += 1
        p = 8 * s
        o = 8 * cap
        for j in range(8):
            k[p + j] = k[o + j]
        self.sides[s] = sid


def ring(node):
    """node's Ring (made on first need, again when reliable_max_return_routes changed), or
    None when max_queue_budget cannot hold it (then nothing is learned)."""
    r = getattr(node, "_e2e_ret", None)
    cap = _cap()
    if r is not None and r.cap == cap:
        return r
    bud = node._budget
    if r is not None:
        bud.give(r.cost)
        node._e2e_ret = None
    if not bud.take(_RING_BYTES + 9 * cap):
        node._e2e_ret_full = True  # (learned nothing: its E2E ACKs go on every other side)
        return None
    r = node._e2e_ret = Ring(cap)
    return r


def learn(node, sid, hdr, data, seen=False):
    """A frame from side sid: when it is reliable user data, sid is the way back for its
    E2E ACKs (the last side it came in on, as 4.2.7's Routers and Relays keep). seen: a
    repeat (reliable_e2e.repeat), else a frame new to the recent-ID cache."""
    if hdr.ty <= _P2P or hdr.e2e or data[0] & 0x01:  # (a sealed or zstd frame: no ID here)
        return
    rec = schema.type_record(hdr.ty)
    if rec is None or not rec[R_RELIABLE]:
        return  # 4.2.7 learns nothing from a plain type, even with a reliable header
    r = ring(node)
    if r is not None:
        write_packet_id(hdr, data, r.ids, 8 * r.cap)
        r.put(sid, seen)


def side_of(node, data, p):
    """The side the packet whose ID is data[p:p+8] came in on, or -1 when not learned."""
    r = getattr(node, "_e2e_ret", None)
    if r is None:
        return -1
    k = r.ids
    o = 8 * r.cap
    for j in range(8):
        k[o + j] = data[p + j]
    s = r.find()
    return -1 if s < 0 else r.sides[s]
