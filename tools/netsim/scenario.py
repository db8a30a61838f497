"""Read and check a simulator scenario (JSON or TOML, scenarios/README.md). Every problem is a
ScenarioError whose message names the field ("links[2].loss: ..."), found before anything starts.

parse(doc, base_dir) -> a plain dict with defaults filled in:
  {"name", "duration_s", "seed", "heap", "boards": [...], "nodes": [...], "links": [...],
   "events": [...], "ignored": [notes on keys read but not acted on yet]}
"""
import json
import os
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

LINK_TYPES = ("uart", "lora", "nrf24", "pipe")
RADIOS = {"lora": "sx127x", "nrf24": "nrf24"}  # radio link type -> the boards' side type
EVENT_KINDS = ("reboot", "link_down", "link_up", "flap", "leave", "snapshot",
               "time_source_failover", "key_rotation")  # (the last two: netevents.py)
FAULT_KEYS = ("loss", "dup", "reorder", "corrupt", "tamper")
MS_KEYS = ("latency_ms", "jitter_ms", "hold_ms", "bytes_per_s")
LORA_MTU = 255
NRF24_MTU = 32  # one radio payload; the side profile chunks longer frames
NRF24_RATES = (250, 1000, 2000)
# how far ahead a sender may queue on a busy medium before it drops (0 = no limit): about two
# LoRa frames at SF7 (firmware/sx127x.py tx_queue=2), a UART driver's buffer
TX_QUEUE_MS = {"lora": 300, "nrf24": 20, "uart": 500, "pipe": 0}  # nrf24: ~8 payloads (tx_queue=8)
# Library features a scenario turns on ("features"): the real-time runner applies these...
SIMULATED_KEYS = ("reliable_types", "reliable_links", "reliable_max_retries", "time_sync", "e2e",
                  "network_variables", "p2p")
# ...and notes and skips the rest until it simulates them (then they join the default scenario)
FUTURE_KEYS = SIMULATED_KEYS
TOP_KEYS = ("name", "description", "duration_s", "seed", "heap", "boards", "nodes", "links",
            "events", "features")


class ScenarioError(ValueError):
    pass


def _fail(where, msg):
    raise ScenarioError("%s: %s" % (where, msg))


