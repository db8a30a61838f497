# What Router and Relay share beyond the per-frame engine (engine.py): construction (queues in
# one budget, ID cache, discovery), identity, sides and the exports; route rules and the rarely
# called side calls in node_calls.py.
from . import ids, schema
from .compat import MonotonicMs, const
from .engine import Engine, Side, _ctl
from .errors import ArgumentError
from .isr import IsrRing
from .queues import _Views
from .recent import RecentIds
from .ring import FrameRing, QueueBudget
from .routes import FAILOVER, FANOUT, LOCAL, MAX_SIDES, WEIGHTED, Routes
from .wire import FrameHeader

_isinstance = isinstance  # (the clock check's builtins: module globals are looked up first)
_int = int

DEFAULT_QUEUE_BUDGET = const(102400)  # the reference's MAX_QUEUE_BUDGET
DEFAULT_RECENT_IDS = const(128)
DEFAULT_QUEUE_START = const(1024)  # bytes per ring before it grows
DEFAULT_DISCOVERY_PEERS = const(32)  # announcers (and TOPOLOGY boards) a node remembers
_WORK = const(512)  # initial work buffer; grows (rarely) for a longer queued frame
# the public methods of node_calls.py: one str, no qstrs
_CALLS = (" remove_side set_side_ingress_enabled set_side_egress_enabled set_route clear_route"
          " set_typed_route clear_typed_route clear_source_route_mode set_route_weight"
          " clear_route_weight set_route_priority clear_route_priority process_rx_queue_with_timeout"
          " process_tx_queue_with_timeout clear_rx_queue clear_tx_queue clear_queues export_topology"
          " client_stats announce_discovery announce_leave ")


