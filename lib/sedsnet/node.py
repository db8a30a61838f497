# What Router and Relay share beyond the per-frame engine (engine.py): construction (queues in
# one budget, ID cache, discovery), identity, sides, route rules, periodic() and the exports.
from . import ids, schema
from .compat import MonotonicMs, const
from .engine import Engine, Side, _Views
from .errors import ArgumentError
from .isr import IsrRing
from .recent import RecentIds
from .ring import FrameRing, QueueBudget
from .routes import FAILOVER, FANOUT, LOCAL, MAX_SIDES, WEIGHTED, Routes
from .wire import FrameHeader

DEFAULT_QUEUE_BUDGET = const(102400)  # the reference's MAX_QUEUE_BUDGET
DEFAULT_RECENT_IDS = const(128)
DEFAULT_QUEUE_START = const(1024)  # bytes per ring before it grows
DEFAULT_DISCOVERY_PEERS = const(32)  # announcers (and TOPOLOGY boards) a node remembers
_WORK = const(512)  # initial work buffer; grows (rarely) for a longer queued frame


class Node(Engine):
    kind = "node"
    rel = None  # reliable.HopReliable, made with the first reliable side

    def __init__(self, now_ms=None, hostname=None, max_queue_budget=None, max_recent_rx_ids=None,
                 starting_queue_size=None, queue_grow_step=None, discovery=None,
                 max_discovery_peers=None):
        if now_ms is None:
            now_ms = MonotonicMs()
        elif not callable(now_ms):
            raise ArgumentError("now_ms must be a callable clock (int ms), not %s" % _tn(now_ms))
        self._clock = now_ms
        self.now_ms = self._now  # every reader (engine, discovery) gets a checked int
        self.address_mode = 0
        self.requested_address = 0
        self._set_name(hostname if hostname is not None else self._default_name())
        # limits as 4.2.7 checks them: integers >= 1 (0 is "bad memory limits" there), a
        # starting queue no bigger than the budget, a grow step (int or float) >= 1
        total = _limit(max_queue_budget, DEFAULT_QUEUE_BUDGET, "max_queue_budget")
        start = _limit(starting_queue_size, DEFAULT_QUEUE_START, "starting_queue_size")
        if start > total:
            raise ArgumentError("starting_queue_size %d exceeds max_queue_budget %d"
                                % (start, total))
        nids = _limit(max_recent_rx_ids, DEFAULT_RECENT_IDS, "max_recent_rx_ids")
        step = _grow_step(queue_grow_step)
        peers = _limit(max_discovery_peers, DEFAULT_DISCOVERY_PEERS, "max_discovery_peers")
        self.budget = QueueBudget(total)
        self._schema_bytes = schema.schema_bytes_used()
        # 4.2.7 caps the ID cache at the budget; we cap it at what the budget has left after
        # the schema and the starting queue (never below one ID)
        room = (total - self._schema_bytes - start) // 8
        self.recent = RecentIds(nids if nids <= room else max(1, room))
        # the ID cache is reserved in full, as the reference does; the IRQ-side RX ring is
        # fixed; the RX/TX rings start at `start` bytes (or what is left) and grow in budget
        if not (isinstance(start, int) and start > 0
                and self.budget.take(self.recent.nbytes() + self._schema_bytes + start)):
            raise ArgumentError("bad memory limits: max_queue_budget %d cannot hold the ID "
                                "cache, the schema and a %r-byte queue"
                                % (self.budget.total, start))
        self.isr = IsrRing(start)
        self.rx = FrameRing(start, self.budget, step)
        self.tx = FrameRing(start, self.budget, step)
        self.rx_rings = (self.isr, self.rx)  # drained in this order (no tuple per call)
        self.hdr = FrameHeader(max_endpoints=32)
        self.ctrl_hdr = None  # made on the first control frame we send
        self.pid = bytearray(8)
        self.ack_payload = bytearray(8)
        self.ack_frame = bytearray(48)  # hop ACKs: 8-byte payload, u64 timestamp at most
        self.ack_views = _Views(self.ack_frame)
        self.local_rx_dropped = 0  # bad frames the application queued (receive_packed_queue)
        self.work = bytearray(_WORK)  # a queued frame is copied here before it is handled
        self.work_views = _Views(self.work)
        self.sides = []
        self.routes = Routes()
        self.busy = False
        self.nested = False
        self.warned = False
        self.discovery = None
        if discovery or discovery is None:
            try:
                from .announce import Announcer
            except ImportError:
                if discovery:
                    raise
                Announcer = None  # a build without announce.py: flood instead
            if Announcer is not None:
                self.discovery = Announcer(self, max_boards=peers, max_peers=peers)

    # ---- clock ----------------------------------------------------------------------------
    def _now(self):
        """The user's clock, checked: a clock that raises or returns no u64 int is an
        ArgumentError at the call that read it (the node's state is left as it was)."""
        try:
            t = self._clock()
        except Exception as e:
            raise ArgumentError("now_ms clock failed: %r" % (e,))
        if not isinstance(t, int) or t < 0 or t > 0xFFFFFFFFFFFFFFFF:
            raise ArgumentError("now_ms clock returned %r, not an int of ms (u64)" % (t,))
        return t

    # ---- identity -------------------------------------------------------------------------
    def _default_name(self):
        return self.default_hostname

    def _set_name(self, hostname):
        if not isinstance(hostname, str) or not hostname:
            raise ArgumentError("hostname must be a non-empty str, not %r" % (hostname,))
        self.hostname = hostname
        self.src_addr = ids.source_address(hostname)
        self.sender_hash = ids.sender_hash(hostname)  # wire-contract targets naming us
        self.e2e_src = ids.source_address("E2EACK:" + hostname)  # sender of our E2E ACKs
        if self.address_mode == 0:  # a requested/static address survives a rename (4.2.7)
            self.address = ids.node_address(hostname)
        ids.remember_sender(hostname, self.src_addr)

    @property
    def sender_id(self):
        return self.hostname

    def set_sender_id(self, sender_id):
        if not isinstance(sender_id, str) or not sender_id:
            raise ArgumentError("sender_id must be a non-empty str, not %r" % (sender_id,))
        self._set_name(sender_id)

    @property
    def current_address(self):
        return self.address

    # ---- sides ----------------------------------------------------------------------------
    def add_side_packed(self, name, tx, reliable_enabled=False):
        return self._add_side(name, tx, reliable_enabled, False)

    def add_side_packet(self, name, tx, reliable_enabled=False):
        return self._add_side(name, tx, reliable_enabled, True)

    def _add_side(self, name, tx, reliable, packet_side):
        if not isinstance(name, str):
            raise ArgumentError("name: a side's name is a str, not %s" % _tn(name))
        if not callable(tx):
            raise ArgumentError("tx must be callable, not %s" % _tn(tx))
        flag(reliable, "reliable_enabled")
        sides = self.sides
        sid = 0
        while sid < len(sides) and sides[sid] is not None:
            sid += 1  # the reference reuses the lowest free side ID
        if sid >= MAX_SIDES:
            raise ArgumentError("at most %d sides" % MAX_SIDES)
        if packet_side:
            from . import packet  # noqa: F401  loaded now, not mid-flight in a fragmented heap
        side = Side(sid, name, tx, bool(reliable), packet_side)
        if reliable and self.rel is None:
            from .reliable import HopReliable
            self.rel = HopReliable(self)
        if sid == len(sides):
            sides.append(side)
        else:
            sides[sid] = side
        if self.discovery is not None:
            self.discovery.side_added(sid)
        return sid

    def _side(self, sid, what="side_id"):
        if not isinstance(sid, int) or not 0 <= sid < len(self.sides) or self.sides[sid] is None:
            raise ArgumentError("%s: invalid side id %r" % (what, sid))
        return self.sides[sid]

    def remove_side(self, side_id):
        self._side(side_id)
        if self.busy:  # from a handler or tx callback: the side may be in use right now
            raise ArgumentError("remove_side() cannot run inside a callback of this node")
        self.sides[side_id] = None  # first: from here on an IRQ cannot queue for it
        while self.sides and self.sides[-1] is None:
            self.sides.pop()
        self.isr.kill_tag(side_id)  # its queued frames must not pass for a new side's
        self.rx.kill_tag(side_id)
        self.routes.forget_side(side_id)
        if self.discovery is not None:
            self.discovery.side_removed(side_id)

    def side_ids(self):
        return [s.sid for s in self.sides if s is not None]

    def side_reliable(self, side_id):
        return self._side(side_id).reliable

    def set_side_ingress_enabled(self, side_id, enabled):
        self._side(side_id).ingress = flag(enabled, "enabled")

    def set_side_egress_enabled(self, side_id, enabled):
        self._side(side_id).egress = flag(enabled, "enabled")

    # ---- route rules ----------------------------------------------------------------------
    def _src(self, src_side_id):
        if src_side_id is None:
            return LOCAL
        return self._side(src_side_id, "src_side_id").sid

    def _key(self, src_side_id, dst_side_id):
        return self._src(src_side_id) * 256 + self._side(dst_side_id, "dst_side_id").sid

    def set_route(self, src_side_id, dst_side_id, enabled):
        self.routes.allow[self._key(src_side_id, dst_side_id)] = flag(enabled, "enabled")

    def clear_route(self, src_side_id, dst_side_id):
        self.routes.allow.pop(self._key(src_side_id, dst_side_id), None)

    def set_typed_route(self, src_side_id, ty, dst_side_id, enabled):
        k = self._key(src_side_id, dst_side_id)
        self.routes.typed.setdefault(_ty(ty), {})[k] = flag(enabled, "enabled")

    def clear_typed_route(self, src_side_id, ty, dst_side_id):
        t = self.routes.typed.get(_ty(ty))
        if t is not None:
            t.pop(self._key(src_side_id, dst_side_id), None)
            if not t:
                del self.routes.typed[ty]

    def set_source_route_mode(self, src_side_id, mode):
        if not isinstance(mode, int) or mode not in (FANOUT, WEIGHTED, FAILOVER):
            raise ArgumentError("mode: invalid route selection mode %r" % (mode,))
        self.routes.modes[self._src(src_side_id)] = int(mode)

    def clear_source_route_mode(self, src_side_id):
        self.routes.modes.pop(self._src(src_side_id), None)

    def set_route_weight(self, src_side_id, dst_side_id, weight):
        self.routes.weights[self._key(src_side_id, dst_side_id)] = _u32(weight, "weight")

    def clear_route_weight(self, src_side_id, dst_side_id):
        self.routes.weights.pop(self._key(src_side_id, dst_side_id), None)

    def set_route_priority(self, src_side_id, dst_side_id, priority):
        self.routes.prios[self._key(src_side_id, dst_side_id)] = _u32(priority, "priority")

    def clear_route_priority(self, src_side_id, dst_side_id):
        self.routes.prios.pop(self._key(src_side_id, dst_side_id), None)
    # ---- introspection (in stats.py: imported only when asked) ----------------------------
    def export_runtime_stats(self):
        from .stats import runtime_stats
        return runtime_stats(self)

    def export_memory_layout_json(self):
        """The reference's memory layout JSON (same keys): used bytes per area and the
        shared budget as every area's allocation ceiling."""
        from .stats import memory_layout_json
        return memory_layout_json(self)


