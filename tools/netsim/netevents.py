"""The time_source_failover and key_rotation events (scenarios/README.md): their checks
(scenario.py), what they put into node specs and board configs (features.py), firing them in
real time (runner.py) and in --fast (fast.py); their report sections: netevents_report.py.

time_source_failover {"at_s", "to": NODE, "how": "withdraw" | "leave", "priority": 50}
    The failover uses 4.2.7's own election, nothing scripted: `to` (a board or a reference
    router) runs from boot as an Auto time source (timesync_role 2) with `priority` (lower
    wins; every other node keeps the default 100): it follows the source, stays silent while
    the source is heard, and once the source has been silent for source_timeout_ms (5000) it
    announces the time it holds and, a board, wins the election against the consumers that
    promote themselves (a 4.2.7 Router as `to` need not: its Auto role goes silent when it
    hears them; the report names who is announcing at the end). At the event the source (features.time_sync.source) fails: "withdraw" (its
    clock source is gone: configure_timesync(role=0), which in 4.2.7 also drops its network
    time; the node keeps routing and follows the new source) or "leave" (announce_leave(),
    then quiet, as the leave event).
key_rotation {"at_s", "key": HEX, "nodes": [NODE, ...]}
    The E2E key of features.e2e.key_id changes to `key` on `nodes` (default: every holder) at
    one instant: 4.2.7's Router takes e2e_key_id once, at construction (no setter), and finds a
    frame's key by the key id it carries, so a rotation replaces the key under the same id
    (the reference's keyring and our register_e2e_key replace an id's key). A staged rotation
    is several events naming their nodes: between them the nodes that switched and those that
    did not cannot open each other's frames. Frames sealed before the rotation and resent
    after it keep the old seal (4.2.7's hop resends repeat the same bytes) and fail at the
    nodes holding the new key: the report counts them.
"""
import hashlib
import json
import os

KINDS = ("time_source_failover", "key_rotation")
HOWS = ("withdraw", "leave")


# -- checks (scenario.py) ---------------------------------------------------------------------
def parse(w, e, names, h):
    """The event's own fields; h: scenario.py's checkers (_str, _num, _list, _fail)."""
    do = e["do"]
    out = {}
    if do == "time_source_failover":
        to = h._str(w + ".to", e.get("to"))
        kind = names.get(to, ("",))[0]
        if not kind:
            h._fail(w + ".to", "no board or node %r" % (to,))
        out["to"] = to
        how = e.get("how", "withdraw")
        if how not in HOWS:
            h._fail(w + ".how", "must be one of %s, not %r" % (", ".join(HOWS), how))
        out["how"] = how
        out["priority"] = int(h._num(w + ".priority", e.get("priority", 50), 0, 99))
    else:
        key = h._str(w + ".key", e.get("key"))
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            h._fail(w + ".key", "must be hex, not %r" % key)
        if len(raw) < 16:
            h._fail(w + ".key", "a key needs at least 16 bytes (32 hex digits)")
        out["key"] = key
        if "nodes" in e:
            out["nodes"] = [h._str("%s.nodes[%d]" % (w, j), n) for j, n in
                            enumerate(h._list(w + ".nodes", e["nodes"]))]
    return out


