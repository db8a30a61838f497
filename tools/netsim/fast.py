"""--fast: the scenario on one simulated clock, as fast as the CPU goes.

Every board runs in ONE MicroPython process (fastlab.py: firmware/app.py's build() of the board's
config, the code its main.py boots, with lab hardware: byte-buffer UARTs, the SX127x simulator
on a lab air, all on an injected clock); every reference node runs in its own process on the
same clock (refnode.py with "fake_clock": its Router/Relay gets now_ms). This process owns the
clock: each window of `window_ms` it delivers what the links (links.Hub, the same LinkSim faults)
have due, lets the lab step every board `step_ms` apart up to the window's end, then advances
each reference node. Latencies are quantised to the window. Not supported here: reboot events
(noted in the report), the boards' .mpy images and main.py itself (the lab calls build()).
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import links  # noqa: E402
import report  # noqa: E402
import runner  # noqa: E402
import scenario  # noqa: E402

import sedsnet as ref  # noqa: E402  the reference (endpoint IDs by name); never ours here

REPO = os.path.dirname(os.path.dirname(HERE))


class LabEnd(links.End):
    """A board side inside the lab: deliver() queues the bytes for the lab's next window."""

    def __init__(self, node, side, hub, run, uart):
        links.End.__init__(self, node, side, hub)
        self.run, self.uart = run, uart
        self.air = not uart
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
            if not links.crc_ok(raw[links.AIR_HEADER:]):
                self.crc_failures += 1
            self.emit(raw)

    def deliver(self, frame):
        self.rx += 1
        data = b"\x00" + links.cobs.encode(frame) + b"\x00" if self.uart else bytes(frame)
        self.run.inputs.append([self.node, self.side, data.hex(), self.run.T[0]])


class Lines:
    def __init__(self):
        self.lines = []


def scenario_features(sc):
    return sorted(k for k in sc.get("features", {}) if k in scenario.SIMULATED_KEYS)


class FastRun(runner.Run):
    def __init__(self, sc, out_dir, quiet=False, out=sys.stdout, seconds=None, keep=False,
                 step_ms=5, window_ms=20):
        runner.Run.__init__(self, sc, out_dir, quiet, out, seconds, keep)
        for k in scenario_features(sc):  # the real-time runner applies them, --fast does not
            sc["ignored"].append("features.%s: not applied in --fast" % k)
        sc["feat"] = None
        self.T = [0]
        self.step_ms, self.window_ms = step_ms, window_ms
        handled = {b["name"]: {ref.endpoint_identity(h) for h in
                                       b["config"].get("handlers", ())} for b in sc["boards"]}
        self.tracker = report.Tracker(handled, now=lambda: self.T[0] / 1000.0)
        self.hub = links.Hub(sc["seed"], self.tracker.observe, self.tracker.arrive,
                             now_ms=lambda: self.T[0])
        self.inputs = []
        self.lab = None

    def start(self):
        sc = self.sc
        self._log = open(os.path.join(self.root, "refnodes.log"), "wb")
        self._ref_ends = {}
        for n in sc["nodes"]:
            spec = {k: n[k] for k in ("name", "kind", "hostname", "schema", "handlers",
                                             "command", "sides")}
            spec["fake_clock"] = True
            proc = runner.RefProc(spec, self._ref_frame, self._ref_event, self._log)
            self.refs[n["name"]] = proc
            self._ref_ends[n["name"]] = [links.RefSide(n["name"], s, self.hub, proc, i)
                                         for i, s in enumerate(n["sides"])]
        spec = {"step_ms": self.step_ms, "boards": [
            {"name": b["name"], "config": b["config"],
             "dir": os.path.join(REPO, "boards", b["board"])} for b in sc["boards"]]}
        path = os.path.join(self.root, "lab.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join(os.path.join(REPO, d) for d in
                                             ("lib", "firmware", os.path.join("tools", "shims")))
        mp = os.environ.get("MICROPYTHON") or os.path.join(REPO, ".venv", "bin", "micropython")
        self.lab = subprocess.Popen([mp, "-X", "heapsize=%dM" % (4 + 2 * len(sc["boards"])),
                                     os.path.join(HERE, "fastlab.py"), path],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    cwd=self.root, env=env)
        ready = self.lab.stdout.readline()
        if not ready.startswith('{"ready"'):
            raise RuntimeError("fast lab did not start: %r" % ready)
        self.lab_ends = {}
        for b in sc["boards"]:
            self.consoles[b["name"]] = Lines()
        for l in sc["links"]:
            ends = []
            for node, side in l["ends"]:
                if node in self.refs:
                    ends.append(self._ref_ends[node][self.sc_nodes_side(node, side)])
                else:
                    e = LabEnd(node, side, self.hub, self, l["type"] != "lora")
                    self.lab_ends[(node, side)] = e
                    ends.append(e)
            self.ends.extend(ends)
            self.hub.add_link(l, ends)

    def _window(self, until):
        self.hub.pump()  # what is due by now goes into this window's inputs / reference nodes
        self.lab.stdin.write(json.dumps({"until": until, "in": self.inputs}) + "\n")
        self.lab.stdin.flush()
        self.inputs = []
        reply = json.loads(self.lab.stdout.readline())
        now = self.T[0]
        for board, side, data, t in reply["out"]:
            end = self.lab_ends.get((board, side))
            if end is not None:
                self.T[0] = t
                end.lab_output(bytes.fromhex(data))
        self.T[0] = now
        for board, line in reply["log"]:
            self.consoles[board].lines.append(line)
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
        while self.T[0] < end_ms:
            while pending and pending[0]["at_s"] * 1000 <= self.T[0]:
                e = pending.pop(0)
                if e.get("quiet"):
                    self.hub.set_up(e["link"], e["do"] == "link_up")
                elif e["do"] == "reboot":
                    self.fired.append({"at_s": e["at_s"], "what": "reboot of %s skipped: not "
                                       "supported in --fast" % e["board"]})
                elif e["do"] != "flap":
                    self._fire(e)
                else:
                    self.fired.append({"at_s": e["at_s"], "what": "link %s flaps %d times"
                                       % (e["link"], e["count"])})
            self._window(min(end_ms, self.T[0] + self.window_ms))
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

    def collect(self, ground):
        rep = runner.Run.collect(self, ground)
        rep["fast"] = {"step_ms": self.step_ms, "window_ms": self.window_ms,
                       "simulated_s": self.elapsed, "radios": self.radios()}
        return rep

    def radios(self):
        self.lab.stdin.write('{"op": "radios"}\n')
        self.lab.stdin.flush()
        return json.loads(self.lab.stdout.readline())

    def close(self):
        if self.lab is not None and self.lab.poll() is None:
            try:
                self.lab.stdin.write('{"op": "stop"}\n')
                self.lab.stdin.flush()
                self.lab.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.lab.kill()
                self.lab.wait()
        for p in self.refs.values():
            p.close()
        self._log.close()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
