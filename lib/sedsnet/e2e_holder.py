# A holder's side of end-to-end reliability (loaded by control.py with the first E2E ACK or
# reliable frame from a side, so a node that only routes plain data never compiles it): the
# E2E ACK 4.2.7 holders send for delivered reliable user data, the table of contract frames
# delivered here (a resend is ACKed again, not delivered twice) and the return path each
# reliable frame teaches (return_path.py).
import struct
import sys

from . import ids, schema
from .compat import const
from .recent import MAX_IDS, RecentIds
from .wire import FrameHeader, frame_size, pack_into

_SEDSNET_RELIABLE_ACK = const(1)
_LOCAL = const(255)  # routes.LOCAL


def e2e_ack(router, sid, hdr, data, check=False):
    """Acknowledge delivered reliable user data end to end, as 4.2.7 holders do: type 1,
    sender "E2EACK:<us>", a contract (static UInt32 x2) naming us, then the origin (sender
    hashes in that order, whatever their values: tested against 4.2.7), payload = the packet
    ID; sent back on the arrival side. Without it a reference origin resends until it gives
    up with an error. As 4.2.7, reliable data that came without a contract is ACKed too,
    and an origin we cannot name is named by its header address (a u64 target). check:
    e2e_check's verdict instead, before delivery. Built in per-router buffers (_ack_state):
    no u64 is hashed or shifted per ACK, and only a new delivered ID's key is allocated."""
    if check:
        return e2e_check(router, sid, hdr, data)
    if hdr.contract_start >= 0:
        if _names_us(router, hdr, data) != 2:
            return  # addressed to another holder
    else:
        rec = schema.type_record(hdr.ty)
        if rec is None or not rec[6]:  # (R_RELIABLE) a plain type with a reliable header
            return
    st = getattr(router, "_e2e_st", None) or _ack_state(router)
    buf, contract, pid, key, hashes, views = st
    w = hdr.wide  # (src_addr as 16-bit limbs: the int may be a heap object)
    lo = w[4]
    hi = w[5]
    for e in hashes:  # the origin's sender hash, for the last origins named
        if e[0] == lo and e[1] == hi:
            struct.pack_into("<Q", contract, 12, e[2])
            break
    else:
        addr = hdr.src_addr
        origin = ids._names.get(addr)  # (sender_name without its "@addr:" string)
        if origin is None:
            disc = router.discovery
            origin = disc.hostname_of(addr) if disc else None
            if origin is not None:
                ids.remember_sender(origin, addr)
        if origin is None:
            router._e2e_unacked += 1  # origin not heard yet: named by its address
            struct.pack_into("<HHI", contract, 12, lo, hi, 0)
        else:
            if len(hashes) >= 8:
                hashes.pop(0)
            e = [lo, hi, ids.sender_hash(origin)]
            hashes.append(e)
            struct.pack_into("<Q", contract, 12, e[2])
    ids.write_packet_id(hdr, data, pid)  # the exact 4.2.7 ID (the dup key may be the pure one)
    if hdr.contract_start >= 0:
        _done(router, pid)
    n = pack_into(buf, _SEDSNET_RELIABLE_ACK, router.e2e_src, None, router.now_ms(),
                  ids.next_nonce(), pid, contract)
    ch = router._ctrl_hdr
    if ch is None:
        ch = router._ctrl_hdr = FrameHeader(max_endpoints=4)
    ch.parse(buf, n)
    ids.write_dup_key(ch, buf, key)
    router._recent.seen(key)  # our own ACK echoed back by a loop is a duplicate
    router._send(1 << sid, views.get(n), n, False)


def _ack_state(router):
    # (frame, contract, packet ID, dup key, [[src_addr limbs lo, hi, sender hash]] of 8
    # origins at most, views of the frame): made at the first E2E ACK (about 200 B, once per router)
    buf = bytearray(frame_size(0, _SEDSNET_RELIABLE_ACK, router.e2e_src, (1 << 64) - 1,
                               0xFFFF, 8, 20))
    contract = bytearray(b"\x03\x44\x02\x02" + bytes(16))
    struct.pack_into("<Q", contract, 4, router.sender_hash)
    from .queues import _Views
    st = router._e2e_st = (buf, contract, bytearray(8), bytearray(8), [], _Views(buf, 8))
    return st