def check(events, feat, nodes, h):
    """What needs the features: a failover needs time_sync and a backup that is not the source
    nor a Relay (one failover per scenario: the backup is set up at boot); a rotation needs
    e2e, names holders only and changes the key. Sets feat["timesync_backup"]."""
    kinds = {n["name"]: n["kind"] for n in nodes}
    keys = dict.fromkeys((feat.get("e2e") or {}).get("nodes", ()),
                         (feat.get("e2e") or {}).get("key", "").lower())  # each holder's key
    fo = [(i, e) for i, e in enumerate(events) if e["do"] == "time_source_failover"]
    for i, e in fo:
        w = "events[%d]" % i
        src = feat.get("timesync_source")
        if src is None:
            h._fail(w, "a time_source_failover needs features.time_sync.source")
        if e["to"] == src:
            h._fail(w + ".to", "%r is the time source itself" % (src,))
        if kinds.get(e["to"]) == "relay":
            h._fail(w + ".to", "%r is a Relay (4.2.7's Relay has no time sync)" % (e["to"],))
        if len(fo) > 1:
            h._fail(w, "one time_source_failover per scenario (its backup runs from boot)")
        feat["timesync_backup"] = {"node": e["to"], "priority": e["priority"]}
    for i, e in enumerate(events):
        if e["do"] != "key_rotation":
            continue
        w = "events[%d]" % i
        if not feat.get("e2e"):
            h._fail(w, "a key_rotation needs features.e2e (its key_id and holders)")
        holders = feat["e2e"]["nodes"]
        e.setdefault("nodes", list(holders))
        for j, n in enumerate(e["nodes"]):
            if n not in holders:
                h._fail("%s.nodes[%d]" % (w, j), "%r does not hold the key (features.e2e."
                        "nodes: %s)" % (n, ", ".join(holders)))
            if keys[n] == e["key"].lower():
                h._fail(w + ".key", "is the key %s already holds" % n)
            keys[n] = e["key"].lower()


# -- node specs and board configs (features.py) ---------------------------------------------
def node_spec(feat, name):
    b = feat.get("timesync_backup")
    if b and b["node"] == name:
        return {"timesync_backup_priority": b["priority"]}
    return {}


def board_config(feat, name, cfg):
    b = feat.get("timesync_backup")
    if b and b["node"] == name:
        r = cfg.setdefault("router", {})
        r["timesync_role"] = "auto"
        r["timesync_priority"] = b["priority"]


# -- firing -----------------------------------------------------------------------------------
def setup(run):
    """Before the run: with a key rotation ahead, the tracker times the RequireOn types'
    deliveries and counts their frames that reach a node in clear."""
    feat = run.sc.get("feat") or {}
    if any(e["do"] == "key_rotation" for e in run.sc["events"]):
        run.tracker.require_on = {t for t, f in feat.get("type_flags", {}).items()
                                  if f.get("e2e_encryption") == 2}


def fire(run, e):
    """Fire e on run (runner.Run or fast.FastRun); -> the line for the report."""
    if e["do"] == "time_source_failover":
        return _failover(run, e)
    return _rotate(run, e)


def _failover(run, e):
    src = run.sc["feat"]["timesync_source"]
    ref = run.refs[src]
    run.ts_base = ref.call("time")  # the network time as the source kept it, until now
    if e["how"] == "withdraw":
        r = ref.call_op({"op": "timesync_withdraw"})
        what = ("time source %s withdraws its clock (configure_timesync(role=0): a consumer "
                "now, network time %s)" % (src, (r or {}).get("net_ms")))
    else:
        r = ref.call_op({"op": "leave"})
        what = "time source %s leaves (announce_leave(), then quiet)" % src
    run.failover = {"at_s": e["at_s"], "t": run.tracker.now(), "from": src, "to": e["to"],
                    "how": e["how"]}
    return what + "; %s (Auto, priority %d) is the backup" % (e["to"], e["priority"])


def fingerprint(key_hex):
    return hashlib.sha256(bytes.fromhex(key_hex)).hexdigest()[:8]


