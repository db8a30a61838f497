# The "network_variables" and "p2p" sections of a board config (sedsnet_node/app.py imports
# this module only when a config has one of them, so a board without them loads neither
# sedsnet.netvar nor sedsnet.p2p):
#   "network_variables": {"own": [{"type": "FLIGHT_STATE", "kind": "sim_flight_state",
#                                  "period_ms": 500, "phase_ms": 4000}],
#                         "watch": ["FLIGHT_STATE"]}
#     own: types this board sets: read() every period_ms, set_network_variable() when the value
#          changes (pushed to the holders the network announces); kind "sim_flight_state" (the
#          phases 0..5 PAD BOOST COAST APOGEE DESCENT LANDED, one every phase_ms, then LANDED)
#          or "module.factory" (factory(entry, clock) -> read() returning an int or None);
#     watch: types this board holds: every update is logged ("sedsnet: netvar NAME=v from H").
#   "p2p": {"status_port": 7}: a line-based "status" service on that P2P port, as
#     examples/p2p_status serves it: "status [tag]\n" -> "key=value\n" lines (tag=, uptime_ms=,
#     heap_free=, loops=, errors=) sent back to the asker's source port.
from .mainloop import Sensor, ticks_diff

NV_KEYS = ("own", "watch")
OWN_KEYS = ("type", "kind", "period_ms", "phase_ms")
P2P_KEYS = ("status_port",)
PHASES = ("PAD", "BOOST", "COAST", "APOGEE", "DESCENT", "LANDED")


def check(cfg, path, fail):
    """ConfigError (file, field, allowed; config.fail, passed in: boot() drops the config
    module, whose ConfigError the caller catches) for a bad "network_variables" or "p2p"."""
    nv = cfg.get("network_variables")
    if nv is not None:
        if not isinstance(nv, dict):
            fail(path, "network_variables", "must be an object {\"own\": [...], \"watch\": [...]}")
        for k in nv:
            if k not in NV_KEYS:
                fail(path, "network_variables." + k, "unknown key", NV_KEYS)
        own = nv.get("own", [])
        if not isinstance(own, list):
            fail(path, "network_variables.own", "must be a list of {\"type\", \"kind\"} objects")
        for i, o in enumerate(own):
            where = "network_variables.own[%d]" % i
            if not isinstance(o, dict) or not isinstance(o.get("type"), str):
                fail(path, where + ".type", "missing or not a type name")
            for k in o:
                if k not in OWN_KEYS:
                    fail(path, where + "." + k, "unknown key", OWN_KEYS)
            kind = o.get("kind", "sim_flight_state")
            if not isinstance(kind, str) or (kind != "sim_flight_state" and "." not in kind):
                fail(path, where + ".kind", "unknown kind %r" % (kind,),
                     ("sim_flight_state", "module.factory"))
            for k in ("period_ms", "phase_ms"):
                v = o.get(k, 1)
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    fail(path, where + "." + k, "must be an int >= 1, not %r" % (v,))
        watch = nv.get("watch", [])
        if not isinstance(watch, list) or not all(isinstance(t, str) for t in watch):
            fail(path, "network_variables.watch", "must be a list of type names")
    p2p = cfg.get("p2p")
    if p2p is not None:
        if not isinstance(p2p, dict):
            fail(path, "p2p", "must be an object {\"status_port\": 7}")
        for k in p2p:
            if k not in P2P_KEYS:
                fail(path, "p2p." + k, "unknown key", P2P_KEYS)
        port = p2p.get("status_port", 7)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 0xFFFF:
            fail(path, "p2p.status_port", "must be a port 1..65535, not %r" % (port,))


def types_of(cfg, seds, path, types, data_type_id):
    """[(entry, type id)] of the owned and [(name, type id)] of the watched variables."""
    nv = cfg.get("network_variables") or {}
    own = [(o, data_type_id(seds, path, "network_variables.own[%d].type" % i, o["type"], types))
           for i, o in enumerate(nv.get("own", ()))]
    watch = [(t, data_type_id(seds, path, "network_variables.watch[%d]" % i, t, types))
             for i, t in enumerate(nv.get("watch", ()))]
    return own, watch


def flight_state(entry, clock):
    """sim_flight_state: the phase index since the board started, one every phase_ms."""
    step = entry.get("phase_ms", 4000)
    t0 = clock()

    def read():
        n = ticks_diff(clock(), t0) // step
        return n if n < len(PHASES) else len(PHASES) - 1
    return read


