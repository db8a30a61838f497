# Network variables (verified-4.2.7.md "Network variables"): a per-Router cache of the last
# frame of each variable type, permissions, the update callback, MANAGED_VARIABLE_REQUEST (13,
# payload u32le ty) sent by get/request and answered from the cache by replaying the cached
# frame on the asking side. Loaded on the first network-variable call of a Router.
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
        self.announce = []  # types enabled or watched: the ADDRESS announcement's list

    def listed(self):
        return self.announce

    def _list(self, ty):
        if ty not in self.announce:
            self.announce.append(ty)
            self.announce.sort()

    def _entry(self, ty, create=True):
        opt_int(ty, "ty", 0xFFFFFFFF)
        e = self.vars.get(ty)
        if e is None and create:
            if len(self.vars) >= MAX_VARS:
                raise ArgumentError("ty: at most %d network variables per router" % MAX_VARS)
            if not self.router._budget.take(_ENTRY):
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
        e = self._entry(ty)
        old = e[_FRAME]
        b = self.router._budget
        if old is not None:
            b.give(len(old))
        if not b.take(len(frame)):
            e[_FRAME] = None
            raise BudgetError("network variable %d: %d bytes do not fit max_queue_budget"
                              % (ty, len(frame)))
        e[_FRAME] = frame
        e[_AT] = self.router.now_ms()
        return e, old

    def set_network_variable(self, packet):
        from .engine import packed_of
        frame = bytes(packed_of(packet))
        ty = packet.ty
        self._may(ty, _WRITE)
        self._store(ty, frame)  # no callback on the setter, as 4.2.7
        self.router.transmit_packed_message(frame)

    def seed_managed_variable(self, packet):
        """Fill the cache without sending (a managed variable's first value)."""
        from .engine import packed_of
        ty = packet.ty
        self._may(ty, _WRITE)
        self._store(ty, bytes(packed_of(packet)))

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
        e = self.vars.get(ty)
        if e is None or e[_FRAME] is None or not e[_WRITE]:
            return
        f = e[_FRAME]
        router = self.router
        from .schema import R_E2E, type_record
        rec = type_record(ty)
        if rec is not None and (rec[R_E2E] or router._opts[10] == 3):
            from .e2e_frame import seal_packed
            try:
                f = seal_packed(router, rec, f)  # the cache holds the opened frame
            except SedsError:
                return  # no key for a type that must be sealed: no answer
        router._send(1 << sid, f, len(f), False)

    def on_data(self, src, hdr, data, n):
        """User data of a variable type reached this router: cache it, and call the update
        callback when the value (timestamp or payload) changed. A push addressed to us (a
        contract naming us, what 4.2.7 sends to the nodes that announce the type) is
        E2E-ACKed here when no handler would ACK it, or 4.2.7 resends it every 200 ms."""
        e = self.vars.get(hdr.ty)
        if e is None:
            return
        router = self.router
        if hdr.contract_start >= 0 and src != LOCAL and not router._holds(hdr):
            router._e2e_ack(src, hdr, data)
        frame = bytes(data[:n])
        old = e[_FRAME]
        if old is not None and _same_value(old, frame):
            e[_AT] = self.router.now_ms()
            return
        self._store(hdr.ty, frame)
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
