# Route rules at work, out of the core: the route choice of a node with set_route or
# set_typed_route rules (the per-side walk, then engine's discovery step), weighted and
# failover picks among several sides (routes.Routes.pick), rule checks and the rules of a
# removed side. Loaded by the first use (a node without rules or choices never imports it).
from .routes import WEIGHTED


def allowed(routes, src, ty, dst):
    """True if the rules let a frame of type ty from src leave on side dst."""
    k = src * 256 + dst
    if routes.allow and not routes.allow.get(k, True):
        return False
    if routes.typed:
        t = routes.typed.get(ty)
        if t is not None and not t.get(k, True):
            return False
    return True


def pick_among(routes, src, cands, mode):
    """Routes.pick in weighted mode with weights or several candidates, or in failover."""
    base = src * 256
    s = 0
    if mode == WEIGHTED:
        total = 0
        while cands >> s:
            if cands >> s & 1:
                total += routes.weights.get(base + s, 1)
            s += 1
        if total <= 0:
            return 0
        c = routes.cursor.get(src, 0)
        routes.cursor[src] = c + 1
        c %= total
        s = 0
        while cands >> s:
            if cands >> s & 1:
                c -= routes.weights.get(base + s, 1)
                if c < 0:
                    return 1 << s
            s += 1
        return 0
    best = -1
    top = 0
    while cands >> s:  # failover: the lowest priority value, then the lowest side ID
        if cands >> s & 1:
            v = routes.prios.get(base + s, 0)
            if best < 0 or v < top:
                best = s
                top = v
        s += 1
    return 1 << best


def forget_side(routes, sid):
    """Drop every rule that names side sid (it was removed; its ID may be reused)."""
    for table in (routes.allow, routes.weights, routes.prios):
        for k in [k for k in table if k & 0xFF == sid or k >> 8 == sid]:
            del table[k]
    for t in routes.typed.values():
        for k in [k for k in t if k & 0xFF == sid or k >> 8 == sid]:
            del t[k]
    routes.modes.pop(sid, None)
    routes.cursor.pop(sid, None)


def destinations(node, src, hdr):
    """forward._destinations for a node with rules (its docstring says what it does).
    Typed rules are not counted for "one way out"; once one exists for (src, type) only the
    sides it enables are allowed."""
    routes = node._routes
    allow = routes.allow
    typed = routes.typed.get(hdr.ty) if routes.typed else None
    ruled = has_typed = False
    tok = base = node._egress(src)  # sides left after egress and set_route
    if allow or typed is not None:  # rules: the per-side walk
        key = src * 256
        base = ton = 0  # (those a typed rule enables)
        for s in node.sides:
            if s is None or s.sid == src:
                continue
            k = key + s.sid
            if allow and k in allow:
                ruled = True
                if not allow[k]:
                    continue
            on = False
            if typed is not None and k in typed:
                has_typed = True
                on = typed[k]
            if s.egress:
                base |= 1 << s.sid
                if on:
                    ton |= 1 << s.sid
        # a typed rule for (src, type) allows only the sides it enables
        tok = ton if has_typed else base
    if not tok:
        return 0
    disc = node.discovery
    if disc is None:
        return tok
    if base & (base - 1) == 0 and (node.kind == "relay" or not disc.routes):
        return tok
    if not disc.routes:
        return 0
    return node._announced(src, hdr, tok, has_typed or ruled)
