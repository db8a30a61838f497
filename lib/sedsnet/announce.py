# The announce half of discovery, enough for a sedsnet 4.2.7 router to send us data and to use us
# as a hop: the Announcer a Router or Relay runs (reference cadence, answers to requests, learned
# reachability with split horizon). Payload codecs live in announce_codec (re-exported here).
# Behaviour and numbers: docs/router-interop.md; layouts: shared/protocol/control-payloads.md.
from .announce_codec import (  # noqa: F401 (re-exported)
    A_ADDRESS, A_BIRTH, A_ENDPOINTS, A_HOSTNAME, A_LINK, A_MODE, A_NETVARS, A_OWNER,
    A_REQUESTED, A_STATE, A_TIMESYNC, A_VERSION, EMPTY_SCHEMA, LINK_PLAIN, LINK_RELIABLE,
    Reader, Writer, address_payload, announce_payload, board, identity, link_caps_payload,
    parse_address, parse_announce, parse_link_caps, parse_topology, to_bytes,
    topology_delta_payload, topology_full_payload)
from .compat import const
from .announce_table import (  # the record layouts (announce_table.py)
    SEEN as _SEEN, NAME as _NAME, EPS as _EPS, BOARDS as _BOARDS, REQ as _REQ, AEPS as _AEPS, ANN as _ANN, REACH as _REACH, TOLD as _TOLD, HB as _HB, NEW as _NEW, DELTA as _DELTA, PEND as _PEND, SCOST as _SCOST, PeerTable)
from .ids import source_address

# consts.py's control type codes (const() folds only names of the module itself)
_SEDSNET_DISCOVERY_ANNOUNCE = const(7)
_SEDSNET_DISCOVERY_TIMESYNC_SOURCES = const(8)
_SEDSNET_DISCOVERY_TOPOLOGY = const(9)
_SEDSNET_DISCOVERY_SCHEMA = const(10)
_SEDSNET_DISCOVERY_TOPOLOGY_REQUEST = const(11)
_SEDSNET_DISCOVERY_SCHEMA_REQUEST = const(12)
_SEDSNET_DISCOVERY_LEAVE = const(15)
_SEDSNET_DISCOVERY_LINK_CAPABILITIES = const(16)
_SEDSNET_DISCOVERY_ADDRESS = const(17)
_SEDSNET_MANAGED_VARIABLE_REQUEST = const(13)
_SEDSNET_MANAGED_VARIABLE_VALUE = const(14)

ROUTER_HOSTNAME = "TEST_PLATFORM"  # a reference Router's sender without hostname (its device id)
RELAY_HOSTNAME = "RELAY"

# Reference 4.2.7 timing (docs/router-interop.md, host_tests/test_reference_router_facts.py)
TTL_MS = const(30000)  # learned reachability dies when not heard for more than this
HEARTBEAT_MS = const(15000)  # empty ANNOUNCE this long after the last full announcement
BURST_GAPS = (250, 500)  # a change is announced 3 times: now, +250 ms, +500 ms after that
REQUEST_DELAY_MS = const(1000)  # TOPOLOGY_REQUEST to a new announcer without a full snapshot
REQUEST_REPEAT_MS = const(5000)

_instances = [0]  # process-wide, like the reference's router instance counter


# ---- the Announcer --------------------------------------------------------------------------


