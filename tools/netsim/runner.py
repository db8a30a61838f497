"""Run a parsed scenario in real time: build and deploy the boards' images (tools/build.py,
tools/deploy.py onto each virtual board's filesystem directory), start the virtual boards
(tools/vboard.py) and the reference nodes (refnode.py), join their sides through links.Hub,
fire the timed events, show the live view, then collect the report.
"""
import contextlib
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, TOOLS)
sys.path.insert(0, HERE)
import build  # noqa: E402
import deploy  # noqa: E402
import features  # noqa: E402
import links  # noqa: E402
import netevents  # noqa: E402
import netevents_report  # noqa: E402
import netvar_p2p  # noqa: E402
import records  # noqa: E402
import report  # noqa: E402
from prep import built, in_parallel  # noqa: E402
import vboard  # noqa: E402
import view  # noqa: E402

import sedsnet as ref  # noqa: E402  the reference (endpoint IDs by name); never ours here


def register_schemas(sc):
    """Register every board's and node's schema in this (host) process, so frames seen on the
    links decode by name (ground_station.register_schema: the firmware's name-derived IDs)."""
    import ground_station
    paths = {n["schema"] for n in sc["nodes"] if n["schema"]}
    for b in sc["boards"]:
        if b["config"].get("schema"):
            paths.add(os.path.join(vboard.REPO, "boards", b["board"], b["config"]["schema"]))
    for path in sorted(paths):
        with open(path) as f:
            doc = json.load(f)
        try:
            ground_station.register_schema(doc)
        except Exception:  # the same names twice (boards sharing a schema): already known
            for part in ("endpoints", "types"):
                for one in doc.get(part, ()):
                    try:
                        ground_station.register_schema({part: [one]})
                    except Exception:
                        pass


class RefProc:
    """A reference node process (refnode.py)."""

    def __init__(self, spec, on_frame, on_event, log):
        self.spec = spec
        self.name = spec["name"]
        self._lock = threading.Lock()
        self.replies = queue.Queue()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "refnode.py"),
                                      json.dumps(spec)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log)
        self.on_frame, self.on_event = on_frame, on_event
        self.drops = 0
        self.why = {}  # drop reason -> count
        self.dropped = []  # the first drop events (reason, side, frame hex)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            rec = records.read(self.proc.stdout)
            if rec is None:
                self.replies.put(None)
                return
            kind, body = rec
            if kind == "F":
                self.on_frame(self, body[0], body[1:])
            elif kind == "R":
                self.replies.put(json.loads(body))
            elif kind == "E":
                ev = json.loads(body)
                if ev.get("ev") == "drop":
                    self.drops += 1
                    why = ev.get("why", "")
                    self.why[why] = self.why.get(why, 0) + 1
                    if len(self.dropped) < 20:
                        self.dropped.append(ev)
                self.on_event(self, ev)

    def send_frame(self, index, frame):
        try:
            with self._lock:
                records.write(self.proc.stdin, "F", bytes([index]) + bytes(frame))
        except (OSError, ValueError):
            pass

    def call(self, op, timeout=10):
        return self.call_op({"op": op}, timeout)

    def call_op(self, msg, timeout=10):
        with self._lock:
            records.write_json(self.proc.stdin, "C", msg)
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("stop", timeout=2)
            except (OSError, ValueError):
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Console:
    """A virtual board's console: keeps its lines (status, handler logs, errors)."""

    def __init__(self, path, name, echo=None):
        import serial
        self.name, self.echo = name, echo
        self.lines = []
        self.net = []  # (host clock ms when the line came, the line's net_ms=) per status line
        self._stop = False
        self.serial = serial.Serial(path, timeout=0.2)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        buf = b""
        while not self._stop:
            try:  # whatever is there, at once (a line's arrival time is its net_ms= moment)
                buf += self.serial.read(max(1, self.serial.in_waiting))
            except Exception:
                return
            now_ms = time.time() * 1000.0
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self.lines.append(text)
                    if " net_ms=" in text:
                        try:
                            self.net.append((now_ms, int(text.split(" net_ms=")[1].split()[0])))
                        except ValueError:
                            pass
                    if self.echo:
                        self.echo(self.name, text)

    def write(self, data):
        self.serial.write(data)

    def close(self):
        self._stop = True
        self._t.join(2)
        self.serial.close()


