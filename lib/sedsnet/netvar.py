# Network variables (verified-4.2.7.md "Network variables"): a per-Router cache of the last
# frame of each variable type, permissions, the update callback, MANAGED_VARIABLE_REQUEST (13,
# payload u32le ty) sent by get/request and answered from the cache by replaying the cached
# frame on the asking side. Pushes to the holders other nodes announce: netvar_push.py. Loaded
# on the first network-variable call of a Router (or a neighbour's ADDRESS listing a type).
from .compat import const
from .errors import ArgumentError, BudgetError, PermissionDenied, SedsError
from .node import flag, opt_int
from .routes import LOCAL

_REQUEST = const(13)
MAX_VARS = const(16)  # variable types per router (each entry and cached frame budget-charged)
_ENTRY = const(64)  # bytes charged per entry, on top of its cached frame
# entry fields
_READ = const(0)
_WRITE = const(1)
_FRAME = const(2)  # the cached frame (bytes) or None
_AT = const(3)  # now_ms() of the last cache write
_CB = const(4)


class NetVars:
    """One Router's network variables (Router.netvar); Router.__getattr__ hands out these
    methods under the reference's names."""

    def __init__(self, router):
        self.router = router
        self.vars = {}
        self.req = bytearray(4)
        self.announce = []  # types enabled, watched, set or asked for: our ADDRESS's list
        self.push = None  # netvar_push.Pushes, made with the first holder heard or push
        self.evicted = 0  # cached values dropped to make room in max_queue_budget
        self.dropped = 0  # received values not cached: no room even after evicting
        self.cached_bytes = 0

    def listed(self, side_id=-1):
        """Our ADDRESS's list on side_id: our types, and those the holders on the other
        sides list (a 4.2.7 Router lists them, takes their pushes and passes them on)."""
        push = self.push
        if push is None or not push.holders:
            return self.announce
        push._prune()
        out = set(self.announce)
        for key, h in push.holders.items():
            if key[0] != side_id:
                for t in h[2]:
                    out.add(t)
        return sorted(out)

    def pushes(self):
        if self.push is None:
            from .netvar_push import Pushes
            self.push = Pushes(self)
        return self.push

    def _list(self, ty):
        """List ty in our ADDRESS (4.2.7 lists what enable, on_update, set, seed and get
        name); a change is announced at once, before any push of it, to the peers heard
        (alone, 4.2.7 sends the value first and the change with the next announcement)."""
        if ty not in self.announce:
            self.announce.append(ty)
            self.announce.sort()
            disc = self.router.discovery
            if disc is not None:
                disc.changed = True
                if disc.routes:
                    disc.periodic(self.router.now_ms())

    def _entry(self, ty, create=True):
        opt_int(ty, "ty", 0xFFFFFFFF)
        e = self.vars.get(ty)
        if e is None and create:
            if len(self.vars) >= MAX_VARS:
                raise ArgumentError("ty: at most %d network variables per router" % MAX_VARS)
            if not self._room(_ENTRY):
                raise BudgetError("network variable %d does not fit max_queue_budget" % ty)
            e = self.vars[ty] = [True, True, None, 0, None]
        return e

    def _may(self, ty, which):
        e = self.vars.get(ty)  # a type never enabled is read+write, as 4.2.7
        if e is not None and not e[which]:
            raise PermissionDenied("PermissionDenied: network variable %d is not %s" % (
                ty, "readable" if which == _READ else "writable"))
        return e

    def enable_network_variable(self, ty, can_read, can_write):
        rd = flag(can_read, "can_read")
        wr = flag(can_write, "can_write")
        e = self._entry(ty)
        e[_READ] = rd
        e[_WRITE] = wr
        self._list(ty)

    def on_network_variable_update(self, ty, cb):
        if cb is not None and not callable(cb):
            raise ArgumentError("callback must be callable or None")
        self._entry(ty)[_CB] = cb
        self._list(ty)

    def _store(self, ty, frame):
        """Cache frame for ty, charged to max_queue_budget; when it is full the least
        recently written values of other variables are dropped first (counted in
        evicted); BudgetError if even that leaves no room."""
        e = self._entry(ty)
        old = e[_FRAME]
        b = self.router._budget
        if old is not None:
            b.give(len(old))
            self.cached_bytes -= len(old)
            e[_FRAME] = None
        if not self._room(len(frame)):
            if old is not None and b.take(len(old)):
                e[_FRAME] = old  # (the value it had stays)
                self.cached_bytes += len(old)
            raise BudgetError("network variable %d: %d bytes do not fit max_queue_budget"
                              % (ty, len(frame)))
        self.cached_bytes += len(frame)
        e[_FRAME] = frame
        e[_AT] = self.router.now_ms()
        return e, old

    def _room(self, n):
        """Take n bytes of max_queue_budget, dropping the least recently written cached
        values (counted in evicted) until they fit; False when they never do."""
        b = self.router._budget
        while not b.take(n):
            victim = None
            for v in self.vars.values():
                if v[_FRAME] is not None and (victim is None or v[_AT] < victim[_AT]):
                    victim = v
            if victim is None:
                return False
            b.give(len(victim[_FRAME]))
            self.cached_bytes -= len(victim[_FRAME])
            victim[_FRAME] = None
            self.evicted += 1
        return True

    def cache_len(self):
        n = 0
        for e in self.vars.values():
            if e[_FRAME] is not None:
                n += 1
        return n

    def memory_bytes(self):
        """What the variables hold against max_queue_budget: entries, cached frames, the
        holders heard and the pushes awaiting ACKs."""
        n = _ENTRY * len(self.vars) + self.cached_bytes
        return n + (self.push.bytes if self.push is not None else 0)

    def stats(self):
        """export_runtime_stats()["network_variables"] (ours)."""
        out = {"variables": len(self.vars), "max_variables": MAX_VARS,
               "cached": self.cache_len(), "cached_bytes": self.cached_bytes,
               "evicted": self.evicted, "dropped": self.dropped, "bytes": self.memory_bytes()}
        if self.push is not None:
            self.push.stats(out)
        return out

    def set_network_variable(self, packet):
        from .engine import packed_of
        frame = bytes(packed_of(packet))
        ty = packet.ty
        self._may(ty, _WRITE)
        self._store(ty, frame)  # no callback on the setter, as 4.2.7
        self._list(ty)
        d = self.router.discovery
        if d is None or not d.routes:
            # nobody announced (4.2.7 too) or no discovery (ours): sent as ordinary data
            self.router.transmit_packed_message(frame)
        elif not self.pushes().push(frame):  # to the holders announced; none: nothing sent,
            self.sealed(ty, frame)  # but 4.2.7 still refuses a type it could not seal

    def seed_managed_variable(self, packet):
        """Fill the cache without sending (a managed variable's first value)."""
        from .engine import packed_of
        ty = packet.ty
        self._may(ty, _WRITE)
        self._store(ty, bytes(packed_of(packet)))
        self._list(ty)

    def _packet(self, ty):
        e = self._may(ty, _READ)
        if e is None or e[_FRAME] is None:
            return e, None
        from .packet import unpack_packet
        return e, unpack_packet(e[_FRAME])

    def cached_network_variable(self, ty):
        opt_int(ty, "ty", 0xFFFFFFFF)
        return self._packet(ty)[1]

    def get_network_variable(self, ty, stale_after_ms=None):
        opt_int(ty, "ty", 0xFFFFFFFF)
        if stale_after_ms is not None:
            opt_int(stale_after_ms, "stale_after_ms")
        e, pkt = self._packet(ty)
        if e is None:
            e = self._entry(ty)  # asked for: its refresh reply fills the cache
        self._list(ty)
        if pkt is None or (stale_after_ms is not None
                           and self.router.now_ms() - e[_AT] >= stale_after_ms):
            self.request_managed_variable(ty)
        return pkt

    def request_managed_variable(self, ty):
        """MANAGED_VARIABLE_REQUEST for ty on every side we may send on."""
        self._entry(ty)
        r = self.req
        for i in range(4):
            r[i] = (ty >> (8 * i)) & 0xFF
        router = self.router
        for s in router.sides:
            if s is not None and s.egress:
                router.send_control(s.sid, _REQUEST, r)

    # ---- from the engine --------------------------------------------------------------------
    def on_request(self, sid, hdr, data):
        """A MANAGED_VARIABLE_REQUEST from side sid: replay our cached frame there (if we may
        write it); the engine floods the request on."""
        p = hdr.payload_start
        if hdr.payload_end - p != 4:
            return
        ty = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
        self.replay(sid, ty)

    def sealed(self, ty, f):
        """f as it goes out: sealed when the type or e2e_mode wants E2E (E2EError where
        4.2.7 refuses), else f."""
        from .schema import R_E2E, type_record
        rec = type_record(ty)
        if rec is not None and (rec[R_E2E] or self.router._opts[10] == 3):
            from .e2e_frame import seal_packed
            f = seal_packed(self.router, rec, f)  # the cache holds the opened frame
        return f

    def replay(self, sid, ty):
        """Our cached value of ty on side sid as cached (a refresh answer, or a side that
        starts listing ty), if we may write it; a type that must be sealed but cannot be
        is not sent."""
        e = self.vars.get(ty)
        if e is None or e[_FRAME] is None or not e[_WRITE]:
            return
        try:
            f = self.sealed(ty, e[_FRAME])
        except SedsError:
            return
        self.router._send(1 << sid, f, len(f), False)

    def on_repeat(self, sid, hdr, data):
        """A push naming us seen again (reliable_e2e.repeat): our E2E ACK was lost, so ACK
        again (4.2.7 holders answer every copy), unless we passed it on and the holders
        behind us have not all ACKed yet."""
        p = self.push
        if p is not None:
            q = p.pending.get(hdr.ty)
            if q is not None and q[6] is not None and q[6][0] == sid:
                return
        if self.vars.get(hdr.ty) is not None or p is not None:
            self.router._e2e_ack(sid, hdr, data)

    def on_ack(self, hdr, data):
        """An E2E ACK (control.dispatch): True when it acknowledges a push we sent or
        passed on (it names the push's origin, not us, when we passed it on)."""
        return self.push is not None and self.push.on_ack(hdr, data)

    def on_data(self, src, hdr, data, n):
        """User data of a variable type reached this router: cache it, and call the update
        callback when the value (timestamp or payload) changed. A push addressed to us (a
        contract naming us, what 4.2.7 sends to the nodes that announce the type) is
        E2E-ACKed here when no handler would ACK it, or 4.2.7 resends it every 200 ms."""
        e = self.vars.get(hdr.ty)
        router = self.router
        if hdr.contract_start >= 0 and src != LOCAL:
            if self.push is not None and self.push.relay(src, hdr, data, n):
                pass  # passed on to the holders behind us, ACKed when they all have it
            elif e is not None and not router._holds(hdr):
                router._e2e_ack(src, hdr, data)
        if e is None:
            return
        frame = bytes(data[:n])
        old = e[_FRAME]
        if old is not None and _same_value(old, frame):
            e[_AT] = self.router.now_ms()
            return
        try:
            self._store(hdr.ty, frame)
        except BudgetError:
            self.dropped += 1  # (counted, never raised into the receive path)
            return
        cb = e[_CB]
        if cb is not None and e[_READ]:
            from .packet import unpack_packet
            try:
                cb(unpack_packet(frame))
            except Exception as ex:  # a user callback must not take the router down
                self.router._handler_failures += 1
                print("sedsnet: network variable callback for %d failed: %r" % (hdr.ty, ex))


def _same_value(a, b):
    from .packet import unpack_packet
    pa = unpack_packet(a)
    pb = unpack_packet(b)
    return pa.timestamp_ms == pb.timestamp_ms and pa.payload == pb.payload


def of(router):
    nv = router.netvar
    if nv is None:
        nv = router.netvar = NetVars(router)
    return nv
