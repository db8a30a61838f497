# The announcer tables behind announce.Announcer, kept bounded: at most max_peers announcers on
# all sides (a new one evicts the least recently heard), at most max_boards TOPOLOGY boards, every
# record's bytes charged to the node's queue budget, and reachability kept as per-endpoint counts
# so that a discovery frame costs the same however many announcers are known.
from .compat import const
from .ids import node_address, source_address
from .kernels import copy_into
from .ring import HDR
from .schema import R_RELIABLE, type_record

# announcer record (one per src_addr heard on a side)
SEEN = const(0)  # last heard, ms
NAME = const(1)  # hostname bytes (ADDRESS) or the board whose source address matches, or None
EPS = const(2)  # endpoints from ADDRESS / ANNOUNCE
BOARDS = const(3)  # dict name -> board, from TOPOLOGY
FULL = const(4)  # a full snapshot arrived
REQ = const(5)  # when to send the next TOPOLOGY_REQUEST (-1: none)
AEPS = const(6)  # endpoints of the last non-empty ANNOUNCE; None once a TOPOLOGY came after it
CONTRIB = const(7)  # the endpoints this record makes reachable (counted in the side's REACH)
COST = const(8)  # bytes charged to the budget for this record

# ADDRESS fields kept per hostname (Announcer.hosts), from announce_codec's A_* tuple
_A_MODE = const(1)
_A_ADDRESS = const(3)
_A_REQUESTED = const(4)
_A_BIRTH = const(5)
_A_OWNER = const(6)
_A_HOSTNAME = const(7)

_REC_BYTES = const(200)  # cost model (32-bit heap, measured: tools/discovery_heap.py)
_BOARD_BYTES = const(130)
_HOST_BYTES = const(96)

# per-side record
ANN = const(0)  # dict src_addr -> announcer record
REACH = const(1)  # endpoint -> number of announcers behind the side that reach it
TOLD = const(2)  # dict name -> board: what the side was told (the delta baseline)
HB = const(3)  # next heartbeat due
NEW = const(4)  # a full announcement is due
DELTA = const(5)  # TOPOLOGY delta of the running burst (or None)
PEND = const(6)  # the view the running burst announces; the baseline once the burst is over
SCOST = const(7)  # bytes of the side's own tables (REACH, TOLD, PEND, DELTA) charged to the budget
_SIDE_BYTES = const(64)


def side_cost(st):
    """What a side's own tables cost (the same 32-bit cost model as the records)."""
    n = _SIDE_BYTES + 8 * len(st[REACH]) + 16 * len(st[TOLD] or ())
    if st[PEND] is not None and st[PEND] is not st[TOLD]:
        n += 16 * len(st[PEND])
    return n + len(st[DELTA] or b"")


def _source_address(name):
    try:
        return source_address(str(name, "utf-8"))
    except UnicodeError:
        return -1