class Announcer(PeerTable):
    """Makes a node visible to reference routers and learns what is reachable behind each side.

    node gives hostname, address, now_ms(), local_endpoints(), side_ids(), side_reliable(s),
    send_control(s, ty, payload), and kind ("relay" for a Relay).
    """

    def __init__(self, node, max_boards=32, instance=None, max_peers=32):
        self.node = node
        self.relay = getattr(node, "kind", "") == "relay"
        if instance is None:
            _instances[0] += 1
            instance = _instances[0]
        self.instance = instance  # folded into birth and owner hash, as the reference does
        self.created_ms = node.now_ms()
        # bounded state (docs: README "Discovery memory"): at most max_peers announcers
        # on all sides (the least recently heard is evicted for a new one) and max_boards
        # TOPOLOGY boards; their bytes are charged to the node's queue budget
        self.max_boards = max_boards
        self.max_peers = max_peers
        self.budget = getattr(node, "_budget", None)
        self.dropped = 0  # boards not stored because max_boards was reached
        self.evicted = 0  # announcers forgotten to make room (peers or budget)
        self.boards = 0  # boards stored, all announcers
        self.bytes = 0  # what the records cost (memory_bytes())
        self.w = Writer(256)
        self.sides = {}
        self._host = None
        self._local = None
        self._burst = -1  # index into the burst schedule; -1 idle
        self._burst_due = 0
        # what the node's idle poll reads before it calls periodic() (queues.py): a change to
        # announce, the next deadline, and features' resend timers (p2p_stream, netvar_push,
        # e2o) that periodic() calls every time
        self.changed = False
        self.wake = self.created_ms
        self.polls = ()
        self.hosts = {}  # hostname -> ADDRESS fields heard (resolve_hostname), bounded
        self.hosts_evicted = 0
        self.warned = False
        self.gen = 0  # bumped by every table change: paths.py's cache key
        self._paths = {}
        self.meters = {}  # side ID -> linkload.Meter (4.2.7's adaptive link stats)
        self.conflicts = 0  # requested/static addresses we gave up to an older claimant
        self.interval = 250  # 4.2.7's current_announce_interval_ms / next_announce_ms
        self.next_announce = 0
        self.routes = 0  # live announcers on all sides
        # (every attribute set here, none first set later: the instance's table is made
        # once, at boot, not grown by a 376-byte block in a full board heap at run time)
        self.netvar_seen = False  # an ADDRESS listed network variables: netvar_push.py follows
        self.reach_gen = 0  # bumped whenever a side's REACH changes
        self._masks = None  # endpoint -> bitmask of the sides that reach it, as of _masks_gen
        self._masks_gen = -1
        self.baselines_evicted = 0  # sides whose delta baselines were dropped for budget room
        self.queue_room = 0  # budget bytes the queues gave back for discovery records (_shed)
        self.schema_fallbacks = 0  # empty SCHEMA answers sent for lack of heap or link room
        self._identity()
        for s in node.side_ids():
            self.side_added(s)

    # ---- node facing ----------------------------------------------------------------------
    def side_added(self, side_id):
        self.sides[side_id] = st = [{}, {}, None, 0, True, None, None, 0]
        self._charge(st)
        self.changed = True
        if len(self.sides) > 1 and hasattr(self.node, "_routes"):  # (not a test's fake)
            from .linkload import Meter  # 2 sides: a choice between paths can come up
            for s in self.sides:
                if s not in self.meters:
                    self.meters[s] = Meter(self.node, self.node.sides[s])

    def side_removed(self, side_id):
        st = self.sides.pop(side_id, None)
        self.meters.pop(side_id, None)
        if st is not None and self.budget is not None:
            self.budget.give(st[_SCOST])  # (its records give theirs back in _forget)
        if st is not None and st[_ANN]:
            self.changed = True
            for src in list(st[_ANN]):
                self._forget(st, src)

    def origin(self, router, ty, rec, payload, ts, nonce, queue):
        """A reliable log of router (router_log.py): True when it went to the discovered
        holders with a wire contract (reliable_origin.py), False to send it hop by hop."""
        if not self.routes and router.e2o is None:
            return False  # nothing announced: no holder to name (and no module to load)
        try:
            from .reliable_origin import log
        except ImportError:  # a board without the sedsnet-reliable part: hop by hop
            return False
        return log(router, ty, rec, payload, ts, nonce, queue)

    def periodic(self, now_ms):
        """Send what is due; no allocation until the next deadline (a small function: a big
        frame would be heap-allocated on every call under MicroPython)."""
        if self.changed or now_ms >= self.wake:
            self._run(now_ms)
        for f in self.polls:
            f(now_ms)

    def _run(self, now_ms):
        self._identity()
        local = tuple(self.node.local_endpoints())
        if local != self._local:
            self._local = local
            self.changed = True
        for st in self.sides.values():
            anns = st[_ANN]
            dead = [a for a in anns if now_ms - anns[a][_SEEN] > TTL_MS]
            for a in dead:
                self._forget(st, a)
        fresh = []
        for sid, st in self.sides.items():
            if st[_NEW]:
                self._full(sid, st, now_ms, False)
                fresh.append(sid)
        if self.changed:
            self.changed = False
            self.interval = 250  # a change restarts the exported cadence too (4.2.7 Router)
            self._burst = 0
            self._burst_due = now_ms
            for sid, st in self.sides.items():
                st[_DELTA] = None if sid in fresh else self._delta(st, sid)
        if self._burst >= 0 and now_ms >= self._burst_due:
            sent = False
            for sid, st in self.sides.items():
                if st[_DELTA] is not None:
                    sent = True
                    self._head(sid)
                    if len(st[_DELTA]) > 12:  # not an empty delta (u32 0, 0 changed, 0 removed)
                        self.node.send_control(sid, _SEDSNET_DISCOVERY_TOPOLOGY, st[_DELTA])
            if sent:  # (a round with only fresh sides sends nothing and counts nothing)
                self._round(now_ms)
            if self._burst < len(BURST_GAPS):
                self._burst_due = now_ms + BURST_GAPS[self._burst]
                self._burst += 1
            else:
                # the reference moves a side's delta baseline only when a burst completes: a
                # change in mid-burst is announced against the previous baseline
                self._burst = -1
                for st in self.sides.values():
                    if st[_PEND] is not None:
                        st[_TOLD] = st[_PEND]
                        st[_PEND] = None
        for st in self.sides.values():
            self._charge(st)  # (new deltas and baselines; expired announcers' REACH)
        wake = now_ms + HEARTBEAT_MS
        if self._burst >= 0:
            wake = self._burst_due
        hb = False
        for sid, st in self.sides.items():
            if now_ms >= st[_HB]:
                hb = True
                st[_HB] = now_ms + HEARTBEAT_MS
                self.node.send_control(sid, _SEDSNET_DISCOVERY_ANNOUNCE, b"")
            if st[_HB] < wake:
                wake = st[_HB]
            for rec in st[_ANN].values():
                if 0 <= rec[_REQ] <= now_ms:
                    rec[_REQ] = now_ms + REQUEST_REPEAT_MS
                    self.node.send_control(sid, _SEDSNET_DISCOVERY_TOPOLOGY_REQUEST, b"")
                if 0 <= rec[_REQ] < wake:
                    wake = rec[_REQ]
                if rec[_SEEN] + TTL_MS + 1 < wake:
                    wake = rec[_SEEN] + TTL_MS + 1
        if hb:
            self._round(now_ms)
        self.wake = wake

    def _round(self, now_ms):
        # the reference's exported cadence: each announcement round sets next = now +
        # interval, then doubles the interval up to 5000 ms (it schedules nothing visible)
        self.next_announce = now_ms + self.interval
        self.interval = min(2 * self.interval, 5000)

    def on_frame(self, side_id, hdr, frame):
        """A discovery frame (ty 7..18) from side_id that passed CRC and dedupe. Answers
        requests at once; raises DecodeError for a malformed payload (the caller counts it)."""
        st = self.sides.get(side_id)
        ty = hdr.ty
        if st is None or hdr.src_addr == self._src or ty == _SEDSNET_DISCOVERY_SCHEMA or ty > _SEDSNET_DISCOVERY_ADDRESS:
            return
        payload = memoryview(frame)[hdr.payload_start:hdr.payload_end]
        now = self.node.now_ms()
        if ty == _SEDSNET_DISCOVERY_TOPOLOGY_REQUEST or ty == _SEDSNET_DISCOVERY_SCHEMA_REQUEST:
            self._full(side_id, st, now, ty == _SEDSNET_DISCOVERY_SCHEMA_REQUEST)
            return
        src = hdr.src_addr
        anns = st[_ANN]
        rec = anns.get(src)
        if ty == _SEDSNET_DISCOVERY_LEAVE:
            if self.relay:  # a reference Relay forwards a LEAVE, keeps the node, re-announces
                self.changed = True
            else:
                self._leave(src)
            return
        if _SEDSNET_MANAGED_VARIABLE_REQUEST <= ty <= _SEDSNET_MANAGED_VARIABLE_VALUE:
            return  # managed variables: not handled here
        parsed = None
        if ty == _SEDSNET_DISCOVERY_ADDRESS:
            parsed = parse_address(payload)
        elif ty == _SEDSNET_DISCOVERY_TOPOLOGY:
            parsed = parse_topology(payload)
        elif ty == _SEDSNET_DISCOVERY_ANNOUNCE:
            parsed = parse_announce(payload)
        elif ty == _SEDSNET_DISCOVERY_TIMESYNC_SOURCES:
            r = Reader(payload, "timesync")
            r.strs("source")
            r.end()
        elif ty == _SEDSNET_DISCOVERY_LINK_CAPABILITIES:
            parse_link_caps(payload)
            if rec is None:
                return  # (the reference learns no announcer from these alone)
        if rec is None:
            if self.routes >= self.max_peers and not self._evict(None):
                return
            rec = [now, None, (), {}, False, now + REQUEST_DELAY_MS, None, (), 0]
            anns[src] = rec
            self.routes += 1
            self.changed = True  # a new announcer is a change even before it lists anything
        rec[_SEEN] = now
        if ty == _SEDSNET_DISCOVERY_ADDRESS:
            name, eps = parsed[A_HOSTNAME], parsed[A_ENDPOINTS]
            if name != rec[_NAME] or eps != rec[_EPS]:
                rec[_NAME] = name
                rec[_EPS] = eps
            self._heard_address(parsed)
            if not self.relay and (parsed[A_NETVARS] or self.netvar_seen):
                self.netvar_seen = True  # holders of network variables (netvar_push.py)
                from .netvar_push import heard
                heard(self, side_id, src, rec, name, parsed[A_NETVARS])
        elif ty == _SEDSNET_DISCOVERY_ANNOUNCE and parsed:  # (an empty ANNOUNCE is a heartbeat)
            if parsed != rec[_AEPS]:
                rec[_AEPS] = parsed  # replaces what TOPOLOGY said, not what ADDRESS said
        elif ty == _SEDSNET_DISCOVERY_TOPOLOGY:
            self._learn_topology(src, rec, parsed)
        self._update(st, src, rec)

    # ---- what we tell a side --------------------------------------------------------------
    def _identity(self):
        host = self.node.hostname
        if host is None:
            host = RELAY_HOSTNAME if self.relay else ROUTER_HOSTNAME
        if host != self._host:
            self._host = host
            self._host_b = to_bytes(host)
            self._src = source_address(host)
            self.birth, self.owner = identity(host, self.created_ms, self.instance)

    def _view(self, side_id):
        """Boards for side_id: ours, then those learned on other sides (split horizon);
        a neighbour's own board lists us as a connection, as the reference's do."""
        me = self._host_b
        view = {}
        neigh = []
        for sid, st in self.sides.items():
            for rec in st[_ANN].values():
                n = rec[_NAME]
                if n is not None and n not in neigh:
                    neigh.append(n)
                if sid == side_id:
                    continue
                for name, b in rec[_BOARDS].items():
                    if name != me and name not in view:
                        if name == n and me not in b[3]:
                            b = (b[0], b[1], b[2], tuple(sorted(b[3] + (me,))))
                        view[name] = b
                if n is not None and n != me and n not in view:
                    view[n] = (n, rec[_EPS], (), (me,))
        neigh.sort()
        view[me] = (me, self._local or (), (), tuple(neigh))
        return view

    def _endpoints(self, side_id):
        eps = set(self._local or ())
        for sid, st in self.sides.items():
            if sid != side_id:
                for e in st[_REACH]:
                    eps.add(e)
        return sorted(eps)

    def _head(self, side_id):
        """ADDRESS (a Router) or ANNOUNCE of the split-horizon endpoints (a Relay): the first
        frame of every change announcement. A Relay's also restarts its heartbeat."""
        if self.relay:
            self.node.send_control(side_id, _SEDSNET_DISCOVERY_ANNOUNCE,
                                   announce_payload(self._endpoints(side_id), self.w))
            self.sides[side_id][_HB] = self.node.now_ms() + HEARTBEAT_MS
            return
        flags = LINK_PLAIN | (LINK_RELIABLE if self.node.side_reliable(side_id) else 0)
        extra, prof, mf, tg, nt = _side_link(self.node, side_id)
        self.node.send_control(side_id, _SEDSNET_DISCOVERY_ADDRESS, address_payload(
            self._host_b, self.node.current_address, self.birth, self.owner, self._endpoints(side_id),
            mode=getattr(self.node, "_address_mode", 0),
            requested=getattr(self.node, "_requested_address", 0),
            netvars=_netvars(getattr(self.node, "netvar", None), side_id),
            link_flags=flags | extra, profile=prof, max_frame=mf, compact_target=tg,
            templates=nt, w=self.w))

    def _full(self, side_id, st, now_ms, schema):
        """ADDRESS (LINK_CAPABILITIES for a Relay) + full TOPOLOGY [+ SCHEMA] on one side."""
        self._identity()
        if self._local is None:
            self._local = tuple(self.node.local_endpoints())
        if self.relay:
            flags = LINK_PLAIN | (LINK_RELIABLE if self.node.side_reliable(side_id) else 0)
            extra, prof, mf, tg, nt = _side_link(self.node, side_id)
            self.node.send_control(side_id, _SEDSNET_DISCOVERY_LINK_CAPABILITIES,
                                   link_caps_payload(flags | extra, prof, mf, tg, nt))
            eps = self._endpoints(side_id)
            if eps:
                self.node.send_control(side_id, _SEDSNET_DISCOVERY_ANNOUNCE, announce_payload(eps, self.w))
        else:
            self._head(side_id)
        view = self._view(side_id)
        names = sorted(view)
        self.node.send_control(side_id, _SEDSNET_DISCOVERY_TOPOLOGY,
                               topology_full_payload([view[k] for k in names], self.w))
        if schema:  # our registry, as 4.2.7 (schema_wire.py)
            from .schema_wire import send_schema
            send_schema(self.node, side_id)
        st[_TOLD] = view
        st[_PEND] = None
        st[_NEW] = False
        st[_HB] = now_ms + HEARTBEAT_MS
        self._charge(st)

    def _delta(self, st, side_id):
        view = self._view(side_id)
        told = st[_TOLD] or {}
        changed = [view[k] for k in sorted(view) if told.get(k) != view[k]]
        removed = [k for k in sorted(told) if k not in view]
        st[_PEND] = view
        return topology_delta_payload(changed, removed)


def _netvars(nv, side_id):
    # the network-variable list of our ADDRESS on a side (netvar.py), () without any
    return () if nv is None else nv.listed(side_id)


def _side_link(node, side_id):
    """(link flags, profile, max_frame, compact target, templates): sdt.py's, or defaults."""
    sides = getattr(node, "sides", None)
    sdt = getattr(sides[side_id], "sdt", None) if sides else None
    return (0, 0, 0, 0, 64) if sdt is None else sdt.link()
