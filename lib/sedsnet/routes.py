# Route rules of a node (set_route, set_typed_route, set_source_route_mode, weights,
# priorities) and the choice of destination sides for one endpoint. Keys are small ints
# (src * 256 + dst, src 255 = locally originated) so lookups allocate nothing; side sets are
# int bitmasks (a node has at most MAX_SIDES sides).
from .compat import const

LOCAL = const(255)  # src_side_id None
MAX_SIDES = const(30)  # side sets are small-int bitmasks on every port

FANOUT = const(0)  # RouteSelectionMode codes, as the reference
WEIGHTED = const(1)
FAILOVER = const(2)
DEFAULT_MODE = const(1)  # 4.2.7 routes unconfigured traffic Weighted: one side per endpoint


class Routes:
    def __init__(self):
        self.allow = {}  # src*256+dst -> bool
        self.typed = {}  # ty -> {src*256+dst: bool}
        self.modes = {}  # src -> mode
        self.weights = {}  # src*256+dst -> weight (default 1)
        self.prios = {}  # src*256+dst -> priority (lower wins in failover; default 0)
        self.cursor = {}  # src -> picks made in weighted mode

    def allowed(self, src, ty, dst):
        k = src * 256 + dst
        if self.allow and not self.allow.get(k, True):
            return False
        if self.typed:
            t = self.typed.get(ty)
            if t is not None and not t.get(k, True):
                return False
        return True

    def pick(self, src, cands):
        """Destination sides (bitmask) among cands (bitmask, not 0) for one endpoint."""
        mode = self.modes.get(src, DEFAULT_MODE)
        if mode == FANOUT:
            return cands
        base = src * 256
        best = -1
        if mode == WEIGHTED:
            if not cands & (cands - 1) and not self.weights:  # one candidate (the usual)
                self.cursor[src] = self.cursor.get(src, 0) + 1
                return cands
            total = 0
            s = 0
            while cands >> s:
                if cands >> s & 1:
                    total += self.weights.get(base + s, 1)
                s += 1
            if total <= 0:
                return 0
            c = self.cursor.get(src, 0)
            self.cursor[src] = c + 1
            c %= total
            s = 0
            while cands >> s:
                if cands >> s & 1:
                    c -= self.weights.get(base + s, 1)
                    if c < 0:
                        return 1 << s
                s += 1
            return 0
        top = 0
        s = 0
        while cands >> s:  # failover: the lowest priority value, then the lowest side ID
            if cands >> s & 1:
                v = self.prios.get(base + s, 0)
                if best < 0 or v < top:
                    best = s
                    top = v
            s += 1
        return 1 << best

    def forget_side(self, sid):
        """Drop every rule that names side sid (it was removed; its ID may be reused)."""
        for table in (self.allow, self.weights, self.prios):
            for k in [k for k in table if k & 0xFF == sid or k >> 8 == sid]:
                del table[k]
        for t in self.typed.values():
            for k in [k for k in t if k & 0xFF == sid or k >> 8 == sid]:
                del t[k]
        self.modes.pop(sid, None)
        self.cursor.pop(sid, None)