class PeerTable:
    """Mixin of Announcer: the learned state and its queries."""

    def reachable(self, side_id, endpoint):
        st = self.sides.get(side_id)
        return st is not None and endpoint in st[REACH]

    def reach_mask(self, endpoint):
        """Bitmask of the sides where endpoint is reachable (engine's route choice, per frame)."""
        return (self._masks if self._masks_gen == self.reach_gen else self._masks_now()).get(
            endpoint, 0)

    def _masks_now(self):  # (rebuilt after reachability changed; out of reach_mask's call)
        m = self._masks = {}
        for sid, st in self.sides.items():
            for e in st[REACH]:
                m[e] = m.get(e, 0) | 1 << sid
        self._masks_gen = self.reach_gen
        return m

    def hostname_of(self, src_addr):
        """The hostname whose frames carry header source address src_addr, from the ADDRESS
        and TOPOLOGY frames heard (E2E ACKs name the original sender), or None."""
        for st in self.sides.values():
            rec = st[ANN].get(src_addr)
            if rec is not None and rec[NAME] is not None:
                return str(rec[NAME], "utf-8")
        for st in self.sides.values():
            for rec in st[ANN].values():
                for name in rec[BOARDS]:
                    if _source_address(name) == src_addr:
                        return str(name, "utf-8")
        return None

    def has_routes(self):
        """True while any side has a live announcer (the reference then stops its
        single-side fallback; docs/router-interop.md)."""
        return self.routes > 0

    def memory_bytes(self):
        """Bytes of discovery state: the announcer records and the per-side tables (both
        charged to the budget as they change)."""
        n = self.bytes + 48 * len(self._paths)  # (paths.py's route cache, at most 16)
        for st in self.sides.values():
            n += side_cost(st)
        return n

    # ---- learning -------------------------------------------------------------------------
    def _learn_topology(self, src, rec, parsed):
        delta, boards, removed = parsed
        old = rec[BOARDS]
        new = dict(old) if delta else {}
        for name in removed:
            new.pop(name, None)
        room = self.max_boards - self.boards + len(old)
        for b in boards:
            if b[0] not in new and len(new) >= room:
                self.dropped += 1
                self._warn()
                continue
            new[b[0]] = b
            if rec[NAME] is None and _source_address(b[0]) == src:
                rec[NAME] = b[0]
        if not delta:
            rec[FULL] = True
            rec[REQ] = -1
        if new != old or rec[AEPS] is not None:
            if new != old:
                self.changed = True  # new or changed boards are a change (4.2.7)
            self.boards += len(new) - len(old)
            rec[BOARDS] = new
            rec[AEPS] = None

    # ---- bounded, incremental bookkeeping (the cost of a frame does not grow with the number
    # of announcers: a record's change moves only its own endpoint counts and bytes) ---------
    def rank(self, src, cands, e, routes, ty=-1):
        """The candidate sides (bitmask, two or more) for endpoint e that 4.2.7 would choose
        from: the nearest holder's (paths.py). With no route mode set for src, 4.2.7 picks
        one of equally near holders by its adaptive link weights (paths.adaptive) and
        ignores route weights: the side is decided here and returned as ~mask, which the
        engine takes as is. Fanout keeps every candidate."""
        rec = type_record(ty)  # (None for -1 or an unknown type)
        if rec is not None and rec[R_RELIABLE]:
            return ~cands  # 4.2.7 sends a reliable type to every candidate holder
        mode = routes.modes.get(src, 1)
        if mode == 0:
            return cands
        from .paths import adaptive, nearest
        out = nearest(self, cands, e)[0]
        if src not in routes.modes:
            return ~(adaptive(self, routes, src, out) if out & (out - 1) else out)
        return out

    def _update(self, st, src, rec):
        self.gen += 1
        eps = set(rec[EPS])
        if rec[AEPS] is not None:
            for e in rec[AEPS]:
                eps.add(e)
        else:
            for b in rec[BOARDS].values():
                for e in b[1]:
                    eps.add(e)
        old = rec[CONTRIB]
        if len(eps) != len(old) or any(e not in eps for e in old):
            reach = st[REACH]
            for e in old:
                if e not in eps:
                    k = reach[e] - 1
                    if k:
                        reach[e] = k
                    else:
                        del reach[e]
            for e in eps:
                if e not in old:
                    reach[e] = reach.get(e, 0) + 1
            rec[CONTRIB] = tuple(eps)
            self.reach_gen += 1
            self.changed = True
        # bytes as measured on a 32-bit MicroPython heap (tools/discovery_heap.py): the
        # record, its tuples and its share of the side's dicts; a board with its tuples
        cost = _REC_BYTES + len(rec[NAME] or b"") + 4 * (len(rec[EPS]) + len(eps)
                                                  + len(rec[AEPS] or ()))
        for b in rec[BOARDS].values():
            cost += _BOARD_BYTES + len(b[0]) + 4 * len(b[1])
            for x in b[2] + b[3]:
                cost += 16 + len(x)
        more = cost - rec[COST]
        rec[COST] = cost
        self.bytes += more
        bud = self.budget
        if bud is not None and more:
            if more < 0:
                bud.give(-more)
            else:
                while not bud.take(more):
                    if not self._shed(rec, more):  # nothing else to free: forget this one
                        rec[COST] -= more
                        self.bytes -= more
                        self._forget(st, src)
                        self.evicted += 1
                        return
        self._charge(st)

    def _charge(self, st):
        """Charge a side's own tables (REACH counts, the delta baselines TOLD and PEND, the
        running delta) to the budget as the records are: when it is spent, delta baselines go
        first (that side gets a full snapshot instead of a delta), then the least recently
        heard announcers."""
        bud = self.budget
        while True:
            more = side_cost(st) - st[SCOST]
            if more <= 0 or bud is None or bud.take(more):
                break
            if not self._shed(None, more):
                return  # nothing left to free: the rest stays uncharged (still counted)
        if more < 0 and bud is not None:
            bud.give(-more)
        st[SCOST] += more

    def _shed(self, keep, need):
        """Free budget: drop one side's delta baselines (counted; its next announcement is a
        full snapshot), else take need bytes from the queues (their oldest frames give way,
        as 4.2.7's do: _queue_room), else forget the least recently heard announcer but
        keep."""
        for st in self.sides.values():
            if st[TOLD] is not None or st[PEND] is not None or st[DELTA] is not None:
                st[TOLD] = st[PEND] = st[DELTA] = None
                st[NEW] = True
                self.baselines_evicted += 1
                self._warn()
                self._charge(st)
                return True
        node = self.node
        if getattr(node, "_tx", None) is not None and _queue_room(node, need):
            self.queue_room += need
            return True
        return self._evict(keep)

    def _heard_address(self, p):
        """Keep an ADDRESS's fields for resolve_hostname (at most max_peers names, charged to
        the budget; a new name evicts an old one, counted), and give up a requested/static
        address another node claims with a better right, as 4.2.7 does: static beats
        requested, then the older claimant (smaller birth) wins."""
        name = p[_A_HOSTNAME]
        hosts = self.hosts
        old = hosts.get(name)
        cost = _HOST_BYTES + len(name) if old is None else old[4]
        if old is None:
            bud = self.budget
            while len(hosts) >= self.max_peers or (bud is not None and not bud.take(cost)):
                if not hosts:
                    self.hosts_evicted += 1  # (nothing to make room with: not kept)
                    return
                k = next(iter(hosts))
                self._drop_host(k)
                self.hosts_evicted += 1
                self._warn()
            self.bytes += cost
        hosts[name] = (p[_A_ADDRESS], p[_A_REQUESTED], p[_A_BIRTH], p[_A_OWNER], cost)
        node = self.node
        mode = getattr(node, "_address_mode", 0)
        if mode and name != self._host_b and p[_A_ADDRESS] == node.current_address:
            theirs = p[_A_MODE]
            if (theirs == 2 and mode == 1) or (theirs == mode and (
                    (p[_A_BIRTH], p[_A_OWNER]) < (self.birth, self.owner))):
                node._address = node_address(node.hostname)  # (the mode stays as set)
                self.conflicts += 1
                self.changed = True

    def _drop_host(self, name):
        h = self.hosts.pop(name)
        self.bytes -= h[4]
        if self.budget is not None:
            self.budget.give(h[4])

    def _leave(self, src):
        """A LEAVE from src (a neighbour or a router further away): forget it as an
        announcer and drop its board, and the links to it, from every board we hold, as 4.2.7
        does within the receive call."""
        for st in self.sides.values():
            if src in st[ANN]:
                self._forget(st, src)
        for st in self.sides.values():
            for s in list(st[ANN]):
                rec = st[ANN].get(s)
                if rec is None:
                    continue
                old = rec[BOARDS]
                new = {}
                hit = False
                gone = set()
                for name in old:
                    b = old[name]
                    if _source_address(name) == src:
                        hit = True
                        for e in b[1]:
                            gone.add(e)
                        continue
                    conns = tuple(c for c in b[3] if _source_address(c) != src)
                    if len(conns) != len(b[3]):
                        b = (b[0], b[1], b[2], conns)
                        hit = True
                    new[name] = b
                if hit:
                    # what the neighbour's ADDRESS/ANNOUNCE said it reaches through the
                    # leaver goes too (4.2.7), unless another board it knows holds it
                    for b in new.values():
                        for e in b[1]:
                            gone.discard(e)
                    rec[EPS] = tuple(e for e in rec[EPS] if e not in gone)
                    if rec[AEPS] is not None:
                        rec[AEPS] = tuple(e for e in rec[AEPS] if e not in gone)
                    self.boards += len(new) - len(old)
                    rec[BOARDS] = new
                    self._update(st, s, rec)
                    self.changed = True

    def _forget(self, st, src):
        self.gen += 1
        rec = st[ANN].pop(src)
        reach = st[REACH]
        for e in rec[CONTRIB]:
            k = reach[e] - 1
            if k:
                reach[e] = k
            else:
                del reach[e]
        self.reach_gen += 1
        self.routes -= 1
        self.boards -= len(rec[BOARDS])
        self.bytes -= rec[COST]
        if self.budget is not None:
            self.budget.give(rec[COST])
        self.changed = True

    def _evict(self, keep):
        """Forget the least recently heard announcer other than keep; False if none."""
        old = None
        for st in self.sides.values():
            for src, rec in st[ANN].items():
                if rec is not keep and (old is None or rec[SEEN] < old[2][SEEN]):
                    old = (st, src, rec)
        if old is None:
            return False
        self._forget(old[0], old[1])
        self.evicted += 1
        self._warn()
        return True

    def _warn(self):
        # once per node, like the queues' eviction warning; every eviction is counted
        if not self.warned:
            self.warned = True
            print("sedsnet: discovery tables full, forgetting the least recently heard")


