"""Network variables and P2P in the simulator (scenario "features"): parsing, what they put
into board configs (sedsnet_node/netfeat.py's "network_variables" and "p2p" sections) and
reference node specs (refnode.py), the reference side (RefApps, in the refnode process) and
the report's two sections.

  "network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["ground", "payload"],
                                         "phase_ms": 4000}}
      owner: a board that sets the variable (the firmware's sim_flight_state: phases 0..5, one
      every phase_ms); holders: boards (config "watch") or reference routers
      (on_network_variable_update) that hold it: the owner pushes each change to them.
  "p2p": {"server": "rocket", "port": 7, "client": "ground", "every_s": 2}
      server: a board serving the line-based status service on port; client: a reference
      router that sends "status <n>" with send_p2p_to_hostname every every_s and counts the
      answers (reply port REPLY_PORT).
"""
import json

REPLY_PORT = 7000
NV_KEYS = ("owner", "holders", "phase_ms", "period_ms")
P2P_KEYS = ("server", "port", "client", "every_s")


def parse(feats, boards, nodes, known_types, _fail):
    """-> {"netvars": [{"type", "owner", "holders", "phase_ms", "period_ms"}], "p2p": {...} or
    None}; known_types() gives the schemas' type names, _fail(where, msg) raises scenario.py's
    ScenarioError."""
    out = {"netvars": [], "p2p": None}
    bnames = [b["name"] for b in boards]
    routers = [n["name"] for n in nodes if n["kind"] == "router"]
    nv = feats.get("network_variables")
    if nv is not None:
        if not isinstance(nv, dict):
            _fail("features.network_variables", "must be an object {TYPE: {\"owner\", "
                  "\"holders\"}}")
        known = known_types()
        for ty, v in sorted(nv.items()):
            w = "features.network_variables.%s" % ty
            if ty not in known:
                _fail(w, "no type %r in the schemas" % (ty,))
            if not isinstance(v, dict):
                _fail(w, "must be an object {\"owner\": BOARD, \"holders\": [NODE, ...]}")
            for k in v:
                if k not in NV_KEYS:
                    _fail(w + "." + k, "unknown key (known: %s)" % ", ".join(NV_KEYS))
            if v.get("owner") not in bnames:
                _fail(w + ".owner", "%r is not a board (boards: %s)" % (
                    v.get("owner"), ", ".join(bnames)))
            holders = v.get("holders", [])
            if not isinstance(holders, list) or not holders:
                _fail(w + ".holders", "must be a non-empty list of boards or reference routers")
            for j, h in enumerate(holders):
                if (h not in bnames and h not in routers) or h == v["owner"]:
                    _fail("%s.holders[%d]" % (w, j), "%r is not another board or a reference "
                          "router" % (h,))
            for k, d in (("phase_ms", 4000), ("period_ms", 250)):
                x = v.get(k, d)
                if isinstance(x, bool) or not isinstance(x, int) or x < 1:
                    _fail(w + "." + k, "must be an int >= 1, not %r" % (x,))
            out["netvars"].append({"type": ty, "owner": v["owner"], "holders": list(holders),
                                   "phase_ms": v.get("phase_ms", 4000),
                                   "period_ms": v.get("period_ms", 250)})
    p = feats.get("p2p")
    if p is not None:
        w = "features.p2p"
        if not isinstance(p, dict):
            _fail(w, "must be an object {\"server\", \"port\", \"client\", \"every_s\"}")
        for k in p:
            if k not in P2P_KEYS:
                _fail(w + "." + k, "unknown key (known: %s)" % ", ".join(P2P_KEYS))
        if p.get("server") not in bnames:
            _fail(w + ".server", "%r is not a board" % (p.get("server"),))
        if p.get("client") not in routers:
            _fail(w + ".client", "%r is not a reference router" % (p.get("client"),))
        port = p.get("port", 7)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 0xFFFF \
                or port == REPLY_PORT:
            _fail(w + ".port", "must be a port 1..65535 other than %d, not %r" % (REPLY_PORT, port))
        every = p.get("every_s", 2)
        if isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
            _fail(w + ".every_s", "must be a number > 0, not %r" % (every,))
        out["p2p"] = {"server": p["server"], "client": p["client"], "port": port,
                      "every_s": every}
    return out


def board_config(feat, name, cfg):
    """Add the board's "network_variables" / "p2p" config sections (in place)."""
    own, watch = [], []
    for v in feat.get("netvars", ()):
        if v["owner"] == name:
            own.append({"type": v["type"], "kind": "sim_flight_state",
                        "period_ms": v["period_ms"], "phase_ms": v["phase_ms"]})
        if name in v["holders"]:
            watch.append(v["type"])
    if own or watch:
        cfg["network_variables"] = {"own": own, "watch": watch}
    p = feat.get("p2p")
    if p and p["server"] == name:
        cfg["p2p"] = {"status_port": p["port"]}


def node_spec(feat, name, hostnames):
    """The refnode spec keys: "netvar_watch" [type names], "p2p_query" {hostname, port,
    every_s}."""
    spec = {}
    watch = [v["type"] for v in feat.get("netvars", ()) if name in v["holders"]]
    if watch:
        spec["netvar_watch"] = watch
    p = feat.get("p2p")
    if p and p["client"] == name:
        spec["p2p_query"] = {"hostname": hostnames[p["server"]], "port": p["port"],
                             "every_s": p["every_s"]}
    return spec


def packages(feat):
    out = []
    if feat.get("netvars"):
        out.append("sedsnet-netvar")
    if feat.get("p2p"):
        out.append("sedsnet-p2p")
    return out


