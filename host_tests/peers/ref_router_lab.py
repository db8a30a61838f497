# Reference router lab: reference sedsnet 4.2.7 Routers and Relays in their own CPython process,
# on one fake clock, driven as black boxes by JSON commands (host_tests/
# test_reference_router_facts.py). Sides are either joined to another lab node ("links") or open:
# what a node sends on an open side is kept in an outbox the test reads with "out"; frames the
# test sends in arrive with "rx".
import sedsnet as ref

import stdio_link

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
        n["obj"].process_all_queues()
    else:
        n["obj"].receive_packed_from_side(n["sides"][idx], data)


def _pump():
    while _pending:
        name, idx, data = _pending.pop(0)
        _rx(name, idx, data)


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
            getattr(ref, call[0])(*call[1:])
        except Exception:  # already registered by an earlier scenario in this process
            pass
    return {}


def _node(cmd):
    """{"name", "relay": bool, "hostname", "handlers": [endpoint IDs], "sides": [reliable...],
    "kw": {...}}"""
    name = cmd["name"]
    kw = dict(cmd.get("kw", {}))
    if cmd.get("relay"):
        obj = ref.Relay(now_ms=_now, **kw)
    else:
        if cmd.get("hostname") is not None:
            kw["hostname"] = cmd["hostname"]
        kw["handlers"] = [(e, _handler(name, e), None) for e in cmd.get("handlers", ())]
        obj = ref.Router(now_ms=_now, **kw)
    n = {"obj": obj, "relay": bool(cmd.get("relay")), "sides": [], "got": [], "senders": []}
    _nodes[name] = n
    prof = cmd.get("profile")  # add_side_packed_profile keywords for every side
    for i, rel in enumerate(cmd.get("sides", ())):
        if prof is not None:
            n["sides"].append(obj.add_side_packed_profile("s%d" % i, _tx(name, i), rel, **prof))
        else:
            n["sides"].append(obj.add_side_packed("s%d" % i, _tx(name, i), reliable_enabled=rel))
    return {"sender_id": obj.sender_id}


def _link(cmd):
    a, ai, b, bi = cmd["a"], cmd["a_side"], cmd["b"], cmd["b_side"]
    _links[(a, ai)] = (b, bi)
    _links[(b, bi)] = (a, ai)
    return {}


def _add_side(cmd):
    n = _nodes[cmd["node"]]
    idx = len(n["sides"])
    n["sides"].append(n["obj"].add_side_packed("s%d" % idx, _tx(cmd["node"], idx),
                                               reliable_enabled=cmd.get("reliable", False)))
    return {"index": idx}


def _rx_cmd(cmd):
    """Deliver frames from the test: {"node", "side", "frames": [hex...]}; a frame the
    reference rejects is reported, not raised."""
    errors = []
    for h in cmd["frames"]:
        try:
            _rx(cmd["node"], cmd["side"], bytes.fromhex(h))
            errors.append(None)
        except Exception as e:
            errors.append("%s: %s" % (type(e).__name__, e))
    _pump()
    return {"errors": errors}


def _run(cmd):
    """Advance the clock to "to" in "step" ms steps, periodic(0) on every node at each step
    (after setting the time), links delivered as they go. {"to", "step", "nodes": optional}."""
    step = cmd.get("step", 50)
    names = cmd.get("nodes") or list(_nodes)
    first = cmd.get("from", _t[0])
    t = first
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
    """A method of a node: {"node", "method", "args": [...]}; side arguments given as
    {"side": index} are mapped to the node's side IDs."""
    n = _nodes[cmd["node"]]
    args = [n["sides"][a["side"]] if isinstance(a, dict) and "side" in a else a
            for a in cmd.get("args", ())]
    result = getattr(n["obj"], cmd["method"])(*args)
    if cmd["method"] != "process_all_queues" and not n["relay"]:
        n["obj"].process_all_queues()
    _pump()
    if isinstance(result, (dict, list, int, str, float, bool)) or result is None:
        return {"result": result}
    return {"result": repr(result)}


def _log_f32(cmd):
    n = _nodes[cmd["node"]]
    n["obj"].log_f32(cmd["ty"], cmd["values"])
    n["obj"].process_all_queues()
    _pump()
    return {}


def _log_hex(cmd):
    n = _nodes[cmd["node"]]
    n["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["hex"]))
    n["obj"].process_all_queues()
    _pump()
    return {}


def _fn(cmd):
    return {"result": getattr(ref, cmd["fn"])(*cmd.get("args", ()), **cmd.get("kw", {}))}


def _log_bytes(cmd):
    """{"node", "ty", "payload": hex}: log_bytes; a refusal is reported as "error"."""
    n = _nodes[cmd["node"]]
    try:
        n["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["payload"]))
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    n["obj"].process_all_queues()
    _pump()
    return {"error": None}


def _e2e_key(cmd):
    """{"key_id", "key": hex}: a software key through the exported C API (the reference's
    Python has no key call); the keyring is process-wide."""
    import ctypes

    import sedsnet.sedsnet as native
    key = bytes.fromhex(cmd["key"])
    rc = ctypes.CDLL(native.__file__).seds_crypto_register_software_key(
        ctypes.c_uint32(cmd["key_id"]), key, ctypes.c_size_t(len(key)))
    return {"rc": rc}


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
    results = []
    for c in cmd["cmds"]:
        r = _HANDLERS[c["op"]](c)
        results.append(r if r is not None else {})
    return {"results": results}



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
            pkt = ref.make_packet(ty, cmd.get("sender", r.hostname if hasattr(r, "hostname") else "x"),
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
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    _pump()
    return {"result": None}

_HANDLERS = {"reset": _reset, "node": _node, "link": _link, "add_side": _add_side,
             "rx": _rx_cmd, "run": _run, "at": _at, "call": _call, "log_f32": _log_f32,
             "fn": _fn, "out": _out, "got": _got, "log_bytes": _log_bytes, "e2e_key": _e2e_key,
             "nv": _nv, "log_hex": _log_hex}
_HANDLERS["batch"] = _batch
stdio_link.serve(_HANDLERS)