def _names_us(router, hdr, data):
    """contract_targets without the list of u64s: 0 when the contract names no targets, 2
    when one is our sender hash, 1 when they are others (the header parse checked the
    contract's layout)."""
    p = hdr.contract_start
    if p < 0 or not data[p] & 0x01:
        return 0
    q = p + 1
    if data[p] & 0x02:
        q += 1
        if data[q - 1] & 0x40:
            while data[q] & 0x80:
                q += 1
            q += 1
    while data[q] & 0x80:  # (the count: the targets fill the rest of the contract)
        q += 1
    q += 1
    end = hdr.contract_end
    if q >= end:
        return 0
    me = (getattr(router, "_e2e_st", None) or _ack_state(router))[1]
    while q < end:
        i = 0
        while i < 8 and data[q + i] == me[4 + i]:
            i += 1
        if i == 8:
            return 2
        q += 8
    return 1


class _Done(RecentIds):
    """The IDs of the contract frames delivered here (e2e_check), in a preallocated table
    like the recent-ID cache's: reliable_max_end_to_end_ack_cache of them, the oldest
    forgotten for a new one, its bytes charged to max_queue_budget when it is made."""

    def __len__(self):
        return self.st[0]

    def has(self, key):
        # recent_seen's probe without its insert
        t = self.table
        idx = self.index
        mask = self.st[3]
        i = (key[0] | (key[1] << 8) | (key[2] << 16)) & mask
        while True:
            e = idx[i]
            if e == 0:
                return False
            b = (e - 1) * 8
            j = 0
            while j < 8 and t[b + j] == key[j]:
                j += 1
            if j == 8:
                return True
            i = (i + 1) & mask


def _done(router, pid):
    d = getattr(router, "_e2e_done", None)
    if d is None:
        t = sys.modules.get("sedsnet.tuning")
        cap = min(128 if t is None else t._values[10], MAX_IDS)
        n = 2
        while n < 2 * cap:
            n <<= 1
        ok = router._budget.take(8 * cap + 2 * n)
        # (no room: an empty table, so a resend past the recent-ID cache is delivered again)
        d = router._e2e_done = _Done(cap if ok else 0)
        d.bytes = 8 * cap + 2 * n if ok else 0
    d.seen(pid)


def e2e_check(router, src, hdr, data):
    """A frame whose contract names target hosts, before local delivery: 1 when they are
    others (as 4.2.7: only passed on); 2 when it names us and was delivered here before,
    after ACKing it again (its origin still resends: our ACK was lost), so it is not
    delivered twice (the recent-ID cache keeps 128 IDs of every frame and forgets a packet
    an origin resends over a long outage; 4.2.7's holder delivered once over 186 resends
    in 37 s); 0: deliver it. Reliable data from a side, contract or not, is first learned as
    the way back for its E2E ACKs (return_path.py)."""
    if hdr.rel_form and src != _LOCAL:
        learn(router, src, hdr, data)
    cs = hdr.contract_start
    if cs < 0 or not data[cs] & 0x01:
        return 0  # (no target hosts: a contract-less reliable frame, only learned)
    if _names_us(router, hdr, data) == 1 and hdr.src_addr != router.src_addr:
        return 1  # (our own, to the holders elsewhere: a handler here has it too)
    d = getattr(router, "_e2e_done", None)
    if src == _LOCAL or d is None:
        return 0
    pid = router._e2e_st[2]  # (_done made it)
    ids.write_packet_id(hdr, data, pid)
    if not d.has(pid):
        return 0
    e2e_ack(router, src, hdr, data)
    router._e2e_repeats = getattr(router, "_e2e_repeats", 0) + 1
    return 2


_rp = [None]  # return_path.py, once loaded (an import per frame would allocate)


def learn(node, sid, hdr, data):
    """A reliable frame from side sid (Router: e2e_check; Relay._deliver; a repeat:
    reliable_e2e.repeat): the side its holders' E2E ACKs go back on (return_path.py)."""
    m = _rp[0]
    if m is None:
        from . import return_path as m
        _rp[0] = m
    m.learn(node, sid, hdr, data)