class RefApps:
    """In a refnode.py process (the reference's sedsnet): the holder callbacks and the status
    queries of one reference Router. emit(dict) writes an event record."""

    def __init__(self, ref, router, spec, names, emit, now_s):
        self.ref, self.router, self.emit, self.now_s = ref, router, emit, now_s
        for tname in spec.get("netvar_watch", ()):
            ty = ref.data_type_identity(tname)
            router.on_network_variable_update(ty, self._on_update(tname))
        self.query = spec.get("p2p_query")
        self.n = 0
        self.next_s = None
        if self.query:
            router.bind_p2p_port(REPLY_PORT, self._on_reply)

    def _on_update(self, tname):
        def cb(pkt):
            p = bytes(pkt.payload)
            self.emit({"ev": "nv", "ty": tname, "value": p[0] if p else None,
                       "sender": pkt.sender, "t": self.now_s()})
        return cb

    def _on_reply(self, meta, payload):
        text = bytes(payload).decode("utf-8", "replace")
        tag = None
        for line in text.splitlines():
            if line.startswith("tag="):
                tag = line[4:]
        self.emit({"ev": "p2p_a", "tag": tag, "from": meta.get("source_hostname"),
                   "text": text[:200], "t": self.now_s()})

    def tick(self):
        """Send the next status query when it is due (the node's loop calls this)."""
        if not self.query:
            return
        now = self.now_s()
        if self.next_s is None:
            self.next_s = now + self.query["every_s"]
        if now < self.next_s:
            return
        self.next_s += self.query["every_s"]
        self.n += 1
        q = self.query
        try:
            self.router.send_p2p_to_hostname(q["hostname"], q["port"], REPLY_PORT,
                                             ("status %d\n" % self.n).encode())
            self.emit({"ev": "p2p_q", "tag": str(self.n), "t": now})
        except Exception as e:  # BadArg: the hostname is not resolved yet
            self.emit({"ev": "p2p_q", "tag": str(self.n), "t": now, "error": str(e)[:80]})


# -- the report ---------------------------------------------------------------------------------
def _board_lines(lines, tname):
    """(sets [(value)], seen [(value, sender)]) from a board's console lines."""
    sets, seen = [], []
    set_p, seen_p = "sedsnet: netvar set %s=" % tname, "sedsnet: netvar %s=" % tname
    for x in lines:
        if x.startswith(set_p):
            sets.append(int(x[len(set_p):].split()[0]))
        elif x.startswith(seen_p):
            v, _, rest = x[len(seen_p):].partition(" from ")
            seen.append((int(v), rest))
    return sets, seen


def report(feat, events, consoles):
    """{"network_variables": {type: {...}}, "p2p": {...} or None}. events: [(node, event)] of
    the reference nodes, consoles: {board: [console lines]}."""
    out = {"network_variables": {}, "p2p": None}
    for v in feat.get("netvars", ()) if feat else ():
        tname = v["type"]
        sets, _ = _board_lines(consoles.get(v["owner"], ()), tname)
        holders = {}
        for h in v["holders"]:
            if h in consoles:
                seen = [x for x, _s in _board_lines(consoles[h], tname)[1]]
            else:
                seen = [e["value"] for n, e in events if n == h and e.get("ev") == "nv"
                        and e.get("ty") == tname]
            holders[h] = {"updates": len(seen), "last": seen[-1] if seen else None,
                          "values": sorted(set(seen))}
        final = sets[-1] if sets else None
        out["network_variables"][tname] = {
            "owner": v["owner"], "sets": len(sets), "final": final, "holders": holders,
            "agree": final is not None and all(h["last"] == final for h in holders.values())}
    p = feat.get("p2p") if feat else None
    if p:
        sent, failed, answers = {}, 0, {}
        for n, e in events:
            if n != p["client"]:
                continue
            if e.get("ev") == "p2p_q":
                if e.get("error"):
                    failed += 1
                else:
                    sent[e["tag"]] = e["t"]
            elif e.get("ev") == "p2p_a" and e.get("tag") not in answers:
                answers[e.get("tag")] = e["t"]
        lat = sorted(1000.0 * (answers[t] - sent[t]) for t in answers if t in sent)
        import report as rp
        out["p2p"] = {"client": p["client"], "server": p["server"], "port": p["port"],
                      "sent": len(sent), "not_sent_unresolved": failed,
                      "answered": len(lat),
                      "latency_ms": {"p50": rp.percentile(lat, 50), "p90": rp.percentile(lat, 90),
                                     "max": round(lat[-1], 1) if lat else None}}
    return out


def text(rep):
    """The report.txt lines of the two sections."""
    lines = []
    for tname, v in sorted(rep.get("network_variables", {}).items()):
        lines.append("network variable %s: set %d times by %s, final %s; %s" % (
            tname, v["sets"], v["owner"], v["final"], "; ".join(
                "%s %d updates (last %s)" % (h, x["updates"], x["last"])
                for h, x in sorted(v["holders"].items()))) +
            (" (agree)" if v["agree"] else " (DISAGREE)"))
    p = rep.get("p2p")
    if p:
        lat = p["latency_ms"]
        lines.append("p2p %s -> %s port %d: queries sent %d, answered %d, not sent (hostname "
                     "unresolved) %d; latency p50 %s ms, p90 %s ms, max %s ms" % (
                         p["client"], p["server"], p["port"], p["sent"], p["answered"],
                         p["not_sent_unresolved"], lat["p50"], lat["p90"], lat["max"]))
    return lines


if __name__ == "__main__":  # the sections of a report.json: python netvar_p2p.py report.json
    import sys
    with open(sys.argv[1]) as f:
        print("\n".join(text(json.load(f))))
