# Network-variable pushes, as 4.2.7 sends them (verified-4.2.7.md "Network variables";
# probed again for issue 15, host_tests/test_netvar_push_interop.py): the holders each side's
# announcers list in their DISCOVERY_ADDRESS; set_network_variable's push to them (one frame,
# a contract naming every holder, ascending hashes, on the holders' sides only, resent every
# reliable_retransmit_ms to the sides whose holder has not E2E-ACKed, at most
# reliable_max_retries times, then given up silently); and the replay of a cached value on a
# side whose announcers start listing its type. Loaded with the first such ADDRESS or push.
import sys

from . import ids
from .compat import const
from .control import eligible
from .errors import SedsError
from .schema import R_CLASS, R_COUNT, R_MDT, R_STATIC, type_record
from .wire import FrameHeader, frame_size, pack_into, uleb_len

_ANN = const(0)  # announce_table.ANN: a discovery side's announcer records
_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type
_HOLDER = const(48)  # bytes charged per holder record, + 4 per listed type
_PENDING = const(48)  # bytes charged per push awaiting ACKs, + its frame
MAX_TYPES = const(16)  # listed types kept per holder (the rest are not pushed to it)
# holder record
_REC = const(0)  # the announcer record it came with (stale once discovery replaced it)
_HASH = const(1)  # sender hash of its hostname: the contract target
_TYPES = const(2)
_COST = const(3)
# pending push
_FRAME = const(0)
_PID = const(1)
_WAIT = const(2)  # dict target hash -> side id, the holders that have not ACKed
_TRIES = const(3)
_DUE = const(4)
_PCOST = const(5)
_UP = const(6)  # a relayed push: (arrival side, the frame as it came), ACKed when all are


def _retry():
    # (reliable_retransmit_ms, reliable_max_retries): tuning.py's, its defaults until loaded
    t = sys.modules.get("sedsnet.tuning")
    if t is None:
        return 200, 8
    c = t.reliable_config()
    return c[0], c[1]


class Pushes:
    """One Router's holders and pushes in flight (NetVars.push)."""

    def __init__(self, nv):
        self.nv = nv
        self.router = nv.router
        self.holders = {}  # (side id, src addr) -> holder record
        self.pending = {}  # type -> pending push
        self.bytes = 0
        self.sent = 0  # pushes sent (first copies)
        self.resent = 0
        self.given_up = 0  # pushes some holder never ACKed
        self.dropped = 0  # holder records or push states the budget had no room for
        self.hdr = FrameHeader(max_endpoints=32)
        self.done = None  # packet ID of the last push every holder ACKed (None: none sent)

    # ---- holders, from discovery ----------------------------------------------------------
    def _prune(self):
        """Forget holders discovery no longer knows (expired, left, evicted, side removed)."""
        disc = self.router.discovery
        dead = []
        for key, h in self.holders.items():
            st = disc.sides.get(key[0]) if disc is not None else None
            if st is None or st[_ANN].get(key[1]) is not h[_REC]:
                dead.append(key)
        for key in dead:
            self._drop(key)

    def _drop(self, key):
        h = self.holders.pop(key)
        self.bytes -= h[_COST]
        self.router._budget.give(h[_COST])

    def side_types(self, sid):
        out = set()
        for key, h in self.holders.items():
            if key[0] == sid:
                for t in h[_TYPES]:
                    out.add(t)
        return out

    def heard(self, sid, src, rec, name, types):
        """An ADDRESS from announcer src on side sid listing types: keep it as a holder, and
        replay our cached values of the types the side did not list before (4.2.7). True
        when what it lists changed (our own ADDRESS lists it on the other sides)."""
        self._prune()
        before = self.side_types(sid)
        key = (sid, src)
        old = self.holders.get(key)
        old = () if old is None else old[_TYPES]
        if key in self.holders:
            self._drop(key)
        types = tuple(types[:MAX_TYPES])
        if types:
            cost = _HOLDER + 4 * len(types)
            if self.router._budget.take(cost):
                self.bytes += cost
                self.holders[key] = [rec, ids.sender_hash(str(name, "utf-8")), types, cost]
            else:
                self.dropped += 1
        for t in self.side_types(sid):
            if t not in before:
                self.nv.replay(sid, t)
        return old != types

    def _holders(self, ty, src):
        # target hash -> side of the holders of ty, on sides other than src
        self._prune()
        wait = {}
        for key, rec in self.holders.items():
            if key[0] != src and ty in rec[_TYPES] and self.router.sides[key[0]] is not None:
                wait[rec[_HASH]] = key[0]
        return wait

    # ---- pushes -----------------------------------------------------------------------------
    def push(self, frame):
        """set_network_variable's frame (clear, list form) to the holders of its type; a
        holder-less type sends nothing (4.2.7). Returns the number of holders."""
        h = self.hdr
        h.parse(frame, len(frame), True)
        wait = self._holders(h.ty, -1)
        self._forget(h.ty)  # a newer value replaces the push in flight
        if not wait:
            return 0
        return self._start(h, frame, wait, None)

    def relay(self, src, hdr, data, n):
        """A push from side src naming us: as a 4.2.7 Router does for the holders it lists
        on their behalf, pass it on to the holders behind us (the same frame, a contract
        naming them) and E2E-ACK it upstream only once every one of them has ACKed. False
        when no holder is behind us."""
        wait = self._holders(hdr.ty, src)
        if not wait or self.router.sender_hash not in hdr.contract_targets(data):
            return False
        up = bytes(data[:n])
        self._forget(hdr.ty)
        try:
            self._start(hdr, up, wait, (src, up))
        except SedsError:  # (a type we cannot seal: not passed on, never raised into rx)
            self.dropped += 1
            return False
        return True

    def _start(self, h, frame, wait, up):
        ty = h.ty
        f = _with_contract(h, frame, sorted(wait))
        clear = f
        f = self.nv.sealed(ty, f)  # E2E: sealed as a log of the type would be (or E2EError)
        pid = bytearray(8)
        h = self.hdr
        h.parse(clear, len(clear), True)
        ids.write_packet_id(h, clear, pid)
        self.sent += 1
        n = len(wait)
        cost = _PENDING + len(f) + (len(up[1]) if up else 0)
        if self.router._budget.take(cost):  # tracked before it goes: an ACK may come at once
            self.bytes += cost
            f = bytes(f)
            self.pending[ty] = [f, pid, wait, 0, self.router.now_ms() + _retry()[0], cost, up]
            if self.done is None:  # (the first push: discovery's periodic() resends)
                self.done = b""
                self.router.discovery.polls += (self.poll,)
        else:
            self.dropped += 1  # sent once, not tracked
        self._send(wait, f)
        return n

    def _send(self, wait, f):
        mask = 0
        for sid in wait.values():
            s = self.router.sides[sid]
            if s is not None and s.egress:
                mask |= 1 << sid
        if mask:
            self.router._send(mask, f, len(f), False)

    def _forget(self, ty):
        p = self.pending.pop(ty, None)
        if p is not None:
            self.bytes -= p[_PCOST]
            self.router._budget.give(p[_PCOST])

    def poll(self, now_ms):
        """Resend what is due (discovery's periodic step calls this)."""
        if not self.pending:
            return  # (nothing waits: no allocation)
        every, most = _retry()
        for ty in list(self.pending):
            p = self.pending[ty]
            if now_ms < p[_DUE]:
                continue
            if p[_TRIES] >= most:
                self._forget(ty)
                self.given_up += 1
                continue
            p[_TRIES] += 1
            p[_DUE] = now_ms + every
            self.resent += 1
            self._send(p[_WAIT], p[_FRAME])

    def on_ack(self, hdr, data):
        """An E2E ACK (targets: the holder, then the push's origin; payload: the packet ID)
        of a push in flight: True when it was one (a relayed push's ACK stops here)."""
        p0 = hdr.payload_start
        if hdr.payload_end - p0 != 8 or self.done is None:
            return False
        acker = hdr.contract_targets(data)
        if not acker:
            return False
        acker = acker[0]
        pid = bytes(data[p0:p0 + 8])
        if pid == self.done:
            return True  # a late copy for a push every holder has ACKed
        for ty in list(self.pending):
            p = self.pending[ty]
            if p[_PID] == pid:
                p[_WAIT].pop(acker, None)
                if not p[_WAIT]:
                    self._forget(ty)
                    self.done = p[_PID]
                    up = p[_UP]
                    if up is not None:  # every holder behind us has it: ACK upstream
                        h = self.hdr
                        h.parse(up[1], len(up[1]), True)
                        self.router._e2e_ack(up[0], h, up[1])
                return True
        return False

    def stats(self, out):
        out["holders"] = len(self.holders)
        out["pushes_pending"] = len(self.pending)
        out["pushes_sent"] = self.sent
        out["push_resends"] = self.resent
        out["pushes_given_up"] = self.given_up
        out["push_state_dropped"] = self.dropped


