# Our Routers and Relays in a MicroPython process, on one fake clock, driven by the same JSON
# commands as ref_router_lab.py (the reference's lab), so a test can build one network out of
# both: nodes of each lab are joined inside their process ("link") or, through the test, to a
# node of the other lab (open sides: what they send goes to the outbox, "rx" brings frames in).
import sedsnet
import stdio_link
from sedsnet.relay import Relay
from sedsnet.router import Router

_t = [0]
_nodes = {}  # name -> {"obj", "relay", "sides": [side ids], "got": [...]}
_links = {}  # (node, side index) -> (node, side index)
_outbox = []  # [t, node, side index, frame hex]
_pending = []  # frames in flight on links: (dst node, dst side index, bytes)


def _now():
    return _t[0]


def _tx(name, idx):
    def tx(data):
        data = bytes(data)
        peer = _links.get((name, idx))
        if peer is None:
            _outbox.append([_t[0], name, idx, data.hex()])
        else:
            _pending.append((peer[0], peer[1], data))
    return tx


def _rx(name, idx, data):
    n = _nodes[name]
    if n["relay"]:
        n["obj"].rx_packed_from_side(n["sides"][idx], data)
    else:
        n["obj"].receive_packed_from_side(n["sides"][idx], data)


def _pump():
    while _pending:
        name, idx, data = _pending.pop(0)
        try:
            _rx(name, idx, data)
        except sedsnet.SedsError:
            pass  # counted on the side


def _handler(name, ep):
    def h(pkt):
        _nodes[name]["got"].append([_t[0], ep, pkt.ty, bytes(pkt.payload).hex()])
        _nodes[name]["senders"].append(pkt.sender)
    return h


def _reset(cmd):
    _nodes.clear()
    _links.clear()
    del _outbox[:]
    del _pending[:]
    _t[0] = cmd.get("t", 0)
    for call in cmd.get("schema", ()):
        try:
            getattr(sedsnet, call[0])(*call[1:])
        except sedsnet.SedsError:  # already registered by an earlier scenario
            pass
    return {}


def _node(cmd):
    name = cmd["name"]
    kw = dict(cmd.get("kw", {}))
    if cmd.get("hostname") is not None:
        kw["hostname"] = cmd["hostname"]
    if cmd.get("relay"):
        obj = Relay(now_ms=_now, **kw)
    else:
        kw["handlers"] = [(e, _handler(name, e), None) for e in cmd.get("handlers", ())]
        obj = Router(now_ms=_now, **kw)
    n = {"obj": obj, "relay": bool(cmd.get("relay")), "sides": [], "got": [], "senders": []}
    _nodes[name] = n
    prof = cmd.get("profile")  # add_side_packed_profile keywords for every side
    for i, rel in enumerate(cmd.get("sides", ())):
        if prof is not None:
            n["sides"].append(obj.add_side_packed_profile("s%d" % i, _tx(name, i), rel, **prof))
        else:
            n["sides"].append(obj.add_side_packed("s%d" % i, _tx(name, i), rel))
    return {"sender_id": obj.sender_id}


def _link(cmd):
    a, ai, b, bi = cmd["a"], cmd["a_side"], cmd["b"], cmd["b_side"]
    _links[(a, ai)] = (b, bi)
    _links[(b, bi)] = (a, ai)
    return {}


def _rx_cmd(cmd):
    errors = []
    for h in cmd["frames"]:
        try:
            _rx(cmd["node"], cmd["side"], bytes.fromhex(h))
            errors.append(None)
        except sedsnet.SedsError as e:
            errors.append("%s: %s" % (type(e).__name__, e))
    _pump()
    return {"errors": errors}


def _run(cmd):
    step = cmd.get("step", 50)
    names = cmd.get("nodes") or list(_nodes)
    t = cmd.get("from", _t[0])
    while t <= cmd["to"]:
        _t[0] = t
        for name in names:
            _nodes[name]["obj"].periodic(0)
        _pump()
        t += step
    return {"t": _t[0]}


def _at(cmd):
    _t[0] = cmd["t"]
    return {}


def _call(cmd):
    n = _nodes[cmd["node"]]
    args = [n["sides"][a["side"]] if isinstance(a, dict) and "side" in a else a
            for a in cmd.get("args", ())]
    result = getattr(n["obj"], cmd["method"])(*args)
    _pump()
    if result is None or isinstance(result, (dict, list, int, str, float, bool)):
        return {"result": result}
    return {"result": repr(result)}


def _log_f32(cmd):
    _nodes[cmd["node"]]["obj"].log_f32(cmd["ty"], cmd["values"])
    _pump()
    return {}


def _log_hex(cmd):
    _nodes[cmd["node"]]["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["hex"]))
    _pump()
    return {}


def _fn(cmd):
    return {"result": getattr(sedsnet, cmd["fn"])(*cmd.get("args", ()), **cmd.get("kw", {}))}


def _log_bytes(cmd):
    try:
        _nodes[cmd["node"]]["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["payload"]))
    except sedsnet.SedsError as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    _pump()
    return {"error": None}


def _e2e_key(cmd):
    sedsnet.register_e2e_key(cmd["key_id"], bytes.fromhex(cmd["key"]))
    return {"rc": 0}


def _out(cmd):
    frames = list(_outbox)
    del _outbox[:]
    return {"frames": frames}


def _got(cmd):
    n = _nodes[cmd["node"]]
    got = list(n["got"])
    senders = list(n["senders"])
    del n["got"][:]
    del n["senders"][:]
    return {"got": got, "senders": senders}


def _batch(cmd):
    return {"results": [_HANDLERS[c["op"]](c) or {} for c in cmd["cmds"]]}



def _nv(cmd):
    """Network variables: {"node", "what": enable|on_update|set|seed|get|cached|request|updates,
    "ty", "read", "write", "payload" hex, "ts", "stale"}; a Packet comes back as [ts, hex]."""
    n = _nodes[cmd["node"]]
    r = n["obj"]
    op, ty = cmd["what"], cmd.get("ty")
    try:
        if op == "enable":
            r.enable_network_variable(ty, cmd["read"], cmd["write"])
        elif op == "on_update":
            n["nv_updates"] = []
            r.on_network_variable_update(ty, lambda p: n["nv_updates"].append(
                [p.ty, p.timestamp_ms, bytes(p.payload).hex()]))
        elif op in ("set", "seed"):
            pkt = sedsnet.make_packet(ty, cmd.get("sender", r.hostname if hasattr(r, "hostname") else "x"),
                                 cmd["endpoints"], cmd["ts"], bytes.fromhex(cmd["payload"]))
            (r.set_network_variable if op == "set" else r.seed_managed_variable)(pkt)
        elif op == "request":
            r.request_managed_variable(ty)
        elif op == "updates":
            u = list(n.get("nv_updates", []))
            del n.get("nv_updates", [])[:]
            return {"result": u}
        else:
            p = r.get_network_variable(ty, cmd.get("stale")) if op == "get" \
                else r.cached_network_variable(ty)
            _pump()
            return {"result": None if p is None else [p.timestamp_ms, bytes(p.payload).hex()]}
    except sedsnet.SedsError as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    _pump()
    return {"result": None}

_HANDLERS = {"reset": _reset, "node": _node, "link": _link, "rx": _rx_cmd, "run": _run,
             "at": _at, "call": _call, "log_f32": _log_f32, "fn": _fn, "out": _out, "got": _got,
             "batch": _batch, "log_bytes": _log_bytes, "e2e_key": _e2e_key, "nv": _nv,
             "log_hex": _log_hex}
stdio_link.serve(_HANDLERS)