class Variable(Sensor):
    """An owned network variable: sampled like a sensor (MainLoop calls emit), set when the
    value read changes."""

    def __init__(self, seds, hostname, name, ty, period_ms, read, clock, log):
        Sensor.__init__(self, name, ty, period_ms, read)
        self.seds, self.hostname, self.clock, self.log = seds, hostname, clock, log
        self.value = None
        self.eps = seds.data_type_info(ty)["endpoints"]
        self.sets = 0

    def emit(self, router):
        v = self.read()
        if v is None or v == self.value:
            return
        pkt = self.seds.make_packet(self.ty, self.hostname, self.eps, self.clock() & 0xFFFFFFFF,
                                    bytes((v & 0xFF,)))
        router.set_network_variable(pkt)
        self.value = v
        self.sets += 1
        self.log("sedsnet: netvar set %s=%d" % (self.name, v))


def _watcher(name, log):
    def on_update(pkt):
        p = bytes(pkt.payload)
        log("sedsnet: netvar %s=%d from %s" % (name, p[0] if p else -1, pkt.sender))
    return on_update


def setup(seds, cfg, router, loop, own, watch, clock, log):
    """Enable the config's variables and bind its status port on a built router/loop."""
    for entry, ty in own:
        router.enable_network_variable(ty, True, True)
        kind = entry.get("kind", "sim_flight_state")
        if kind == "sim_flight_state":
            read = flight_state(entry, clock)
        else:
            mod, _, fn = kind.rpartition(".")
            read = getattr(__import__(mod, None, None, (fn,)), fn)(entry, clock)
        loop.add_sensor(Variable(seds, cfg["hostname"], entry["type"], ty,
                                 entry.get("period_ms", 500), read, clock, log))
    for name, ty in watch:
        router.enable_network_variable(ty, True, False)
        router.on_network_variable_update(ty, _watcher(name, log))
    p2p = cfg.get("p2p")
    if p2p is not None:
        port = p2p.get("status_port", 7)
        srv = StatusServer(router, loop, port, clock)
        router.bind_p2p_port(port, srv.on_request)
        loop.add_sensor(srv)


class StatusServer(Sensor):
    """The "status" service. A reply to an asker whose ADDRESS this board has not heard yet
    (BadArg: the request came by a route, its hostname not yet by discovery) waits, and is
    retried every period_ms (MainLoop calls emit) for up to _HOLD_MS; at most _PENDING wait."""

    def __init__(self, router, loop, port, clock):
        Sensor.__init__(self, "p2p_status", 0, 250, None)
        self.router, self.loop, self.port, self.clock = router, loop, port, clock
        self.started = clock()
        self.pending = []  # [hostname, port, reply bytes, since ms]
        self.answered = self.unanswered = 0

    def on_request(self, meta, payload):
        import gc
        for line in bytes(payload).split(b"\n"):
            words = line.split()
            if not words:
                continue
            if words[0] == b"status":
                gc.collect()
                reply = "tag=%s\nuptime_ms=%d\nheap_free=%d\nloops=%d\nerrors=%d\n" % (
                    str(words[1], "utf-8") if len(words) > 1 else "-",
                    ticks_diff(self.clock(), self.started),
                    gc.mem_free() if hasattr(gc, "mem_free") else -1, self.loop.loops,
                    self.loop.errors)
            else:
                reply = "error unknown command\n"
            p = [meta["source_hostname"], meta["source_port"], reply.encode(), self.clock()]
            if not self._send(p):
                if len(self.pending) >= _PENDING:
                    self.pending.pop(0)
                    self.unanswered += 1
                self.pending.append(p)

    def _send(self, p):
        from sedsnet.errors import ArgumentError
        try:
            self.router.send_p2p_to_hostname(p[0], p[1], self.port, p[2])
        except ArgumentError:  # the asker's hostname: not heard yet
            return False
        self.answered += 1
        return True

    def emit(self, router):
        for p in self.pending[:]:
            if self._send(p):
                self.pending.remove(p)
            elif ticks_diff(self.clock(), p[3]) > _HOLD_MS:
                self.pending.remove(p)
                self.unanswered += 1


_PENDING = 4
_HOLD_MS = 5000
