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

    def pick(self, src, cands):
        """Destination sides (bitmask) among cands (bitmask, not 0) for one endpoint."""
        mode = self.modes.get(src, DEFAULT_MODE)
        if mode == FANOUT:
            return cands
        if mode == WEIGHTED and not cands & (cands - 1) and not self.weights:
            self.cursor[src] = self.cursor.get(src, 0) + 1  # one candidate (the usual)
            return cands
        from .route_rules import pick_among  # (weights, failover or a choice to make)
        return pick_among(self, src, cands, mode)