def _num(where, v, lo=0.0, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(where, "must be a number, not %r" % (v,))
    if v < lo or (hi is not None and v > hi):
        _fail(where, "must be in %s..%s, not %r" % (lo, "" if hi is None else hi, v))
    return v


def _str(where, v):
    if not isinstance(v, str) or not v:
        _fail(where, "must be a non-empty string, not %r" % (v,))
    return v


def _obj(where, v):
    if not isinstance(v, dict):
        _fail(where, "must be an object, not %r" % (v,))
    return v


def _list(where, v):
    if not isinstance(v, list):
        _fail(where, "must be a list, not %r" % (v,))
    return v


def _path(where, v, base):
    p = _str(where, v)
    for root in (base, REPO):
        full = os.path.normpath(os.path.join(root, p))
        if os.path.exists(full):
            return full
    _fail(where, "no such file %r" % p)


def _board(i, b, base, names):
    w = "boards[%d]" % i
    _obj(w, b)
    name = _str(w + ".name", b.get("name"))
    if name in names:
        _fail(w + ".name", "duplicate node name %r" % name)
    kind = _str(w + ".board", b.get("board"))
    bdir = os.path.join(REPO, "boards", kind)
    if not os.path.isfile(os.path.join(bdir, "main.py")):
        _fail(w + ".board", "no boards/%s/main.py (a MicroPython board)" % kind)
    cfg_path = _path(w + ".config", b.get("config", os.path.join("boards", kind, "config.json")), base)
    try:
        with open(cfg_path) as f:
            cfg = json.load(f)
    except ValueError as e:
        _fail(w + ".config", "not JSON: %s" % e)
    cfg.update(_obj(w + ".set", b.get("set", {})))
    cfg.setdefault("hostname", name)
    sides = {}
    for s in cfg.get("sides", ()):
        sides[s.get("name", s.get("type", "").upper())] = s
    names[name] = ("board", sides)
    return {"name": name, "board": kind, "config": cfg, "sides": sides,
            "heap": b.get("heap"), "hostname": cfg["hostname"]}


def _node(i, n, base, names):
    w = "nodes[%d]" % i
    _obj(w, n)
    name = _str(w + ".name", n.get("name"))
    if name in names:
        _fail(w + ".name", "duplicate node name %r" % name)
    kind = n.get("kind", "router")
    if kind not in ("router", "relay"):
        _fail(w + ".kind", "must be router or relay, not %r" % (kind,))
    schema = _path(w + ".schema", n["schema"], base) if n.get("schema") else None
    handlers = [_str("%s.handlers[%d]" % (w, j), h) for j, h in
                enumerate(_list(w + ".handlers", n.get("handlers", [])))]
    if handlers and kind == "relay":
        _fail(w + ".handlers", "a relay has no handlers")
    cmd = n.get("command")
    if cmd is not None:
        _obj(w + ".command", cmd)
        if not schema:
            _fail(w + ".command", "needs the node's schema (the command's type by name)")
        cmd = {"every_s": _num(w + ".command.every_s", cmd.get("every_s", 3), 0.001),
               "type": _str(w + ".command.type", cmd.get("type", "COMMAND")),
               "endpoint": _str(w + ".command.endpoint", cmd.get("endpoint", "FLIGHT_COMPUTER"))}
    names[name] = ("node", None)
    return {"name": name, "kind": kind, "hostname": n.get("hostname", name), "schema": schema,
            "handlers": handlers, "command": cmd, "sides": []}


def _end(where, v, names, want):
    """'node.SIDE' -> (node, side), checked against the node's kind and the link type."""
    s = _str(where, v)
    node, _, side = s.partition(".")
    if node not in names or not side:
        _fail(where, "%r is not NODE.SIDE of a board or node in this scenario" % s)
    kind, sides = names[node]
    if kind == "board":
        if side not in sides:
            _fail(where, "board %r has no side %r (its config has: %s)"
                  % (node, side, ", ".join(sorted(sides))))
        if sides[side].get("type") != want:
            _fail(where, "side %s of board %r is a %s side, this link needs %s"
                  % (side, node, sides[side].get("type"), want))
    elif want in RADIOS.values():
        _fail(where, "only boards sit on a radio link (reference nodes use uart or pipe)")
    return node, side


def _link(i, l, names, used):
    w = "links[%d]" % i
    _obj(w, l)
    ty = l.get("type")
    if ty not in LINK_TYPES:
        _fail(w + ".type", "must be one of %s, not %r" % (", ".join(LINK_TYPES), ty))
    out = {"name": l.get("name", "link%d" % i), "type": ty}
    for k in FAULT_KEYS:
        out[k] = _num("%s.%s" % (w, k), l.get(k, 0.0), 0.0, 1.0)
    for k in MS_KEYS:
        out[k] = _num("%s.%s" % (w, k), l.get(k, 200 if k == "hold_ms" else 0), 0.0)
    out["tx_queue_ms"] = _num(w + ".tx_queue_ms", l.get("tx_queue_ms", TX_QUEUE_MS[ty]), 0.0)
    if ty in RADIOS:
        ends = [_end("%s.members[%d]" % (w, j), m, names, RADIOS[ty]) for j, m in
                enumerate(_list(w + ".members", l.get("members")))]
        if len(ends) < 2:
            _fail(w + ".members", "a %s link needs 2+ members" % ty)
        if "channel" in l:  # radio links naming one channel share its air (tools/netsim/air.py Channel)
            out["channel"] = "%s:%s" % (ty, _str(w + ".channel", l["channel"]))
            if "capture_db" in l:
                out["capture_db"] = _num(w + ".capture_db", l["capture_db"], 0.0)
            lv = _obj(w + ".levels_db", l.get("levels_db", {}))
            for k, v in lv.items():
                if k not in [n for n, _s in ends]:
                    _fail("%s.levels_db.%s" % (w, k), "not a member of this link")
                _num("%s.levels_db.%s" % (w, k), v, -200.0, 200.0)
            out["levels_db"] = dict(lv)
            out["half_duplex"] = l.get("half_duplex", False)
            if not isinstance(out["half_duplex"], bool):
                _fail(w + ".half_duplex", "must be true or false, not %r" % (out["half_duplex"],))
    if ty == "nrf24":
        _nrf24(w, l, out, ends, names)
    elif ty == "lora":
        out["sf"] = int(_num(w + ".sf", l.get("sf", 7), 6, 12))
        out["bw_hz"] = _num(w + ".bw_hz", l.get("bw_hz", 125000), 7800)
        out["cr"] = int(_num(w + ".cr", l.get("cr", 5), 5, 8))
        out["mtu"] = int(_num(w + ".mtu", l.get("mtu", LORA_MTU), 1, LORA_MTU))
    else:
        want = "uart" if ty == "uart" else None
        ends = []
        for k in ("a", "b"):
            node, side = _end("%s.%s" % (w, k), l.get(k), names, "uart")
            if names[node][0] == "board" and want is None:
                _fail("%s.%s" % (w, k), "a pipe joins reference nodes; a board side needs uart")
            ends.append((node, side))
        if ty == "uart":
            out["baud"] = _num(w + ".baud", l.get("baud", 115200), 300)
    for j, e in enumerate(ends):
        if e in used:
            _fail("%s ends[%d]" % (w, j), "%s.%s is already on link %s" % (e[0], e[1], used[e]))
        used[e] = out["name"]
    out["ends"] = ends
    return out


def _nrf24(w, l, out, ends, names):
    """An nRF24 link: its members' sides must share channel, data rate and address (else the
    radios never hear each other); the data rate sets the airtime."""
    seen = None
    for j, (node, side) in enumerate(ends):
        sd = names[node][1][side]
        mine = (sd.get("channel", 76), sd.get("data_rate", 250), sd.get("address", "SEDSN"))
        if seen is not None and mine != seen:
            _fail("%s.members[%d]" % (w, j), "%s.%s has channel/data_rate/address %r, the "
                  "first member %r: radios on one link must agree" % (node, side, mine, seen))
        seen = mine
    if seen[1] not in NRF24_RATES:
        _fail("%s.members[0]" % w, "data_rate must be one of %s kbps, not %r"
              % (", ".join(map(str, NRF24_RATES)), seen[1]))
    out["data_rate"] = seen[1]
    out["mtu"] = int(_num(w + ".mtu", l.get("mtu", NRF24_MTU), 1, NRF24_MTU))


def _event(i, e, links, names):
    w = "events[%d]" % i
    _obj(w, e)
    at = _num(w + ".at_s", e.get("at_s"), 0.0)
    do = e.get("do")
    if do not in EVENT_KINDS:
        _fail(w + ".do", "must be one of %s, not %r" % (", ".join(EVENT_KINDS), do))
    out = {"at_s": at, "do": do}
    if do == "reboot":
        b = _str(w + ".board", e.get("board"))
        if names.get(b, ("",))[0] != "board":
            _fail(w + ".board", "no board %r" % b)
        out["board"] = b
    elif do in ("time_source_failover", "key_rotation"):
        out.update(_sibling("netevents").parse(w, e, names, _CHECKS))
    elif do in ("leave", "snapshot"):
        n = _str(w + ".node", e.get("node"))
        if names.get(n, ("",))[0] != "node":
            _fail(w + ".node", "no reference node %r (%s is a reference call here)"
                  % (n, "announce_leave()" if do == "leave" else "export_topology()"))
        out["node"] = n
        if do == "leave":
            stay = e.get("stay", False)
            if not isinstance(stay, bool):
                _fail(w + ".stay", "must be true or false, not %r" % (stay,))
            out["stay"] = stay
    else:
        ln = _str(w + ".link", e.get("link"))
        if ln not in links:
            _fail(w + ".link", "no link %r" % ln)
        out["link"] = ln
        if do == "flap":
            out["period_s"] = _num(w + ".period_s", e.get("period_s", 1.0), 0.01)
            out["count"] = int(_num(w + ".count", e.get("count", 3), 1))
    return out


def _type_names(boards, nodes):
    """Every type name in the scenario's schema files (boards' and nodes')."""
    out = set()
    paths = {n["schema"] for n in nodes if n["schema"]}
    for b in boards:
        if b["config"].get("schema"):
            paths.add(os.path.join(REPO, "boards", b["board"], b["config"]["schema"]))
    for p in paths:
        with open(p) as f:
            out.update(t.get("name") for t in json.load(f).get("types", ()))
    return out


def _features(feats, names, boards, nodes, links):
    """features -> {"timesync_source": node or None, "type_flags": {type: {"reliable",
    "e2e_encryption"}}, "reliable_sides": [(node, side) on uart links], "e2e": {"key_id",
    "key", "nodes"} or None, "tuning": {"reliable_max_retries"} for the reference nodes}: what
    the runner puts into configs, schemas and node specs."""
    out = {"timesync_source": None, "type_flags": {}, "reliable_sides": [], "e2e": None,
           "tuning": {}}
    known = None
    ts = feats.get("time_sync")
    if ts is not None:
        src = _str("features.time_sync.source", _obj("features.time_sync", ts).get("source"))
        if src not in [n["name"] for n in nodes if n["kind"] == "router"]:
            _fail("features.time_sync.source", "%r is not a reference router node" % src)
        out["timesync_source"] = src
    if "reliable_types" in feats:
        known = _type_names(boards, nodes)
        mode = 1  # 4.2.7's reliable=1: ordered (stop-and-wait per type end to end)
        for j, t in enumerate(_list("features.reliable_types", feats["reliable_types"])):
            if t not in known:
                _fail("features.reliable_types[%d]" % j, "no type %r in the schemas" % (t,))
            out["type_flags"].setdefault(t, {})["reliable"] = mode
    uart = [l["name"] for l in links if l["type"] == "uart"]
    rl = feats.get("reliable_links", uart)  # hop-reliable sides at both ends; default: the UARTs
    for j, name in enumerate(_list("features.reliable_links", rl)):
        if name not in [l["name"] for l in links]:
            _fail("features.reliable_links[%d]" % j, "no link %r" % (name,))
        if name not in uart:
            _fail("features.reliable_links[%d]" % j, "%r is not a uart link" % (name,))
    if "reliable_types" in feats or "reliable_links" in feats:
        out["reliable_sides"] = [e for l in links if l["name"] in rl for e in l["ends"]]
    if "reliable_max_retries" in feats:
        out["tuning"] = {"reliable_max_retries": int(_num(
            "features.reliable_max_retries", feats["reliable_max_retries"], 1, 255))}
    e2e = feats.get("e2e")
    if e2e is not None:
        w = "features.e2e"
        _obj(w, e2e)
        known = known or _type_names(boards, nodes)
        for j, t in enumerate(_list(w + ".types", e2e.get("types", []))):
            if t not in known:
                _fail("%s.types[%d]" % (w, j), "no type %r in the schemas" % (t,))
            out["type_flags"].setdefault(t, {})["e2e_encryption"] = 2  # RequireOn
        kid = int(_num(w + ".key_id", e2e.get("key_id", 7), 0, 0xFFFFFFFF))
        key = _str(w + ".key", e2e.get("key"))
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            _fail(w + ".key", "must be hex, not %r" % key)
        if len(raw) < 16:
            _fail(w + ".key", "a key needs at least 16 bytes (32 hex digits)")
        holders = [_str("%s.nodes[%d]" % (w, j), n) for j, n in
                   enumerate(_list(w + ".nodes", e2e.get("nodes", [])))]
        for j, n in enumerate(holders):
            if n not in names:
                _fail("%s.nodes[%d]" % (w, j), "no board or node %r" % n)
        out["e2e"] = {"key_id": kid, "key": key, "nodes": holders}
    out.update(_sibling("netvar_p2p").parse(feats, boards, nodes,
                                            lambda: known or _type_names(boards, nodes), _fail))
    return out


def _sibling(name):
    """A module beside this file (loaded by path: this module is too, by the tests)."""
    import importlib.util
    import sys
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[name] = mod
    return mod


_CHECKS = types.SimpleNamespace(_str=_str, _num=_num, _list=_list, _fail=_fail)


def parse(doc, base_dir="."):
    _obj("scenario", doc)
    ignored = []
    for k in doc:
        if k not in TOP_KEYS:
            _fail(k, "unknown key (known: %s)" % ", ".join(TOP_KEYS))
    feats = _obj("features", doc.get("features", {}))
    for k in feats:
        if k not in FUTURE_KEYS:
            _fail("features." + k, "unknown feature (known: %s)" % ", ".join(FUTURE_KEYS))
        if k not in SIMULATED_KEYS:
            ignored.append("features.%s: read, not simulated yet" % k)
    names = {}
    boards = [_board(i, b, base_dir, names) for i, b in enumerate(_list("boards", doc.get("boards", [])))]
    nodes = [_node(i, n, base_dir, names) for i, n in enumerate(_list("nodes", doc.get("nodes", [])))]
    if not boards and not nodes:
        _fail("boards", "a scenario needs at least one board or node")
    used = {}
    links = [_link(i, l, names, used) for i, l in enumerate(_list("links", doc.get("links", [])))]
    by_name = {}
    radio_of = {}
    for i, l in enumerate(links):
        if l["name"] in by_name:
            _fail("links[%d].name" % i, "duplicate link name %r" % l["name"])
        by_name[l["name"]] = l
        for j, (node, _side) in enumerate(l["ends"] if l["type"] in RADIOS else ()):
            if node in radio_of:  # VBOARD_AIR: one air (UDP port) per virtual board
                _fail("links[%d].members[%d]" % (i, j), "board %r is already on radio link %r "
                      "(a virtual board has one radio air)" % (node, radio_of[node]))
            radio_of[node] = l["name"]
    for n in nodes:
        n["sides"] = [side for l in links for (node, side) in l["ends"] if node == n["name"]]
    events = [_event(i, e, by_name, names) for i, e in enumerate(_list("events", doc.get("events", [])))]
    events.sort(key=lambda e: e["at_s"])
    feat = _features(feats, names, boards, nodes, links)
    _sibling("netevents").check(events, feat, nodes, _CHECKS)
    return {"feat": feat, "name": doc.get("name", "scenario"), "description": doc.get("description", ""),
            "duration_s": _num("duration_s", doc.get("duration_s", 20), 1.0),
            "seed": int(_num("seed", doc.get("seed", 1), 0)), "heap": doc.get("heap"),
            "boards": boards, "nodes": nodes, "links": links, "events": events,
            "features": feats, "ignored": ignored}


def read_doc(path):
    """The document of a scenario file: JSON, or TOML for a .toml name (tomllib: the same keys,
    tables for objects, arrays of tables for lists of objects; checked by parse() alike)."""
    try:
        if path.endswith(".toml"):
            import tomllib
            with open(path, "rb") as f:
                return tomllib.load(f)
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:  # (tomllib.TOMLDecodeError is a ValueError)
        raise ScenarioError("%s: %s" % (path, e))


def load(path):
    return parse(read_doc(path), os.path.dirname(os.path.abspath(path)))
