# The discovered network as 4.2.7 exports it: export_topology() (routers, links, routes) and
# client_stats() of a Router or Relay, read from its Announcer's tables (announce_table.py).
# Loaded on the first call only. Keys and shapes: shared/protocol/verified-4.2.7.md "Discovery".
from . import schema
from .announce_table import ANN, BOARDS, CONTRIB, NAME, REACH, SEEN
from .ids import sender_name

_CONTROL_EPS = (200, 201, 202)  # SEDSNET_TIME_SYNC, SEDSNET_DISCOVERY, SEDSNET_ERROR


def _s(b):
    return b if isinstance(b, str) else str(b, "utf-8")


def _eps(ids):
    """Sorted user endpoint IDs and their names (control endpoints left out, as 4.2.7)."""
    out = sorted({e for e in ids if e not in _CONTROL_EPS})
    names = []
    for e in out:
        n = schema.endpoint_name(e)
        names.append(n if n is not None else str(e))
    return names, out


def _board(b):
    names, ids = _eps(b[1])
    return {"sender_id": _s(b[0]), "reachable_endpoints": names, "reachable_endpoint_ids": ids,
            "reachable_timesync_sources": sorted(_s(x) for x in b[2]),
            "connections": sorted(_s(x) for x in b[3])}


def _rec_name(src, rec):
    return _s(rec[NAME]) if rec[NAME] is not None else sender_name(src)


def _reach(names_ids, d):
    d["reachable_endpoints"], d["reachable_endpoint_ids"] = names_ids
    return d


def routers(ann):
    """Every router known (our own board first in _view, then the learned ones), by name."""
    view = ann._view(-1)  # no side excluded: the whole graph
    return [_board(view[k]) for k in sorted(view)]


def links(boards):
    seen = set()
    for b in boards:
        a = b["sender_id"]
        for c in b["connections"]:
            if c != a:
                seen.add((a, c) if a < c else (c, a))
    return [{"source": s, "target": t} for s, t in sorted(seen)]


def export_topology(node):
    ann = node.discovery
    now = node.now_ms()
    if ann is None:  # Router(discovery=False): only ourselves
        me = (node.hostname, node.local_endpoints(), (), ())
        boards = [_board(me)]
        return _top(boards, [], me[1], 0, 0)
    ann._identity()
    if ann._local is None:
        ann._local = tuple(node.local_endpoints())
    boards = routers(ann)
    routes = []
    adv = set(ann._local)
    for sid in sorted(ann.sides):
        st = ann.sides[sid]
        if not st[ANN]:
            continue
        for e in st[REACH]:
            adv.add(e)
        anns = []
        last = 0
        for src in st[ANN]:
            rec = st[ANN][src]
            bl = [_board(rec[BOARDS][k]) for k in sorted(rec[BOARDS])]
            if rec[SEEN] > last:
                last = rec[SEEN]
            anns.append(_reach(_eps(rec[CONTRIB]), {
                "sender_id": _rec_name(src, rec), "reachable_endpoints": None,
                "reachable_endpoint_ids": None, "reachable_network_variables": [],
                "reachable_timesync_sources": [], "routers": bl,
                "last_seen_ms": rec[SEEN], "age_ms": now - rec[SEEN]}))
        anns.sort(key=_sender_key)
        routes.append(_reach(_eps(st[REACH]), {
            "side_id": sid, "side_name": node.sides[sid].name, "reachable_endpoints": None,
            "reachable_endpoint_ids": None, "reachable_network_variables": [],
            "reachable_timesync_sources": [], "announcers": anns,
            "last_seen_ms": last, "age_ms": now - last}))
    return _top(boards, routes, adv, ann.interval, ann.next_announce)


def _sender_key(d):
    return d["sender_id"]


def _top(boards, routes, adv, interval, next_ms):
    names, ids = _eps(adv)
    return {"advertised_endpoints": names, "advertised_endpoint_ids": ids,
            "advertised_timesync_sources": [], "routers": boards, "links": links(boards),
            "routes": routes, "current_announce_interval_ms": interval,
            "next_announce_ms": next_ms}


def client_stats(node, sender_id):
    """4.2.7's client_stats(): a direct announcer named sender_id (heard on one or more sides)
    with the counters of the sides it is heard on, or None (unknown, or only known from a
    neighbour's TOPOLOGY: two hops behind a Router)."""
    if not isinstance(sender_id, str):
        from .errors import ArgumentError
        raise ArgumentError("sender_id must be a str, not %s" % type(sender_id).__name__)
    ann = node.discovery
    if ann is None:
        return None
    now = node.now_ms()
    sids = []
    eps = set()
    last = -1
    for sid in sorted(ann.sides):
        anns = ann.sides[sid][ANN]
        for src in anns:
            rec = anns[src]
            if _rec_name(src, rec) == sender_id:
                sids.append(sid)
                for e in rec[CONTRIB]:
                    eps.add(e)
                if rec[SEEN] > last:
                    last = rec[SEEN]
    if not sids:
        return None
    sides = [node.sides[s] for s in sids]
    names, ids = _eps(eps)
    return {"sender_id": sender_id, "connected": True, "side_ids": sids,
            "side_names": [s.name for s in sides], "last_seen_ms": last, "age_ms": now - last,
            "reachable_endpoints": names, "reachable_endpoint_ids": ids,
            "reachable_timesync_sources": [],
            "packets_sent": sum(s.tx_packets for s in sides),
            "packets_received": sum(s.rx_packets for s in sides),
            "bytes_sent": sum(s.tx_bytes for s in sides),
            "bytes_received": sum(s.rx_bytes for s in sides)}


def resolve_hostname(node, name):
    """4.2.7's resolve_hostname(): our own identity, what an ADDRESS from that node said, or
    (a router known only by name from TOPOLOGY boards) the header address and sender hash
    its name gives with birth 0, as the reference reports it; None when unknown."""
    if not isinstance(name, str):
        from .errors import ArgumentError
        raise ArgumentError("hostname must be a str, not %s" % type(name).__name__)
    ann = node.discovery
    if name == node.hostname:
        if ann is None:
            return {"hostname": name, "address": node.current_address,
                    "requested_address": node._requested_address, "birth_ms": 0,
                    "owner_hash": node.sender_hash}
        ann._identity()
        return {"hostname": name, "address": node.current_address,
                "requested_address": node._requested_address, "birth_ms": ann.birth,
                "owner_hash": ann.owner}
    if ann is None:
        return None
    b = name.encode()
    h = ann.hosts.get(b)
    if h is not None:
        return {"hostname": name, "address": h[0], "requested_address": h[1],
                "birth_ms": h[2], "owner_hash": h[3]}
    if b in ann._view(-1):
        from .ids import sender_hash, source_address
        return {"hostname": name, "address": source_address(name), "requested_address": 0,
                "birth_ms": 0, "owner_hash": sender_hash(name)}
    return None


def announce_discovery(node):
    d = node.discovery
    if d is not None:
        now = node.now_ms()
        for sid in node.side_ids():
            d._full(sid, d.sides[sid], now, True)


def announce_leave(node):
    for sid in node.side_ids():
        node.send_control(sid, 15, b"")  # SEDSNET_DISCOVERY_LEAVE, empty
    if node.discovery is not None:
        node.discovery.changed = True  # 4.2.7 re-announces at once: a running node is back
