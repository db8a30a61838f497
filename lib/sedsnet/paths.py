# Routing by the discovered router graph (docs/router-interop.md section 3, rule 4): among the
# sides where an endpoint is reachable, 4.2.7 sends towards the nearest holder (hops through the
# TOPOLOGY boards learned on that side; a holder known from an ADDRESS/ANNOUNCE only ranks
# last). Loaded by the Announcer the first time a frame has two or more candidate sides.
from .announce_table import ANN, AEPS, BOARDS, EPS, NAME
from .compat import const
from .ids import source_address

FAR = const(1000)  # reachable, but no board says where (ADDRESS / ANNOUNCE only)
_NONE = const(0x7FFFFFFF)


def _hops(src, rec, e):
    """Hops from us to the nearest holder of e through one announcer's boards (its own board
    is 1 hop away), FAR when only its ADDRESS/ANNOUNCE lists e, _NONE when it does not."""
    boards = rec[BOARDS]
    start = rec[NAME]
    if start is None or start not in boards:
        start = None
        for name in boards:
            try:
                if source_address(str(name, "utf-8")) == src:
                    start = name
                    break
            except UnicodeError:
                pass
    if start is not None:
        seen = {start: 1}
        todo = [start]
        i = 0
        while i < len(todo):
            name = todo[i]
            i += 1
            b = boards[name]
            h = seen[name]
            if e in b[1]:
                return h
            for c in b[3]:
                if c not in seen and c in boards:
                    seen[c] = h + 1
                    todo.append(c)
        for b in boards.values():  # a board the graph does not join to the announcer
            if e in b[1]:
                return FAR - 1
    if e in rec[EPS] or (rec[AEPS] is not None and e in rec[AEPS]):
        return FAR
    return _NONE


def distance(ann, side_id, e):
    st = ann.sides.get(side_id)
    if st is None:
        return _NONE
    best = _NONE
    anns = st[ANN]
    for src in anns:
        h = _hops(src, anns[src], e)
        if h < best:
            best = h
    return best


def nearest(ann, cands, e):
    """(sides of cands at the smallest distance to a holder of e, that distance); the
    result is cached per endpoint until the discovery tables change (ann.gen)."""
    cache = ann._paths
    if cache.get(None) != ann.gen:
        cache.clear()
        cache[None] = ann.gen
    key = (cands, e)
    hit = cache.get(key)
    if hit is not None:
        return hit
    best = _NONE
    out = 0
    s = 0
    while cands >> s:
        if cands >> s & 1:
            d = distance(ann, s, e)
            if d < best:
                best = d
                out = 1 << s
            elif d == best:
                out |= 1 << s
        s += 1
    hit = (out or cands, best)
    if len(cache) <= 16:  # bounded (48 B each in memory_bytes): others are recomputed
        cache[key] = hit
    return hit


def _unmeasured(meters, s):
    m = meters.get(s)
    return m is None or m.count == 0


def adaptive(ann, routes, src, cands):
    """4.2.7's choice of one side among equally near candidates (bitmask, two or more) when
    no route mode is set for src (docs/router-interop.md section 9, probed by
    tools/probe_burst_split.py): one cursor per source, advanced by every choice; sides that
    never sent take turns first; then side s gets the cursor's value modulo the sum of the
    sides' weights (its range in side order), a side's weight being its link headroom
    (linkload.Meter.weight). Headrooms are large until a burst fills the 1 s window, so a
    burst goes to the lowest side until that side saturates (weight 1), then spreads."""
    meters = ann.meters
    cur = routes.cursor
    c = cur.get(src, 0)
    cur[src] = c + 1
    un = 0
    s = 0
    while cands >> s:
        if cands >> s & 1 and _unmeasured(meters, s):
            un += 1
        s += 1
    if un:
        c %= un
        s = 0
        while cands >> s:
            if cands >> s & 1 and _unmeasured(meters, s):
                if c == 0:
                    return 1 << s
                c -= 1
            s += 1
    now = ann.node.now_ms()
    total = 0
    s = 0
    while cands >> s:
        if cands >> s & 1:
            total += meters[s].weight(now)
        s += 1
    c %= total
    s = 0
    while cands >> s:
        if cands >> s & 1:
            c -= meters[s].weight(now)
            if c < 0:
                return 1 << s
        s += 1
    return cands & -cands