def _with_contract(h, frame, targets):
    """The parsed frame again with 4.2.7's push contract: cflags 03 (targets, shape), the
    type's shape byte (+ element count when static), the target hashes as u64le."""
    rec = type_record(h.ty)
    c = bytearray()
    c.append(0x03)
    c.append(rec[R_MDT] | (rec[R_CLASS] << 4) | (0x40 if rec[R_STATIC] else 0))
    if rec[R_STATIC]:
        _uleb(c, rec[R_COUNT])
    _uleb(c, len(targets))
    for t in targets:
        for i in range(8):
            c.append((t >> (8 * i)) & 0xFF)
    payload = frame[h.payload_start:h.payload_end]
    eps = h.endpoints
    n = h.ep_count
    ep_bytes = 0
    for i in range(n):
        ep_bytes += uleb_len(eps[i])
    buf = bytearray(frame_size(ep_bytes, h.ty, h.src_addr, h.timestamp_ms, h.nonce,
                               len(payload), len(c)))
    pack_into(buf, h.ty, h.src_addr, eps, h.timestamp_ms, h.nonce, payload, c, n_eps=n)
    return buf


def _uleb(out, v):
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def heard(ann, sid, src, rec, name, types):
    """Announcer hook (a Router's ADDRESS from src on side sid)."""
    from .netvar import of
    if of(ann.node).pushes().heard(sid, src, rec, name, types):
        ann.changed = True  # our ADDRESS lists on the other sides what holders list


def toward(relay, src, hdr, data, n):
    """A Relay's frame with a contract naming its targets (a push): sent to the sides where
    an announcer with a target's hostname was heard, other than src; returns the endpoint
    mask as held (nothing more to route), or 0 when no target is known (routed as usual)."""
    if hdr.ty <= _SEDSNET_P2P_MESSAGE:
        return 0
    targets = hdr.contract_targets(data)
    mask = 0
    for sid, st in relay.discovery.sides.items():
        if sid == src:
            continue
        for rec in st[_ANN].values():
            name = rec[1]  # announce_table.NAME: the hostname its ADDRESS gave
            if name is not None and ids.sender_hash(str(name, "utf-8")) in targets:
                mask |= 1 << sid
                break
    if not mask:
        return 0
    relay._send(mask & eligible(relay, src, hdr.ty), data, n, True)
    return (1 << hdr.ep_count) - 1