def _rotate(run, e):
    e2e = run.sc["feat"]["e2e"]
    kid = e2e["key_id"]
    ring = run.tracker.keyring
    if ring is None:
        ring = run.tracker.keyring = KeyRing(kid, e2e["key"])
    before = snapshot(run)
    for n in e["nodes"]:
        if n in run.refs:
            run.refs[n].call_op({"op": "e2e_key", "key_id": kid, "key": e["key"]})
        elif hasattr(run, "labs"):  # --fast: the board's lab registers it; a reboot keeps it
            cfg = run.lab_cfg[n]
            cfg.setdefault("e2e", {}).setdefault("keys", {})[str(kid)] = e["key"]
            run.lab_call(n, {"op": "e2e_key", "key_id": kid, "key": e["key"]})
        else:  # real time: the console, as an operator would: Ctrl-C stops the node's loop,
            # the REPL (main.py's globals: `node`) registers the key and runs the loop again;
            # the board's config.json gets the key too, so a reboot keeps it
            path = os.path.join(run.root, n, "config.json")
            if os.path.exists(path):
                with open(path) as f:
                    cfg = json.load(f)
                cfg.setdefault("e2e", {}).setdefault("keys", {})[str(kid)] = e["key"]
                with open(path, "w") as f:
                    json.dump(cfg, f)
            run.consoles[n].write(b"\x03import sedsnet; sedsnet.register_e2e_key(%d, bytes."
                                  b"fromhex('%s')); node.run_forever()\r"
                                  % (kid, e["key"].encode()))
    ring.rotate(e["key"])
    run.rotations = getattr(run, "rotations", [])
    run.rotations.append({"at_s": e["at_s"], "t": run.tracker.now(), "nodes": e["nodes"],
                          "key": fingerprint(e["key"]), "before": before})
    return "E2E key %d rotated to %s on %s" % (kid, fingerprint(e["key"]), ", ".join(e["nodes"]))


def snapshot(run):
    """The E2E counters now: per reference node its E2E drops, per --fast board its lab's
    (with what its processes before a reboot counted)."""
    import report
    out = {n: {"e2e_drops": report.e2e_drops(p.why), "why": dict(p.why)}
           for n, p in sorted(run.refs.items())}
    if hasattr(run, "labs"):
        carried = getattr(run, "e2e_carry", {})
        for n in sorted(run.labs):
            out[n] = _add(carried.get(n), run.lab_call(n, {"op": "e2e"}))
    return out


def _add(a, b):
    if not a:
        return b
    out = {"e2e_drops": a["e2e_drops"] + b["e2e_drops"],
           "open_failures": a["open_failures"] + b["open_failures"], "handled": {}}
    for k in set(a["handled"]) | set(b["handled"]):
        x, y = a["handled"].get(k, [0, 0]), b["handled"].get(k, [0, 0])
        out["handled"][k] = [x[0] + y[0], x[1] + y[1]]
    return out


def carry(run, name):
    """A --fast board's lab is about to restart (a reboot): keep its E2E counters."""
    if run.tracker.require_on:  # (a scenario with a key rotation)
        c = run.e2e_carry = getattr(run, "e2e_carry", {})
        c[name] = _add(c.get(name), run.lab_call(name, {"op": "e2e"}))


class KeyRing:
    """The host's view of the rotating key (the host decodes what the links carry with the
    reference's keyring, which holds one key per id): a sealed frame the current key does not
    open is tried with the others, and counted by the key that opened it."""

    def __init__(self, kid, key):
        self.kid = kid
        self.keys = [key]  # in the order they came; the last is the host's current one
        self.opened = {}  # (type name, key index) -> frames first emitted sealed so

    def rotate(self, key):
        if key in self.keys:  # (a staged rotation's later stage)
            self.keys.remove(key)
        self.keys.append(key)
        self._use(key)

    def _use(self, key):
        import refnode
        refnode._e2e_key(self.kid, key)

    def retry(self, data, unpack):
        """unpack(data) with each other key; -> (packet, key index) or (None, None)."""
        cur = self.keys[-1]
        try:
            for i, k in enumerate(self.keys[:-1]):
                self._use(k)
                try:
                    return unpack(data), i
                except Exception:
                    pass
        finally:
            self._use(cur)
        return None, None


def source_address(name):
    """A hostname's header source address (shared/protocol/identities.md; lib/sedsnet/ids.py):
    the host decodes a sender it never named as "@addr:<it>"."""
    h = 0xA6D38C214B7F19E5
    for b in name.encode():
        h ^= b
        h = (h * 0x9E3779B1) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 27
    return (h & 0xFFFFFFFF) or 1
