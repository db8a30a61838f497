"""One simulated network out of two labs: reference Routers/Relays in a CPython process
(peers/ref_router_lab.py) and ours in a MicroPython process (peers/mp_router_lab.py), on one
clock. Links inside a lab are delivered there; links across labs go through this driver, which
reads each lab's outbox and feeds the frames to the other lab, until both are quiet."""
import contextlib

from peerproc import micropython_peer, reference_peer


class Net:
    def __init__(self, ref, mp, schema):
        self.labs = {"ref": ref, "mp": mp}
        self.where = {}  # node name -> lab key
        self.cross = {}  # (node, side index) -> (node, side index) across labs
        self.t = 0
        self.trace = []  # (t, node, side index, frame hex) of every frame carried across
        self.sims = {}  # (node, side index) -> tools/linksim.LinkSim of what it sends
        self.schema = schema
        for lab in self.labs.values():
            lab.call("reset", t=0, schema=schema)

    def add_lab(self, key, lab):
        """A third process (say a second reference lab: nodes in one process share its
        sender-name cache, so "what does a node learn" needs them apart)."""
        self.labs[key] = lab
        lab.call("reset", t=self.t, schema=self.schema)

    def node(self, lab, name, sides, handlers=(), relay=False, hostname=None, kw=None,
             reliable=False):
        self.where[name] = lab
        self.labs[lab].call("node", name=name, relay=relay, hostname=hostname or name,
                            handlers=list(handlers), sides=[reliable] * sides, kw=kw or {})

    def link(self, a, a_side, b, b_side, sim=None):
        """sim: a tools/linksim.Duplex (a_to_b, b_to_a) the frames of a link across labs go
        through, on the shared clock."""
        if self.where[a] == self.where[b]:
            self.labs[self.where[a]].call("link", a=a, a_side=a_side, b=b, b_side=b_side)
        else:
            self.cross[(a, a_side)] = (b, b_side)
            self.cross[(b, b_side)] = (a, a_side)
            if sim is not None:
                self.sims[(a, a_side)] = sim.a_to_b
                self.sims[(b, b_side)] = sim.b_to_a

    def shuttle(self):
        """Carry frames across labs until neither has anything left to send."""
        for _ in range(100):
            moved = 0
            for lab in self.labs.values():
                for t, name, side, frame in lab.call("out")["frames"]:
                    self.trace.append((t, name, side, frame))
                    peer = self.cross.get((name, side))
                    if peer is None:
                        continue  # an open side nobody listens to
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

    def run(self, to, step=50):
        """Advance the shared clock to `to`: each step runs periodic() on every node of both
        labs, then carries the frames across."""
        t = self.t
        while t <= to:
            for lab in self.labs.values():
                lab.call("run", **{"from": t, "to": t, "step": step})
            self.t = t  # (link simulators send and deliver on this clock)
            self.shuttle()
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
