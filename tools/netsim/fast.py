"""--fast: the scenario on one simulated clock, as fast as the CPU goes.

Every board runs in its own MicroPython process (fastlab.py: firmware/app.py's build() of the
board's config, the code its main.py boots, with lab hardware: byte-buffer UARTs, the SX127x and
nRF24L01 simulators on a lab air, all on an injected clock; the process heap is the board's, so
its status lines give its heap); every reference node runs in its own process on the same clock
(refnode.py with "fake_clock": its Router/Relay gets now_ms). This process owns the clock: each
window of `window_ms` it delivers what the links (links.Hub, the same LinkSim faults) have due,
lets every lab step its board `step_ms` apart up to the window's end (the labs run side by
side), then advances each reference node. The scenario's features apply as in real time
(features.py: the reference node specs, the boards' configs, the flagged schema files; time-sync
offsets from the boards' net_ms= status lines against the source on the same simulated clock).
Latencies are quantised to the window. A reboot event ends the board's lab process and starts
a new one at the event's simulated time (its clock runs on from there, as a board's ticks do
across a soft reset; the boot takes no simulated time); its console gets the vboard's
"MPY: soft reboot" line. Not supported here: the boards' .mpy images and main.py itself (the
lab calls build()).
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import features  # noqa: E402
import links  # noqa: E402
import netevents  # noqa: E402
import report  # noqa: E402
import runner  # noqa: E402

import sedsnet as ref  # noqa: E402  the reference (endpoint IDs by name); never ours here

REPO = os.path.dirname(os.path.dirname(HERE))


class LabEnd(links.End):
    """A board side inside the lab: deliver() queues the bytes for the lab's next window."""

    def __init__(self, node, side, hub, run, uart, air_header=0):
        links.End.__init__(self, node, side, hub)
        self.run, self.uart = run, uart
        self.air_header = air_header  # a radio's datagram: its settings bytes, then the payload
        self.crc_failures = 0
        self.dec = links.cobs.CobsDecoder(4096) if uart else None

    def _frame(self, n):
        frame = bytes(self.dec.buf[:n])
        if not links.crc_ok(frame):
            self.crc_failures += 1
        self.emit(frame)

    def lab_output(self, raw):
        if self.uart:
            self.dec.feed(raw, len(raw), self._frame)
        else:
            if not links.crc_ok(raw[self.air_header:]):
                self.crc_failures += 1
            self.emit(raw)

    def deliver(self, frame):
        self.rx += 1
        data = b"\x00" + links.cobs.encode(frame) + b"\x00" if self.uart else bytes(frame)
        self.run.inputs.append([self.node, self.side, data.hex(), self.run.T[0]])


class Lines:
    """A lab board's console: its lines, and (simulated ms, net_ms=) of its status lines."""

    def __init__(self):
        self.lines = []
        self.net = []

    def add(self, line, t):
        self.lines.append(line)
        if " net_ms=" in line:
            try:
                self.net.append((t, int(line.split(" net_ms=")[1].split()[0])))
            except ValueError:
                pass


NO_FEATURES = {"timesync_source": None, "type_flags": {}, "reliable_sides": [], "e2e": None,
               "tuning": {}}
LAB_HEAP = "2M"  # a board's lab process: the library compiled from .py, its router and links


def live_heap_summary(samples):
    """{samples, first, after_warmup, last, max, growth, tables}: the live heap of a board's
    lab after gc.collect(), every heap_every_ms; growth is last - the first sample at or after
    10% of the run and 10 s (the code loads, the tables and queues fill first), the figure a
    soak wants near 0. tables: per field of
    the router's export_memory_layout_json() (*_used, *_len) its largest value in the first
    and in the second half of the run after the warm-up (a table that keeps growing shows
    there)."""
    if not samples:
        return None
    vals = [v for _t, v, _tb in samples]
    start = max(10.0, samples[-1][0] / 10.0)  # warm-up: 10% of the run, at least 10 s
    warm = next((v for t, v, _tb in samples if t >= start), vals[-1])
    after = [tb for t, _v, tb in samples if t >= start] or [samples[-1][2]]
    half = len(after) // 2
    tables = {}
    for k in sorted(samples[-1][2]):
        first = [tb.get(k, 0) for tb in after[:max(1, half)]]
        second = [tb.get(k, 0) for tb in after[half:]]
        tables[k] = {"max_first_half": max(first), "max_second_half": max(second),
                     "last": samples[-1][2][k]}
    return {"samples": len(vals), "first": vals[0], "after_warmup": warm, "last": vals[-1],
            "max": max(vals), "growth": vals[-1] - warm, "tables": tables}