def _tn(v):
    return type(v).__name__


def _limit(v, default, what):
    if v is None:
        return default
    if not isinstance(v, int) or v < 1:
        raise ArgumentError("%s must be an integer >= 1, not %r" % (what, v))
    return v


def _grow_step(v):
    if v is None:
        return 2
    if not isinstance(v, (int, float)) or not v >= 1 or v - v != 0:  # (NaN, inf)
        raise ArgumentError("queue_grow_step must be a finite number >= 1, not %r" % (v,))
    return v


def _u32(v, what):
    if not isinstance(v, int) or not 0 <= v <= 0xFFFFFFFF:
        raise ArgumentError("%s must be a u32, not %r" % (what, v))
    return v


def _ty(ty):
    if not isinstance(ty, int) or not 0 <= ty <= 0xFFFFFFFF:
        raise ArgumentError("ty: a data type is a u32, not %r" % (ty,))
    return ty


def opt_int(v, what, hi=0xFFFFFFFFFFFFFFFF):
    """A non-negative int argument (bools count, as in 4.2.7); else ArgumentError naming it."""
    if not isinstance(v, (int, bool)) or not 0 <= v <= hi:  # (MicroPython: bool is no int)
        raise ArgumentError("%s must be an int 0..%d, not %r" % (what, hi, v))
    return int(v)


def flag(v, what):
    """A bool argument (an int counts as its truth value); anything else is an ArgumentError."""
    if v is True or v is False:
        return v
    if not isinstance(v, int):
        raise ArgumentError("%s must be a bool, not %s" % (what, _tn(v)))
    return bool(v)
