"""One simulated network out of two labs: reference Routers/Relays in a CPython process
(peers/ref_router_lab.py) and ours in a MicroPython process (peers/mp_router_lab.py), on one
clock. Links inside a lab are delivered there; links across labs go through this driver, which
reads each lab's outbox and feeds the frames to the other lab, until both are quiet. A link
across labs may have a delay (ms, per direction: a number, or f(t, rng) drawn per frame from
the Net's seeded rng); its frames arrive at their own time, between run() steps."""
import contextlib
import random

from peerproc import micropython_peer, reference_peer


class Net:
    def __init__(self, ref, mp, schema, seed=1):
        self.labs = {"ref": ref, "mp": mp}
        self.delay = {}  # (node, side index) -> delay of what it sends (see link())
        self.flight = []  # (arrival t, node, side index, frame hex) on delayed links
        self.rng = random.Random(seed)
        self.where = {}  # node name -> lab key
        self.cross = {}  # (node, side index) -> (node, side index) across labs
        self.t = 0
        self.trace = []  # (t, node, side index, frame hex) of every frame carried across
        self.sims = {}  # (node, side index) -> tools/linksim.LinkSim of what it sends
        self.schema = schema
        for lab in self.labs.values():
            lab.call("reset", t=0, schema=schema)

    def reset(self, seed=None):
        """A fresh network for the next test: every lab reset (its nodes gone, the schema
        registered again), no links, delays, frames in flight or trace, the clock at 0 (and
        the link randomness reseeded when seed is given). Returns the Net."""
        for lab in self.labs.values():
            lab.call("reset", t=0, schema=self.schema)
        self.where.clear()
        self.cross.clear()
        self.delay.clear()
        self.sims.clear()
        del self.flight[:]
        del self.trace[:]
        if seed is not None:
            self.rng.seed(seed)
        self.t = 0
        return self

    def add_lab(self, key, lab):
        """A third process (say a second reference lab: nodes in one process share its
        sender-name cache, so "what does a node learn" needs them apart)."""
        self.labs[key] = lab
        lab.call("reset", t=self.t, schema=self.schema)

    def node(self, lab, name, sides, handlers=(), relay=False, hostname=None, kw=None,
             reliable=False, profile=None):
        """profile: add_side_packed_profile keywords for every side (None: add_side_packed)."""
        self.where[name] = lab
        self.labs[lab].call("node", name=name, relay=relay, hostname=hostname or name,
                            handlers=list(handlers), sides=[reliable] * sides, kw=kw or {},
                            profile=profile)

    def link(self, a, a_side, b, b_side, delay=None, back=None, sim=None):
        """delay: what a sends to b takes this long (ms, or f(t, rng) -> ms); back: b to a
        (default: the same). sim: a tools/linksim.Duplex (a_to_b, b_to_a) the frames go
        through instead, on the shared clock. Delays and sims only on links across labs."""
        if delay is not None:
            self.delay[(a, a_side)] = delay
            self.delay[(b, b_side)] = delay if back is None else back
        if self.where[a] == self.where[b]:
            self.labs[self.where[a]].call("link", a=a, a_side=a_side, b=b, b_side=b_side)
        else:
            self.cross[(a, a_side)] = (b, b_side)
            self.cross[(b, b_side)] = (a, a_side)
            if sim is not None:
                self.sims[(a, a_side)] = sim.a_to_b
                self.sims[(b, b_side)] = sim.b_to_a

    @staticmethod
    def _out(lab):
        # in replies of at most 64 frames: a mesh's discovery burst can be hundreds, and one
        # reply of them all is a string the MicroPython child may find no heap block for
        while True:
            rep = lab.call("out", max=64)
            yield from rep["frames"]
            if not rep["more"]:
                return

    def shuttle(self):
        """Carry frames across labs until neither has anything left to send."""
        for _ in range(100):
            moved = 0
            for lab in self.labs.values():
                for t, name, side, frame in self._out(lab):
                    self.trace.append((t, name, side, frame))
                    peer = self.cross.get((name, side))
                    if peer is None:
                        continue  # an open side nobody listens to
                    d = self.delay.get((name, side))
                    if d is not None:
                        d = d(t, self.rng) if callable(d) else d
                        self.flight.append((t + d, peer[0], peer[1], frame))
                        continue
                    sim = self.sims.get((name, side))
                    if sim is not None:
                        sim.send(self.t, bytes.fromhex(frame))
                        continue
                    self.labs[self.where[peer[0]]].call("rx", node=peer[0], side=peer[1],
                                                         frames=[frame])
                    moved += 1
            for (name, side), sim in self.sims.items():
                frames = [f.hex() for f in sim.due(self.t)]
                if frames:
                    peer = self.cross[(name, side)]
                    self.labs[self.where[peer[0]]].call("rx", node=peer[0], side=peer[1],
                                                         frames=frames)
                    moved += 1
            if not moved:
                return
        raise AssertionError("the network never went quiet")

    def land(self, t):
        """Deliver the delayed frames due by t, each at its own arrival time (in order; the
        answers they cause may land before t too)."""
        while True:
            due = [f for f in self.flight if f[0] <= t]
            if not due:
                return
            due.sort(key=lambda f: f[0])
            at, name, side, frame = due[0]
            self.flight.remove(due[0])
            self.labs[self.where[name]].call("batch", cmds=[
                {"op": "at", "t": at}, {"op": "rx", "node": name, "side": side,
                                        "frames": [frame]}])
            self.shuttle()

    def run(self, to, step=50, each=None):
        """Advance the shared clock to `to`: each step lands the delayed frames due, runs
        periodic() on every node of both labs, carries the frames across, then calls
        each(t) if given."""
        t = self.t
        while t <= to:
            if self.flight:
                self.land(t)
            for lab in self.labs.values():
                lab.call("run", **{"from": t, "to": t, "step": step})
            self.t = t  # (link simulators send and deliver on this clock)
            self.shuttle()
            if each is not None:
                each(t)
            t += step
        self.t = t

    def call(self, name, method, *args):
        lab = self.labs[self.where[name]]
        lab.call("at", t=self.t)
        result = lab.call("call", node=name, method=method, args=list(args))["result"]
        self.shuttle()
        return result

    def log_f32(self, name, ty, values):
        lab = self.labs[self.where[name]]
        lab.call("at", t=self.t)
        lab.call("log_f32", node=name, ty=ty, values=values)
        self.shuttle()

    def log_bytes(self, name, ty, data):
        lab = self.labs[self.where[name]]
        lab.call("at", t=self.t)
        lab.call("log_hex", node=name, ty=ty, hex=bytes(data).hex())
        self.shuttle()

    def got(self, name):
        return self.labs[self.where[name]].call("got", node=name)["got"]

    def senders(self, name):
        """The sender strings of what name's handlers got (and clears it, as got() does)."""
        return self.labs[self.where[name]].call("got", node=name)["senders"]


@contextlib.contextmanager
def network(schema, heapsize="4M"):
    with reference_peer("ref_router_lab.py") as ref, \
            micropython_peer("mp_router_lab.py", heapsize) as mp:
        yield Net(ref, mp, schema)


def node_call(net, name, cmd, **kw):
    """A lab command (peers/router_lab.py) on node name at the network's time, then the
    frames it sent shuttled; the lab's reply without its "ok"."""
    lab = net.labs[net.where[name]]
    lab.call("at", t=net.t)
    res = lab.call(cmd, node=name, **kw)
    res.pop("ok", None)
    net.shuttle()
    return res


def nv(net, name, op, **kw):
    """A network-variable call (the "nv" command: enable, set, get, cached, updates, ...)."""
    return node_call(net, name, "nv", what=op, **kw)


def p2p(net, name, what, *args, echo=None):
    """A P2P call (the "p2p" command: bind, send, events, ...); bytes arguments as hex."""
    kw = {"args": [{"hex": a.hex()} if isinstance(a, bytes) else a for a in args]}
    if echo is not None:
        kw["echo"] = echo.hex()
    return node_call(net, name, "p2p", what=what, **kw)