class Run:
    def __init__(self, sc, out_dir, quiet=False, out=sys.stdout, seconds=None, keep=False):
        self.sc, self.out_dir, self.quiet, self.out = sc, out_dir, quiet, out
        self.seconds = seconds if seconds is not None else sc["duration_s"]
        self.keep = keep
        handled = {}
        register_schemas(sc)
        e2e = sc.get("feat", {}).get("e2e")
        if e2e:  # the host decodes what the links carry: it holds the scenario's key too
            import refnode
            refnode._e2e_key(e2e["key_id"], e2e["key"])
        for b in sc["boards"]:
            handled[b["name"]] = {ref.endpoint_identity(h) for h in b["config"].get("handlers", ())}
        self.tracker = report.Tracker(handled)
        self.hub = links.Hub(sc["seed"], self.tracker.observe, self.tracker.arrive)
        netevents.setup(self)
        self.boards, self.consoles, self.refs, self.ends = {}, {}, {}, []
        self.fired = []
        self.timing = {}  # where the wall time goes (setup, run, finish): the report's "timing"
        self.app_events = []  # (node, event) of the reference nodes' holders and P2P queries
        self.root = tempfile.mkdtemp(prefix="netsim-")

    def say(self, msg):
        if not self.quiet:
            print("netsim: " + msg, file=self.out, flush=True)

    def _ref_frame(self, proc, index, frame):
        end = self._ref_ends[proc.name][index]
        end.emit(frame)

    def _ref_event(self, proc, ev):
        if ev.get("ev") == "rx":
            self.tracker.delivery(proc.name, ev["ty"], ev["sender"], ev["ts"], ev["data"], ev["t"])
        elif ev.get("ev") in ("nv", "p2p_q", "p2p_a"):  # netvar_p2p.py's report sections
            self.app_events.append((proc.name, ev))

    def start(self):
        sc = self.sc
        t0 = time.monotonic()
        kinds = sorted({b["board"] for b in sc["boards"]})
        todo = [k for k in kinds if not built(k)]
        self.say("building %s%s" % (", ".join(todo) or "nothing",
                                   " (%s up to date)" % ", ".join(k for k in kinds if k not in todo)
                                   if len(todo) < len(kinds) else ""))
        with contextlib.redirect_stdout(io.StringIO()):  # (build.py prints; threads share it)
            in_parallel(build.build_mpy, todo)
        self.timing["build_s"] = time.monotonic() - t0
        air = {}
        for l in sc["links"]:
            if l["type"] in links.AIR_HEADERS:  # a radio link: each member's air on the hub
                for node, side in l["ends"]:
                    air[node] = links.AirPort(node, side, self.hub, links.AIR_HEADERS[l["type"]])
        self._ref_ends = {}
        log = open(os.path.join(self.root, "refnodes.log"), "wb")
        self._log = log
        feat = sc.get("feat") or {"timesync_source": None, "type_flags": {}, "reliable_sides": [],
                                  "e2e": None, "tuning": {}}
        for n in sc["nodes"]:
            spec = {k: n[k] for k in ("name", "kind", "hostname", "schema", "handlers",
                                      "command", "sides")}
            spec.update(features.node_spec(feat, n["name"], {b["name"]: b["hostname"]
                                                             for b in sc["boards"]}))
            self.refs[n["name"]] = RefProc(spec, self._ref_frame, self._ref_event, log)
            self._ref_ends[n["name"]] = [links.RefSide(n["name"], s, self.hub, self.refs[n["name"]], i)
                                         for i, s in enumerate(n["sides"])]
        t1 = time.monotonic()
        fss = []
        for b in sc["boards"]:
            fs = os.path.join(self.root, b["name"])
            os.mkdir(fs)
            cfg = os.path.join(self.root, b["name"] + "-config.json")
            with open(cfg, "w") as f:
                json.dump(features.board_config(feat, b), f)
            with contextlib.redirect_stdout(io.StringIO()):
                deploy.deploy(b["board"], fs, config=cfg)  # a directory: files copied as to a drive
            features.flag_schema(os.path.join(fs, b["config"].get("schema") or "schema.json"),
                        feat["type_flags"])
            features.add_packages(b["board"], fs, features.packages(feat))
            port = air.get(b["name"])
            self.say("starting board %s (%s, hostname %s%s)" % (
                b["name"], b["board"], b["hostname"], ", radio on the air hub" if port else ""))
            fss.append((b, fs, port))

        def boot(one):  # the boards boot side by side (each waits for its vboard's ptys)
            b, fs, port = one
            self.boards[b["name"]] = vboard.Running(
                fs, board=b["board"], heap=b["heap"] or sc["heap"] or vboard.DEFAULT_HEAP,
                air=port.air() if port else None)
        in_parallel(boot, fss)
        for b, _fs, _port in fss:
            self.consoles[b["name"]] = Console(self.boards[b["name"]].console, b["name"])
        for l in sc["links"]:
            ends = []
            for node, side in l["ends"]:
                if node in self.refs:
                    ends.append(self._ref_ends[node][self.sc_nodes_side(node, side)])
                elif l["type"] in links.AIR_HEADERS:
                    ends.append(air[node])
                else:
                    sd = next(b for b in sc["boards"] if b["name"] == node)["sides"][side]
                    uart = "UART%d" % sd.get("id", 0)
                    ends.append(links.BoardUart(node, side, self.hub, self.boards[node].uarts[uart]))
            self.ends.extend(ends)
            self.hub.add_link(l, ends)
        self.hub.start()
        self.timing["boot_s"] = time.monotonic() - t1

    def sc_nodes_side(self, node, side):
        return next(n for n in self.sc["nodes"] if n["name"] == node)["sides"].index(side)

    def _fire(self, e):
        do = e["do"]
        if do == "reboot":
            self.consoles[e["board"]].write(b"\x03\x04")  # stop main.py, soft reset: boots again
            what = "board %s reboots (Ctrl-C, Ctrl-D on its console)" % e["board"]
        elif do == "leave":
            r = self.refs[e["node"]].call_op({"op": "leave", "stay": e.get("stay", False)})
            what = "node %s calls announce_leave()%s -> %s" % (
                e["node"], " and keeps running" if e.get("stay") else " and goes quiet", r)
        elif do == "snapshot":
            topo = self.refs[e["node"]].call("topology") or {}
            routers = sorted(r["sender_id"] for r in topo.get("routers", ()))
            what = "node %s's export_topology() routers: %s" % (e["node"], ", ".join(routers))
        elif do in netevents.KINDS:  # time_source_failover, key_rotation
            what = netevents.fire(self, e)
        elif do in ("link_down", "link_up"):
            self.hub.set_up(e["link"], do == "link_up")
            what = "link %s %s" % (e["link"], "up" if do == "link_up" else "down")
        else:
            what = "link %s flaps %d times every %.2f s" % (e["link"], e["count"], e["period_s"])
        self.fired.append({"at_s": e["at_s"], "what": what})
        self.say("event: " + what)

    def run(self):
        t0 = time.monotonic()
        self.start()
        self.say("running %s for %.0f s" % (self.sc["name"], self.seconds))
        pending = list(self.sc["events"])
        for e in list(pending):  # expand flaps into down/up steps
            if e["do"] == "flap":
                for k in range(e["count"]):
                    at = e["at_s"] + k * e["period_s"]
                    pending.append({"at_s": at, "do": "link_down", "link": e["link"], "quiet": 1})
                    pending.append({"at_s": at + e["period_s"] / 2, "do": "link_up",
                                    "link": e["link"], "quiet": 1})
        pending.sort(key=lambda e: e["at_s"])
        live = view.Live(self, self.out, self.quiet)
        start = time.monotonic()
        while time.monotonic() - start < self.seconds:
            el = time.monotonic() - start
            while pending and pending[0]["at_s"] <= el:
                e = pending.pop(0)
                if e.get("quiet"):
                    self.hub.set_up(e["link"], e["do"] == "link_up")
                else:
                    self._fire(e)
            live.tick(el)
            time.sleep(0.05)
        self.elapsed = time.monotonic() - start
        self.wall = time.monotonic() - t0
        self.timing["run_s"] = self.elapsed
        self._t_end = time.monotonic()
        return self.finish()

    def finish(self):
        topo = None
        ground = None
        for n in self.sc["nodes"]:
            if n["kind"] == "router" and n["handlers"]:
                ground = n["name"]
                break
        if ground is None and self.refs:
            ground = sorted(self.refs)[0]
        if ground is not None:
            topo = self.refs[ground].call("topology")
        src = (self.sc.get("feat") or {}).get("timesync_source")
        self.src_time = getattr(self, "ts_base", None) or (  # (a failover: until then)
            self.refs[src].call("time") if src in self.refs else None)
        rep = self.collect(ground)
        os.makedirs(self.out_dir, exist_ok=True)
        for name, con in self.consoles.items():
            with open(os.path.join(self.out_dir, name + ".console.log"), "w") as f:
                f.write("\n".join(con.lines) + "\n")
        self.close()
        tm = self.timing
        if "run_s" in tm:  # (real time: the run's own overhead around the scenario's seconds)
            tm["finish_s"] = time.monotonic() - self._t_end
            tm["setup_s"] = self.wall - tm["run_s"]
            tm["wall_s"] = self.wall + tm["finish_s"]
            tm["overhead_s"] = tm["wall_s"] - tm["run_s"]
        rep["timing"] = tm = {k: round(v, 2) for k, v in sorted(tm.items())}
        body = report.write(rep, topo, self.out_dir)
        if not self.quiet:
            print(body, file=self.out, end="", flush=True)
        if "overhead_s" in tm and not self.quiet:
            print("netsim: wall %.1f s: %.1f s of scenario + %.1f s overhead (setup %.1f: build "
                  "%.1f, boot %.1f; finish %.1f)" % (
                      tm["wall_s"], tm["run_s"], tm["overhead_s"], tm["setup_s"],
                      tm.get("build_s", 0), tm.get("boot_s", 0), tm["finish_s"]),
                  file=self.out, flush=True)
        print("netsim: report %s (and %s), topology picture %s" % (
            rep["report_txt"], rep["report_json"], rep.get("topology_svg")), file=self.out, flush=True)
        return rep

    def collect(self, ground):
        el_ms = self.elapsed * 1000.0
        ls = []
        for name, l in self.hub.links.items():
            st = dict.fromkeys(l["dirs"][0][2].stats, 0)
            util = 0.0
            for _s, _d, sim in l["dirs"]:
                for k, v in sim.stats.items():
                    st[k] += v
                util = max(util, sim.utilisation(el_ms))
            ls.append({"name": name, "type": l["spec"]["type"], "stats": st,
                       "utilisation": round(util, 4),
                       "members": [e.node for e in l["ends"]]})
        hostnames = {b["name"]: b["hostname"] for b in self.sc["boards"]}
        hostnames.update((n["name"], n["hostname"] if n["kind"] == "router" else "RELAY")
                         for n in self.sc["nodes"])
        boards = []
        for b in self.sc["boards"]:
            lines = list(self.consoles[b["name"]].lines)
            status = [x for x in lines if x.startswith("sedsnet: loops")]
            boards.append({"name": b["name"], "board": b["board"], "hostname": b["hostname"],
                           "reboots": sum(1 for x in lines if "soft reboot" in x),
                           "status_lines": len(status), "last_status": status[-1] if status else None,
                           "error_lines": sum(1 for x in lines if x.startswith("sedsnet: error")
                                             or x.startswith("Traceback")),
                           "handler_lines": sum(1 for x in lines if " got type " in x),
                           "heap_high_water": report.heap_high_water(lines),
                           "time_sync": report.time_offsets(getattr(self.consoles[b["name"]],
                                                                    "net", ()),
                                                            getattr(self, "src_time", None))})
        crc = sum(getattr(e, "crc_failures", 0) for e in self.ends)
        return {"scenario": self.sc["name"], "wall_s": round(self.wall, 1),
                "seconds": round(self.elapsed, 1), "types": self.tracker.per_type(),
                "origins": report.origins(self.tracker),
                "control_frames": self.tracker.control, "links": ls, "boards": boards,
                "nodes": [{"name": n, "drops": p.drops, "drop_reasons": p.why,
                           "first_drops": p.dropped,
                           "e2e_drops": report.e2e_drops(p.why)}
                          for n, p in sorted(self.refs.items())],
                "reliable": report.reliable(self.tracker, self.sc.get("feat")),
                "time_source": (self.sc.get("feat") or {}).get("timesync_source"),
                "crc_failures": crc, "undecodable": self.tracker.undecodable,
                "chunks": self.tracker.chunks,
                "ignored": self.sc["ignored"], "events": self.fired, "topology_from": ground,
                "link_loss": report.link_loss_by_hosts(ls, hostnames),
                **netvar_p2p.report(self.sc.get("feat"), self.app_events,
                                    {n: list(c.lines) for n, c in self.consoles.items()}),
                **netevents_report.report(self)}

    def close(self):
        self.hub.stop()
        for c in self.consoles.values():
            c._stop = True  # all stop at once, then each is joined
        for c in self.consoles.values():
            c.close()
        for e in self.ends:
            if hasattr(e, "close"):
                e.close()
        # the reference nodes and the boards end side by side (each waits for its process)
        in_parallel(lambda p: p.close(), list(self.refs.values()) + list(self.boards.values()))
        self._log.close()
        if self.keep:
            self.say("kept %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
