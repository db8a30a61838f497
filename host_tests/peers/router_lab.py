# The one dispatcher of the two router labs (mp_router_lab.py: our Routers and Relays under
# MicroPython; ref_router_lab.py: the reference 4.2.7's under CPython): nodes on one fake clock,
# driven by the same JSON commands, so a test can build one network out of both. Sides are
# joined to another node of the same lab ("link") or open: what a node sends on an open side
# goes to the outbox the test reads with "out"; frames the test sends in arrive with "rx".
# Imports under both runtimes and never imports a sedsnet itself: each lab passes its own.


class RouterLab:
    """seds: the sedsnet module (make_packet, "fn" and "reset" schema calls); router, relay:
    its classes; errors: what a refused frame or call raises; settle: call
    process_all_queues() after each input (the reference queues, ours drains at once);
    quiet_links: a frame refused on a lab-internal link is dropped (counted on its side)
    instead of raised; relay_hostname: a Relay takes the "hostname" too."""

    def __init__(self, seds, router, relay, errors, settle, quiet_links, relay_hostname):
        self.seds = seds
        self.router = router
        self.relay = relay
        self.errors = errors
        self.settle = settle
        self.quiet_links = quiet_links
        self.relay_hostname = relay_hostname
        self.t = 0
        self.nodes = {}  # name -> {"obj", "relay", "sides": [side ids], "got", "senders"}
        self.links = {}  # (node, side index) -> (node, side index)
        self.outbox = []  # [t, node, side index, frame hex]
        self.pending = []  # frames in flight on links: (dst node, dst side index, bytes)
        self.handlers = {
            "reset": self.reset, "node": self.node, "link": self.link, "add_side": self.add_side,
            "rx": self.rx_cmd, "run": self.run, "at": self.at, "call": self.call,
            "log_f32": self.log_f32, "log_hex": self.log_hex, "log_bytes": self.log_bytes,
            "fn": self.fn, "out": self.out, "got": self.got, "nv": self.nv, "batch": self.batch,
            "p2p": self.p2p, "burst": self.burst}

    def now(self):
        return self.t

    def _error(self, e):
        return "%s: %s" % (type(e).__name__, e)

    def _settle(self, n):
        if self.settle:
            n["obj"].process_all_queues()

    def _tx(self, name, idx):
        def tx(data):
            data = bytes(data)
            peer = self.links.get((name, idx))
            if peer is None:
                self.outbox.append([self.t, name, idx, data.hex()])
            else:
                self.pending.append((peer[0], peer[1], data))
        return tx

    def _rx(self, name, idx, data):
        n = self.nodes[name]
        if n["relay"]:
            n["obj"].rx_packed_from_side(n["sides"][idx], data)
            self._settle(n)
        else:
            n["obj"].receive_packed_from_side(n["sides"][idx], data)

    def pump(self):
        while self.pending:
            name, idx, data = self.pending.pop(0)
            if not self.quiet_links:
                self._rx(name, idx, data)
                continue
            try:
                self._rx(name, idx, data)
            except self.errors:
                pass  # counted on the side

    def _handler(self, name, ep):
        def h(pkt):
            self.nodes[name]["got"].append([self.t, ep, pkt.ty, bytes(pkt.payload).hex()])
            self.nodes[name]["senders"].append(pkt.sender)
        return h

    def reset(self, cmd):
        self.nodes.clear()
        self.links.clear()
        del self.outbox[:]
        del self.pending[:]
        self.t = cmd.get("t", 0)
        for call in cmd.get("schema", ()):
            try:
                getattr(self.seds, call[0])(*call[1:])
            except self.errors:  # already registered by an earlier scenario in this process
                pass
        return {}

    def node(self, cmd):
        """{"name", "relay": bool, "hostname", "handlers": [endpoint IDs], "sides":
        [reliable...], "profile": add_side_packed_profile keywords, "kw": {...}}"""
        name = cmd["name"]
        relay = bool(cmd.get("relay"))
        kw = dict(cmd.get("kw", {}))
        if cmd.get("hostname") is not None and (self.relay_hostname or not relay):
            kw["hostname"] = cmd["hostname"]
        if relay:
            obj = self.relay(now_ms=self.now, **kw)
        else:
            kw["handlers"] = [(e, self._handler(name, e), None) for e in cmd.get("handlers", ())]
            obj = self.router(now_ms=self.now, **kw)
        n = {"obj": obj, "relay": relay, "sides": [], "got": [], "senders": []}
        self.nodes[name] = n
        prof = cmd.get("profile")
        for i, rel in enumerate(cmd.get("sides", ())):
            if prof is not None:
                n["sides"].append(obj.add_side_packed_profile("s%d" % i, self._tx(name, i), rel,
                                                              **prof))
            else:
                n["sides"].append(obj.add_side_packed("s%d" % i, self._tx(name, i),
                                                      reliable_enabled=rel))
        return {"sender_id": obj.sender_id}

    def link(self, cmd):
        a, ai, b, bi = cmd["a"], cmd["a_side"], cmd["b"], cmd["b_side"]
        self.links[(a, ai)] = (b, bi)
        self.links[(b, bi)] = (a, ai)
        return {}

    def add_side(self, cmd):
        n = self.nodes[cmd["node"]]
        idx = len(n["sides"])
        n["sides"].append(n["obj"].add_side_packed("s%d" % idx, self._tx(cmd["node"], idx),
                                                   reliable_enabled=cmd.get("reliable", False)))
        return {"index": idx}

    def rx_cmd(self, cmd):
        """Deliver frames from the test: {"node", "side", "frames": [hex...]}; a frame the
        node refuses is reported, not raised."""
        errors = []
        for h in cmd["frames"]:
            try:
                self._rx(cmd["node"], cmd["side"], bytes.fromhex(h))
                errors.append(None)
            except self.errors as e:
                errors.append(self._error(e))
        self.pump()
        return {"errors": errors}

    def run(self, cmd):
        """Advance the clock to "to" in "step" ms steps, periodic(0) on every node at each
        step (after setting the time), links delivered as they go. {"to", "step", "nodes"}."""
        step = cmd.get("step", 50)
        names = cmd.get("nodes") or list(self.nodes)
        t = cmd.get("from", self.t)
        while t <= cmd["to"]:
            self.t = t
            for name in names:
                self.nodes[name]["obj"].periodic(0)
            self.pump()
            t += step
        return {"t": self.t}

    def at(self, cmd):
        self.t = cmd["t"]
        return {}

    def call(self, cmd):
        """A method of a node: {"node", "method", "args": [...], "settle": false to leave its
        queues as they are}; side arguments given as {"side": index} are mapped to the node's
        side IDs."""
        n = self.nodes[cmd["node"]]
        args = [n["sides"][a["side"]] if isinstance(a, dict) and "side" in a else a
                for a in cmd.get("args", ())]
        result = getattr(n["obj"], cmd["method"])(*args)
        if cmd["method"] != "process_all_queues" and not n["relay"] and cmd.get("settle", True):
            self._settle(n)
        self.pump()
        if result is None or isinstance(result, (dict, list, int, str, float, bool)):
            return {"result": result}
        return {"result": repr(result)}

    def log_f32(self, cmd):
        n = self.nodes[cmd["node"]]
        if cmd.get("queue"):  # {"queue": true, "n": k}: k queued logs left in the TX queue
            for _ in range(cmd.get("n", 1)):
                n["obj"].log_f32(cmd["ty"], cmd["values"], None, True)
            return {}
        n["obj"].log_f32(cmd["ty"], cmd["values"])
        self._settle(n)
        self.pump()
        return {}

    def log_hex(self, cmd):
        n = self.nodes[cmd["node"]]
        n["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["hex"]))
        self._settle(n)
        self.pump()
        return {}

    def log_bytes(self, cmd):
        """{"node", "ty", "payload": hex}: log_bytes; a refusal is reported as "error"."""
        n = self.nodes[cmd["node"]]
        try:
            n["obj"].log_bytes(cmd["ty"], bytes.fromhex(cmd["payload"]))
        except self.errors as e:
            return {"error": self._error(e)}
        self._settle(n)
        self.pump()
        return {"error": None}

    def burst(self, cmd):
        """A queued burst: {"node", "ty", "n", "values"}: n log_f32(ty, values + [i],
        queue=True), then one process_all_queues()."""
        r = self.nodes[cmd["node"]]["obj"]
        for i in range(cmd["n"]):
            r.log_f32(cmd["ty"], cmd["values"] + [float(i)], None, True)
        r.process_all_queues()
        self.pump()
        return {}

    def fn(self, cmd):
        return {"result": getattr(self.seds, cmd["fn"])(*cmd.get("args", ()),
                                                        **cmd.get("kw", {}))}

    def out(self, cmd):
        """The frames sent since the last "out", oldest first: at most cmd["max"] of them (the
        rest stay for the next call, counted in "more"), so a burst never needs one reply
        bigger than the child's heap can place."""
        k = cmd.get("max", len(self.outbox))
        frames = self.outbox[:k]
        del self.outbox[:k]
        return {"frames": frames, "more": len(self.outbox)}

    def got(self, cmd):
        n = self.nodes[cmd["node"]]
        got = list(n["got"])
        senders = list(n["senders"])
        del n["got"][:]
        del n["senders"][:]
        return {"got": got, "senders": senders}

    def batch(self, cmd):
        results = []
        for c in cmd["cmds"]:
            r = self.handlers[c["op"]](c)
            results.append(r if r is not None else {})
        return {"results": results}

    def nv(self, cmd):
        """Network variables: {"node", "what": enable|on_update|set|seed|get|cached|request|
        updates|layout, "ty", "read", "write", "payload" hex, "ts", "stale", "packed": also
        return the set/seed Packet's pack() as hex}; a Packet comes back as [ts, hex];
        layout: the network_variable_* keys of export_memory_layout_json()."""
        n = self.nodes[cmd["node"]]
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
                sender = cmd.get("sender", r.hostname if hasattr(r, "hostname") else "x")
                pkt = self.seds.make_packet(ty, sender, cmd["endpoints"], cmd["ts"],
                                            bytes.fromhex(cmd["payload"]))
                (r.set_network_variable if op == "set" else r.seed_managed_variable)(pkt)
                if cmd.get("packed"):  # the Packet's own frame, to compare with what went out
                    self.pump()
                    return {"result": None, "packed": bytes(pkt.pack()).hex()}
            elif op == "request":
                r.request_managed_variable(ty)
            elif op == "layout":
                import json
                lay = json.loads(r.export_memory_layout_json())
                return {"result": [lay.get("network_variable_cache_len"),
                                   lay.get("network_variable_cache_bytes_used")]}
            elif op == "updates":
                u = list(n.get("nv_updates", []))
                del n.get("nv_updates", [])[:]
                return {"result": u}
            else:
                p = r.get_network_variable(ty, cmd.get("stale")) if op == "get" \
                    else r.cached_network_variable(ty)
                self.pump()
                return {"result": None if p is None else [p.timestamp_ms,
                                                          bytes(p.payload).hex()]}
        except self.errors as e:
            return {"error": self._error(e)}
        self.pump()
        return {"result": None}

    def p2p(self, cmd):
        """P2P ports and streams: {"node", "what": a Router P2P method, "args": [...] (bytes
        given as {"hex": ...}), "echo": hex}. bind_p2p_port / bind_p2p_stream_port (args
        [port]) get a callback that records [meta, payload hex] and, with "echo", answers a
        datagram's source port (or a stream's Data) with echo + payload; what "events"
        returns and clears the records."""
        n = self.nodes[cmd["node"]]
        r = n["obj"]
        ev = n.setdefault("p2p", [])
        what = cmd["what"]
        if what == "events":
            out = list(ev)
            del ev[:]
            return {"result": out}
        args = [bytes.fromhex(a["hex"]) if isinstance(a, dict) else a
                for a in cmd.get("args", ())]
        if what in ("bind_p2p_port", "bind_p2p_stream_port"):
            args.append(self._p2p_cb(r, ev, what == "bind_p2p_stream_port", cmd.get("echo")))
        try:
            result = getattr(r, what)(*args)
        except self.errors as e:
            return {"error": self._error(e)}
        self._settle(n)
        self.pump()
        return {"result": result}

    def _p2p_cb(self, r, ev, stream, echo):
        def cb(meta, payload):
            ev.append([dict(meta), bytes(payload).hex()])
            if echo is None:
                return
            if stream:
                if meta["kind"] == "Data":
                    r.send_p2p_stream(meta["stream_id"], bytes.fromhex(echo) + bytes(payload))
            else:
                r.send_p2p_to_hostname(meta["source_hostname"], meta["source_port"],
                                       meta["destination_port"],
                                       bytes.fromhex(echo) + bytes(payload))
        return cb