class Node(Engine):
    """State and API shared by Router and Relay. Public instance attributes, read by feature
    modules (discovery, reliable, time sync, E2E), never written by them: hostname, src_addr
    (header source address), sender_hash (u64, wire-contract targets), e2e_src, now_ms (the
    checked clock), sides (Side or None per side ID), discovery (the Announcer or None).
    Everything else is internal (leading underscore)."""

    kind = "node"
    e2o = None  # reliable_origin.Origin, made by the first reliable log to a known holder

    def __init__(self, now_ms=None, hostname=None, max_queue_budget=None, max_recent_rx_ids=None,
                 starting_queue_size=None, queue_grow_step=None, discovery=None,
                 max_discovery_peers=None):
        if now_ms is None:
            now_ms = MonotonicMs()
        elif not callable(now_ms):
            raise ArgumentError("now_ms must be a callable clock (int ms), not %s" % _tn(now_ms))
        self._clock = now_ms
        self._relay = self.kind == "relay"  # (read per frame: an instance attribute)
        # (instance attributes, not class defaults: each is read per frame, and a class default
        # is found only after a miss in this instance's attribute table)
        self.rel = None  # reliable.HopReliable, made with the first reliable side
        self.netvar = None  # a Router's network variables (netvar.py), made by its first such call
        self.ts = None  # a Router's timesync.TimeSync, when time sync is on
        self.now_ms = self._now  # every reader (engine, discovery) gets a checked int
        self._address_mode = 0
        self._requested_address = 0
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
        self._budget = QueueBudget(total)
        self._schema_bytes = schema.schema_bytes_used()
        # 4.2.7 caps the ID cache at the budget; we cap it at what the budget has left after
        # the schema and the starting queue (never below one ID)
        room = (total - self._schema_bytes - start) // 8
        self._recent = RecentIds(nids if nids <= room else max(1, room))
        # the ID cache is reserved in full, as the reference does; the IRQ-side RX ring is
        # fixed; the RX/TX rings start at `start` bytes (or what is left) and grow in budget
        if not (isinstance(start, int) and start > 0
                and self._budget.take(self._recent.nbytes() + self._schema_bytes + start)):
            raise ArgumentError("bad memory limits: max_queue_budget %d cannot hold the ID "
                                "cache, the schema and a %r-byte queue"
                                % (self._budget.total, start))
        self._isr = IsrRing(start)
        self._rx = FrameRing(start, self._budget, step)
        self._tx = FrameRing(start, self._budget, step)
        self._rx_rings = (self._isr, self._rx)  # drained in this order (no tuple per call)
        self._hdr = FrameHeader(max_endpoints=32)
        self._ctrl_hdr = None  # made on the first control frame we send
        self._pid = bytearray(8)
        self._ack_payload = bytearray(8)
        self._ack_frame = bytearray(48)  # hop ACKs: 8-byte payload, u64 timestamp at most
        self._ack_views = _Views(self._ack_frame)
        self._local_rx_dropped = 0  # bad frames the application queued (receive_packed_queue)
        self._work = bytearray(_WORK)  # a queued frame is copied here before it is handled
        self._work_views = _Views(self._work)
        self.sides = []
        self._emask = -1  # bitmask of the egress sides; -1: to be worked out (forward._egress)
        self._sdt_on = False  # add_side_packed_profile: sdt.expire_all
        self._routes = Routes()
        self._busy = False
        self._nested = False
        self._warned = False
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
                _ctl()  # control.py now (discovery sends control frames): not mid-flight

    # ---- clock ----------------------------------------------------------------------------
    def _now(self):
        """The user's clock, checked: a clock that raises or returns no u64 int is an
        ArgumentError at the call that read it (the node's state is left as it was)."""
        # (at most 11 words of call state: MicroPython takes a bigger frame from the heap on
        # every call, and this runs for every frame; the hot functions keep to that)
        try:
            t = self._clock()
        except Exception:  # (no "as e": that is a second handler, 3 more words)
            raise ArgumentError("now_ms clock failed (raised)")
        if _isinstance(t, _int) and 0 <= t and (t < 0x3FFFFFFF or t <= 0xFFFFFFFFFFFFFFFF):
            return t  # (a small int is checked without a compare against a heap int)
        raise ArgumentError("now_ms clock returned %r, not an int of ms (u64)" % (t,))

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
        if self._address_mode == 0:  # a requested/static address survives a rename (4.2.7)
            self._address = ids.node_address(hostname)
        ids.remember_sender(hostname, self.src_addr)

    # sender_id and current_address: through __getattr__, not properties. A class with a
    # property makes MicroPython look the class up on every attribute store of its instances
    # and check every method it loads for a descriptor (the per-frame path does many of both).
    def __getattr__(self, name):
        if name == "sender_id":  # the node's sender name (hostname)
            return self.hostname
        if name == "current_address":  # the node address (DISCOVERY_ADDRESS's value)
            return self._address
        if _CALLS.find(" " + name + " ") >= 0:
            from .node_calls import bound
            return bound(self, name)
        raise AttributeError(name)

    def set_sender_id(self, sender_id):
        """Rename the node (sender name and address). ArgumentError for an empty or non-str name."""
        if not isinstance(sender_id, str) or not sender_id:
            raise ArgumentError("sender_id must be a non-empty str, not %r" % (sender_id,))
        self._set_name(sender_id)

    # ---- sides ----------------------------------------------------------------------------
    def add_side_packed(self, name, tx, reliable_enabled=False):
        """Add a side whose tx(frame) gets packed frames (a memoryview valid during the call);
        returns its side ID. ArgumentError for a bad name/callback or more than 30 sides."""
        return self._add_side(name, tx, reliable_enabled, False)

    def add_side_packed_profile(self, name, tx, reliable_enabled=False, profile="ipv6_like",
                                max_frame_bytes=0, compact_header_target_bytes=0,
                                max_side_transport_templates=64):
        """A packed side with a side-transport profile (canonical, template, ipv6_like,
        ipv4_like): compact SDT frames and chunks of at most max_frame_bytes (0: no limit)."""
        from .sdt import add_profiled_side
        return add_profiled_side(self, name, tx, reliable_enabled, profile, max_frame_bytes,
                                 compact_header_target_bytes, max_side_transport_templates)

    def add_side_packet(self, name, tx, reliable_enabled=False):
        """Add a side whose tx(packet) gets Packet objects; returns its side ID. ArgumentError as
        add_side_packed."""
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
        if reliable:
            _ctl()  # control.py (hop ACKs) loaded now, for the same reason
        side = Side(sid, name, tx, bool(reliable), packet_side)
        if reliable and self.rel is None:
            from .reliable import HopReliable
            self.rel = HopReliable(self)
        if sid == len(sides):
            sides.append(side)
        else:
            sides[sid] = side
        self._emask = -1  # (engine's egress mask, worked out again)
        if self.discovery is not None:
            self.discovery.side_added(sid)
        return sid

    def _side(self, sid, what="side_id"):
        if not isinstance(sid, int) or not 0 <= sid < len(self.sides) or self.sides[sid] is None:
            raise ArgumentError("%s: invalid side id %r" % (what, sid))
        return self.sides[sid]

    def side_ids(self):
        """The IDs of the sides in use."""
        return [s.sid for s in self.sides if s is not None]

    def side_reliable(self, side_id):
        """Whether side_id was added with reliable_enabled. ArgumentError for an unknown side."""
        return self._side(side_id).reliable

    # ---- route rules (the others in node_calls.py) ----------------------------------------
    def _src(self, src_side_id):
        if src_side_id is None:
            return LOCAL
        return self._side(src_side_id, "src_side_id").sid

    def set_source_route_mode(self, src_side_id, mode):
        """Route selection mode of src_side_id: FANOUT 0, WEIGHTED 1, FAILOVER 2. ArgumentError for
        a bad side or mode."""
        if not isinstance(mode, int) or mode not in (FANOUT, WEIGHTED, FAILOVER):
            raise ArgumentError("mode: invalid route selection mode %r" % (mode,))
        self._routes.modes[self._src(src_side_id)] = int(mode)
        self._rule_changed(src_side_id, True)

    def _rule_changed(self, src_side_id, reset):
        # what a rule call does beside setting the rule, as 4.2.7's (docs/router-interop.md
        # section 9): on a Router it is a discovery change (a 3-round ADDRESS burst on every
        # side); a mode or weight call (reset) restarts the source's route cursor
        if reset:
            self._routes.cursor.pop(self._src(src_side_id), None)
        if self.discovery is not None and self.kind != "relay":
            self.discovery.changed = True  # (4.2.7's Relay has no rule calls to copy)

    # ---- introspection (in stats.py: imported only when asked) ----------------------------
    def export_runtime_stats(self):
        """A dict of counters and state as 4.2.7 exports them (sides, queues, routes, discovery)."""
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