def _queue_room(node, need):
    """Budget for discovery from the queues, as 4.2.7 gives a new announcer the room of queued
    frames (test_budget_share_ref.py): the TX, then the RX ring move their live frames into a
    smaller buffer (they hold capacity, not frames, in the budget), never below the starting
    size (4.2.7 empties them), the oldest that no longer fit dropped (tx/rx_evicted)."""
    floor = node._isr.cap  # (starting_queue_size, what each ring was made with)
    for ring in (node._tx, node._rx):
        give = min(need, ring.cap - floor)
        if give > 0 and _shrink(ring, ring.cap - give):
            need -= give
            if need <= 0:
                return True
    return False


def _shrink(ring, new):
    try:
        nb = bytearray(new)  # (first: nothing is lost when the heap has no such block)
    except MemoryError:
        return False
    ring._skip_dead()
    while ring.live and ring.bytes + HDR * ring.live > new:
        ring.take(ring.first())  # the oldest frame gives way (counted)
        ring.evicted += 1
    q = 0
    live = ring.live
    for _ in range(live):  # (in order, to the start of the new buffer)
        p = ring.first()
        n = ring._len(p)
        copy_into(nb, q, ring.buf, p, HDR + n)
        q += HDR + n
        ring._drop_head(False)
    ring.budget.give(ring.cap - new)
    ring.buf = nb
    ring.cap = new
    ring.head, ring.tail, ring.bytes = 0, q, q - HDR * live
    ring.records = ring.live = live
    return True