class FastRun(runner.Run):
    def __init__(self, sc, out_dir, quiet=False, out=sys.stdout, seconds=None, keep=False,
                 step_ms=5, window_ms=20):
        runner.Run.__init__(self, sc, out_dir, quiet, out, seconds, keep)
        self.T = [0]
        self.step_ms, self.window_ms = step_ms, window_ms
        handled = {b["name"]: {ref.endpoint_identity(h) for h in
                                       b["config"].get("handlers", ())} for b in sc["boards"]}
        self.tracker = report.Tracker(handled, now=lambda: self.T[0] / 1000.0)
        self.hub = links.Hub(sc["seed"], self.tracker.observe, self.tracker.arrive,
                             now_ms=lambda: self.T[0])
        netevents.setup(self)
        self.inputs = []
        self.labs = {}  # board name -> its lab process
        self.heap_every_ms = 10000
        self.live_heap = {}  # board name -> [(simulated s, live heap after gc.collect())]
        self.router_drops = {}  # board name -> its router's drops by reason (the last sample)

    def start(self):
        sc = self.sc
        feat = sc.get("feat") or NO_FEATURES
        self._log = open(os.path.join(self.root, "refnodes.log"), "wb")
        self._ref_ends = {}
        for n in sc["nodes"]:
            spec = {k: n[k] for k in ("name", "kind", "hostname", "schema", "handlers",
                                             "command", "sides")}
            spec.update(features.node_spec(feat, n["name"], {b["name"]: b["hostname"]
                                                             for b in sc["boards"]}))
            spec["fake_clock"] = True
            proc = runner.RefProc(spec, self._ref_frame, self._ref_event, self._log)
            self.refs[n["name"]] = proc
            self._ref_ends[n["name"]] = [links.RefSide(n["name"], s, self.hub, proc, i)
                                         for i, s in enumerate(n["sides"])]
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join(os.path.join(REPO, d) for d in
                                             ("lib", "firmware", os.path.join("tools", "shims")))
        mp = os.environ.get("MICROPYTHON") or os.path.join(REPO, ".venv", "bin", "micropython")
        self._mp, self._env, self.lab_cfg = mp, env, {}
        for b in sc["boards"]:
            self.labs[b["name"]] = self._lab(b, features.board_config(feat, b), feat)
        for name, lab in self.labs.items():
            self._ready(name, lab)
        self.lab_ends = {}
        for b in sc["boards"]:
            self.consoles[b["name"]] = Lines()
        for l in sc["links"]:
            ends = []
            for node, side in l["ends"]:
                if node in self.refs:
                    ends.append(self._ref_ends[node][self.sc_nodes_side(node, side)])
                else:
                    e = LabEnd(node, side, self.hub, self, l["type"] not in links.AIR_HEADERS,
                               links.AIR_HEADERS.get(l["type"], 0))
                    self.lab_ends[(node, side)] = e
                    ends.append(e)
            self.ends.extend(ends)
            self.hub.add_link(l, ends)

    def _lab(self, b, cfg, feat):
        """One board's lab process: its board directory (the schema with the scenario's
        per-type flags, as the real-time runner deploys it) and its config."""
        bdir = os.path.join(self.root, b["name"])
        shutil.copytree(os.path.join(REPO, "boards", b["board"]), bdir)
        features.flag_schema(os.path.join(bdir, cfg.get("schema") or "schema.json"),
                             feat["type_flags"])
        self.lab_cfg[b["name"]] = cfg  # (a key rotation updates it: a reboot keeps the key)
        return self._spawn(b["name"], 0)

    def _spawn(self, name, t0):
        spec = {"step_ms": self.step_ms, "t0": t0, "boards": [
            {"name": name, "config": self.lab_cfg[name], "dir": os.path.join(self.root, name)}]}
        path = os.path.join(self.root, name + "-lab.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return subprocess.Popen([self._mp, "-X", "heapsize=" + LAB_HEAP,
                                 os.path.join(HERE, "fastlab.py"), path],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=self.root, env=self._env)

    def _ready(self, name, lab):
        ready = lab.stdout.readline()
        if not ready.startswith('{"ready"'):
            raise RuntimeError("fast lab of %s did not start: %r" % (name, ready))

    def reboot(self, name):
        """The board's lab process ends and a new one boots at the current simulated time: what
        was on its way in is lost, as on a board that resets; its UART decoders start afresh."""
        netevents.carry(self, name)  # (its E2E counters, with a key rotation ahead)
        self._stop_lab(self.labs[name])
        self.consoles[name].add("MPY: soft reboot", self.T[0])  # (the vboard's line; ms)
        self.inputs = [one for one in self.inputs if one[0] != name]
        lab = self.labs[name] = self._spawn(name, self.T[0])
        self._ready(name, lab)
        for (node, _side), end in self.lab_ends.items():
            if node == name and end.dec is not None:
                end.dec = links.cobs.CobsDecoder(4096)

    def _window(self, until):
        self.hub.pump()  # what is due by now goes into this window's inputs / reference nodes
        per = {name: [] for name in self.labs}
        for one in self.inputs:
            per[one[0]].append(one)
        self.inputs = []
        for name, lab in self.labs.items():  # all labs step side by side, then answer
            lab.stdin.write(json.dumps({"until": until, "in": per[name]}) + "\n")
            lab.stdin.flush()
        out = []
        for name, lab in self.labs.items():
            line = lab.stdout.readline()
            while line and not line.startswith("{"):  # a print() of the library's own (a
                self.consoles[name].add(line.rstrip("\n"), self.T[0] / 1000.0)  # handler
                line = lab.stdout.readline()  # failure): the board's console, not a reply
            if not line:
                raise RuntimeError("the fast lab of %s ended (see its console log)" % name)
            reply = json.loads(line)
            out.extend(reply["out"])
            for board, text, t in reply["log"]:
                self.consoles[board].add(text, t)
        out.sort(key=lambda o: o[3])  # the links see the boards' frames in time order
        now = self.T[0]
        for board, side, data, t in out:
            end = self.lab_ends.get((board, side))
            if end is not None:
                self.T[0] = t
                end.lab_output(bytes.fromhex(data))
        self.T[0] = now
        self.T[0] = until
        for p in self.refs.values():
            p.call_op({"op": "advance", "t": until})

    def run(self):
        t0 = time.monotonic()
        self.start()
        end_ms = int(self.seconds * 1000)
        self.say("--fast: %s, %.0f s of simulated time, boards stepped every %d ms"
                 % (self.sc["name"], self.seconds, self.step_ms))
        pending = []
        for e in self.sc["events"]:
            if e["do"] == "flap":
                for k in range(e["count"]):
                    at = e["at_s"] + k * e["period_s"]
                    pending += [{"at_s": at, "do": "link_down", "link": e["link"], "quiet": 1},
                                {"at_s": at + e["period_s"] / 2, "do": "link_up",
                                 "link": e["link"], "quiet": 1}]
            pending.append(e)
        pending.sort(key=lambda e: e["at_s"])
        next_say = 10000
        next_heap = 0
        while self.T[0] < end_ms:
            while pending and pending[0]["at_s"] * 1000 <= self.T[0]:
                e = pending.pop(0)
                if e.get("quiet"):
                    self.hub.set_up(e["link"], e["do"] == "link_up")
                elif e["do"] == "reboot":
                    self.reboot(e["board"])
                    self.fired.append({"at_s": e["at_s"], "what": "board %s reboots (its lab "
                                       "process restarts)" % e["board"]})
                elif e["do"] != "flap":
                    self._fire(e)
                else:
                    self.fired.append({"at_s": e["at_s"], "what": "link %s flaps %d times"
                                       % (e["link"], e["count"])})
            self._window(min(end_ms, self.T[0] + self.window_ms))
            if self.T[0] >= next_heap:
                next_heap += self.heap_every_ms
                self.sample_heap()
            if self.T[0] >= next_say:
                next_say += 10000
                types = self.tracker.per_type()
                self.say("t=%4d s  wall %5.1f s  delivered %s" % (
                    self.T[0] // 1000, time.monotonic() - t0,
                    ", ".join("%s %d/%d" % (n, t["delivered"], t["sent"])
                              for n, t in sorted(types.items()))))
        self.elapsed = self.T[0] / 1000.0
        self.wall = time.monotonic() - t0
        rep = self.finish()
        return rep

    def sample_heap(self):
        for lab in self.labs.values():
            lab.stdin.write('{"op": "heap"}\n')
            lab.stdin.flush()
        for name, lab in self.labs.items():
            d = json.loads(lab.stdout.readline())
            self.live_heap.setdefault(name, []).append((self.T[0] / 1000.0, d["live"],
                                                        d["tables"]))
            self.router_drops[name] = d["drops"]

    def collect(self, ground):
        self.sample_heap()
        rep = runner.Run.collect(self, ground)
        for b in rep["boards"]:  # each board's own process: its live heap over the run
            b["heap_live"] = live_heap_summary(self.live_heap.get(b["name"], ()))
            b["router_drops"] = self.router_drops.get(b["name"], {})
        rep["fast"] = {"step_ms": self.step_ms, "window_ms": self.window_ms,
                       "simulated_s": self.elapsed, "radios": self.radios()}
        return rep

    def lab_call(self, name, msg):
        """One op to a board's lab, its JSON reply (a line the lab prints itself: console)."""
        lab = self.labs[name]
        lab.stdin.write(json.dumps(msg) + "\n")
        lab.stdin.flush()
        line = lab.stdout.readline()
        while line and not line.startswith("{"):
            self.consoles[name].add(line.rstrip("\n"), self.T[0])
            line = lab.stdout.readline()
        return json.loads(line) if line else None

    def radios(self):
        out = {}
        for lab in self.labs.values():
            lab.stdin.write('{"op": "radios"}\n')
            lab.stdin.flush()
            out.update(json.loads(lab.stdout.readline()))
        return out

    @staticmethod
    def _stop_lab(lab):
        if lab.poll() is None:
            try:
                lab.stdin.write('{"op": "stop"}\n')
                lab.stdin.flush()
                lab.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                lab.kill()
                lab.wait()

    def close(self):
        for lab in self.labs.values():
            self._stop_lab(lab)
        for p in self.refs.values():
            p.close()
        self._log.close()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
