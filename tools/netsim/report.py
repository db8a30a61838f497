"""What the simulator measures and the report it writes (text, JSON, topology SVG).

Tracker sees every frame a node emits (before the link's faults) and every frame a link delivers;
a packet is known by (type, timestamp, payload), as a reference node's handler event reports it
(when two origins send the same key, the k-th delivery of it at a node is the k-th origin's).
sent: distinct user packets that left their origin; delivered: distinct packets that reached a
node holding one of their endpoints (a reference node's handler, or a board whose config
handles the endpoint: counted when the frame arrives on the board's side); duplicated: further
copies delivered to the same node; reordered: deliveries older than the previous one from the
same sender and type at that node (one more than RESTART_MS older is the sender's clock
starting again after a reboot, not a reordering); latency: first emission to delivery (host wall clock).
"""
import json
import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import topology  # noqa: E402

import links  # noqa: E402
import netevents_report  # noqa: E402
import netvar_p2p  # noqa: E402

import sedsnet as ref  # noqa: E402  the reference decoder; the host never imports ours

# the heap in use on the firmware's status lines (sedsnet_node.mainloop: "heap=<used> peak=...")
_HEAP_RE = re.compile(r"\b(?:mem_alloc|heap_used|heap)=(\d+)")


_FLAG_E2E = 0x10  # FLAGS bit of an E2E-sealed frame (shared/protocol/verified-4.2.7.md "E2E")

# a timestamp this much older than the newest one from the same sender is a clock restart
RESTART_MS = 5000


def _type_name(ty, cache={}):
    if ty not in cache:
        try:
            info = ref.data_type_info(ty)
            cache[ty] = info["name"] if info.get("exists") else "type %d" % ty
        except Exception:
            cache[ty] = "type %d" % ty
    return cache[ty]


def is_control(name):
    return name.startswith("SEDSNET_") or name.startswith("type ")


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(p / 100.0 * (len(v) - 1))))
    return round(v[k], 1)


class Tracker:
    def __init__(self, handled, now=time.time):
        """handled: {node name: set of endpoint ids whose packets count as delivered there}
        for boards (reference nodes report their own handler calls)."""
        self.handled = handled
        self.now = now  # seconds; --fast passes the simulated clock
        self.lock = threading.Lock()
        self.first = {}   # key -> [(t, origin node, sender)], one per origin
        self.sent = {}    # type -> n
        self.control = {}  # control type -> frames emitted (all hops)
        self.got = {}     # (key, node) -> copies
        self.last_ts = {}  # (sender, type, node) -> last timestamp delivered
        self.delivered, self.duplicated, self.reordered = {}, {}, {}
        self.latency = {}  # type -> [ms]
        self.by_origin = {}  # origin node -> [sent, delivered, last delivery (s since start)]
        self.t0 = now()
        self.undecodable = 0
        self.chunks = 0  # side-transport chunks seen (an nRF24 link's pieces of frames)
        self.emits = {}  # (key, node, link) -> frames of that packet the node put on the link
        self.resent = {}  # type -> frames a node sent again on the same link (retransmits)
        self.sealed = {}  # type -> frames seen with the E2E flag (payload encrypted)
        # time-source failover and key rotation (netevents.py): TIME_SYNC announces (sender ->
        # {its network timestamp: first seen, s}), delivery times of the RequireOn types, the
        # frames only an earlier key opened, RequireOn frames that reached a node in clear
        self.announces = {}
        self.require_on = set()
        self.timed = {}
        self.keyring = None  # netevents.KeyRing once a key rotates
        self.old_key = {}  # type -> [when a frame sealed with an earlier key was emitted]
        self.clear_rx = {}  # type -> [when a frame of it reached a node in clear]
        self.clear_by_node = {}  # "type|node" -> how many of them reached that node

    @staticmethod
    def _canonical(end, frame, way):
        """The canonical frame of what `end` emitted (way "tx") or took in ("rx"): radio
        datagrams lose their settings bytes, chunks (an nRF24 link's) are reassembled per end
        and direction; None until a chunked frame is whole, or for compact frames."""
        h = getattr(end, "air_header", 0)
        if h:
            frame = frame[h:]
        if frame[:3] == b"SDT" and len(frame) > 3 and frame[3] == 3:
            attr = "_chunks_" + way
            if getattr(end, attr, None) is None:
                setattr(end, attr, links.Chunks())
            return getattr(end, attr).feed(frame)
        return links.canonical(frame)

    def _unpack(self, data, old=None):
        if data is None:
            return None
        try:
            return ref.unpack_packet_py(bytes(data))
        except Exception:
            if self.keyring is None or not data[0] & _FLAG_E2E:
                return None
        with self.lock:  # a rotated key: try the earlier ones (the host's keyring has one)
            pkt, idx = self.keyring.retry(bytes(data), ref.unpack_packet_py)
        if pkt is not None and old is not None:
            old.append(idx)
        return pkt

    def observe(self, link, end, frame, now):
        chunk = getattr(end, "air_header", 0) and frame[end.air_header:][:4] == b"SDT\x03"
        data = self._canonical(end, frame, "tx")
        old = []
        pkt = self._unpack(data, old)
        sealed = bool(data) and data[0] & _FLAG_E2E
        with self.lock:
            if pkt is None:
                if chunk and data is None:
                    self.chunks += 1  # a piece of a frame, counted when the frame is whole
                    return
                self.undecodable += 1
                return
            name = _type_name(pkt.ty)
            if is_control(name):
                self.control[name] = self.control.get(name, 0) + 1
                if name == "SEDSNET_TIME_SYNC_ANNOUNCE":  # (a forwarded copy: the same stamp)
                    self.announces.setdefault(pkt.sender, {}).setdefault(pkt.timestamp_ms,
                                                                         self.now())
                return
            if old:
                self.old_key.setdefault(name, []).append(self.now())
            key = (name, pkt.timestamp_ms, bytes(pkt.payload).hex())
            ek = (key, end.node, link)
            self.emits[ek] = self.emits.get(ek, 0) + 1
            if self.emits[ek] > 1:
                self.resent[name] = self.resent.get(name, 0) + 1
            if sealed:  # E2E: only the key holders read the payload (the host holds it too)
                self.sealed[name] = self.sealed.get(name, 0) + 1
            seen = self.first.setdefault(key, [])
            # two boards on one clock can send the same values at the same time (sim sensors
            # are functions of the clock): one entry per origin
            if not any(o == end.node or s == pkt.sender for _t, o, s in seen):
                seen.append((self.now(), end.node, pkt.sender))
                self.sent[name] = self.sent.get(name, 0) + 1
                self.by_origin.setdefault(end.node, [0, 0, None])[0] += 1

    def arrive(self, link, end, frame, now):
        eps = self.handled.get(end.node)
        if not eps and not self.require_on:
            return
        data = self._canonical(end, frame, "rx")
        pkt = self._unpack(data)
        if pkt is not None and self.require_on and not data[0] & _FLAG_E2E:
            name = _type_name(pkt.ty)
            if name in self.require_on:
                with self.lock:
                    self.clear_rx.setdefault(name, []).append(self.now())
                    k = "%s|%s" % (name, end.node)
                    self.clear_by_node[k] = self.clear_by_node.get(k, 0) + 1
        if not eps:
            return
        if pkt is None or not eps.intersection(pkt.endpoints):
            return
        name = _type_name(pkt.ty)
        self.delivery(end.node, name, pkt.sender, pkt.timestamp_ms, bytes(pkt.payload).hex(),
                      self.now())

    def delivery(self, node, name, sender, ts, data_hex, t):
        key = (name, ts, data_hex)
        with self.lock:
            n = self.got.get((key, node), 0) + 1
            self.got[(key, node)] = n
            seen = self.first.get(key, ())
            if n > max(1, len(seen)):
                self.duplicated[name] = self.duplicated.get(name, 0) + 1
                return
            self.delivered[name] = self.delivered.get(name, 0) + 1
            if name in self.require_on:
                self.timed.setdefault(name, []).append(t)
            first = seen[n - 1] if n <= len(seen) else None
            if first is not None:
                self.latency.setdefault(name, []).append(max(0.0, (t - first[0]) * 1000.0))
                row = self.by_origin.setdefault(first[1], [0, 0, None])
                row[1] += 1
                row[2] = round(t - self.t0, 1)
            lk = (first[2] if first else sender, name, node)
            last = self.last_ts.get(lk)
            if last is not None and last - RESTART_MS < ts < last:
                self.reordered[name] = self.reordered.get(name, 0) + 1
            else:  # newer, the first, or far older: the sender restarted its clock (a reboot)
                self.last_ts[lk] = ts

    def per_type(self):
        out = {}
        for name in sorted(set(self.sent) | set(self.delivered)):
            lat = self.latency.get(name, [])
            out[name] = {"sent": self.sent.get(name, 0), "delivered": self.delivered.get(name, 0),
                         "duplicated": self.duplicated.get(name, 0),
                         "reordered": self.reordered.get(name, 0),
                         "resent": self.resent.get(name, 0),
                         "sealed_frames": self.sealed.get(name, 0),
                         "latency_ms": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
                                        "p99": percentile(lat, 99),
                                        "max": round(max(lat), 1) if lat else None}}
        return out


# a packet first sent this close to the end may still be on its way (retransmits included)
IN_FLIGHT_S = 2.0


def reliable(tracker, feat):
    """{type: {"sent", "delivered", "lost", "in_flight", "resent"}} for the scenario's
    reliable types: lost = sent more than IN_FLIGHT_S before the end and never delivered."""
    out = {}
    flags = (feat or {}).get("type_flags", {})
    end = tracker.now()
    with tracker.lock:
        for name in sorted(t for t, f in flags.items() if f.get("reliable")):
            sent = [(k, v) for k, v in tracker.first.items() if k[0] == name]
            late = [k for k, v in sent if v and end - v[0][0] < IN_FLIGHT_S]
            got = {k for (k, _node) in tracker.got if k[0] == name}
            lost = sum(1 for k, _v in sent if k not in got and k not in late)
            out[name] = {"sent": len(sent), "delivered": len(got), "lost": lost,
                         "in_flight": sum(1 for k in late if k not in got),
                         "resent": tracker.resent.get(name, 0)}
    return out


def time_offsets(samples, src):
    """A board's network time against the source's: samples are (host ms when a status line
    came, its net_ms=); src is the source's {"net_ms", "wall_ms"} read at the end (the source's
    own offset from the host clock, taken out). None when the board never had a time."""
    if not samples or not src or src.get("net_ms") is None:
        return None
    base = src["net_ms"] - src["wall_ms"]
    offs = [round(net - host - base, 1) for host, net in samples]
    return {"samples": len(offs), "last_ms": offs[-1], "min_ms": min(offs), "max_ms": max(offs)}


def e2e_drops(why):
    return sum(n for w, n in why.items() if "crypto" in w.lower() or "e2e" in w.lower())


def origins(tracker):
    return {n: {"sent": r[0], "delivered": r[1], "last_delivery_s": r[2]}
                for n, r in sorted(tracker.by_origin.items())}


def heap_high_water(lines):
    vals = [int(m.group(1)) for line in lines for m in [_HEAP_RE.search(line)] if m]
    return max(vals) if vals else None


def link_loss_by_hosts(links, hostnames):
    """{"hostA|hostB": observed loss} for links joining two named routers (for the picture)."""
    out = {}
    for l in links:
        nodes = [hostnames.get(e) for e in l["members"]]
        nodes = [n for n in nodes if n]
        sent = l["stats"]["sent"]
        lost = l["stats"]["lost"] + l["stats"]["down"] + l["stats"]["oversize"]
        lost += l["stats"].get("collisions", 0)
        sent += l["stats"]["tx_full"]
        lost += l["stats"]["tx_full"]
        loss = (lost / float(sent)) if sent else 0.0
        for i in range(len(nodes)):
            for j in range(i + 1, len(nodes)):
                out["%s|%s" % tuple(sorted((nodes[i], nodes[j])))] = round(loss, 4)
    return out


def text(rep):
    lines = ["netsim report: scenario %s, %.1f s wall" % (rep["scenario"], rep["wall_s"]), ""]
    lines.append("%-16s %7s %9s %5s %5s %6s %8s %8s %8s" % (
        "type", "sent", "delivered", "dup", "reord", "resent", "p50 ms", "p90 ms", "p99 ms"))
    for name, t in sorted(rep["types"].items()):
        lat = t["latency_ms"]
        lines.append("%-16s %7d %9d %5d %5d %6d %8s %8s %8s" % (
            name, t["sent"], t["delivered"], t["duplicated"], t["reordered"], t.get("resent", 0),
            lat["p50"], lat["p90"], lat["p99"]))
    for name, t in sorted(rep["types"].items()):
        if t.get("sealed_frames"):
            lines.append("E2E %s: %d frames on the links sealed (FLAGS 0x10)" % (
                name, t["sealed_frames"]))
    for name, r in sorted(rep.get("reliable", {}).items()):
        lines.append("reliable %s: sent %d, delivered %d, lost %d%s, in flight at the end %d, "
                     "frames resent %d" % (name, r["sent"], r["delivered"], r["lost"],
                                           " (OK)" if r["lost"] == 0 else " (LOST)",
                                           r["in_flight"], r["resent"]))
    lines.extend(netvar_p2p.text(rep))  # network variables, P2P queries (netvar_p2p.py)
    lines.extend(netevents_report.text(rep))  # a time-source failover, key rotations
    lines.append("")
    lines.append("by origin: " + ", ".join(
        "%s %d/%d (last delivered at %s s)" % (n, o["delivered"], o["sent"], o["last_delivery_s"])
        for n, o in sorted(rep["origins"].items())))
    lines.append("")
    lines.append("links:")
    for l in rep["links"]:
        s = l["stats"]
        lines.append("  %-14s %-5s sent %6d lost %5d down %5d oversize %4d tx-full %5d dup %4d "
                     "corrupted %4d util %5.1f%%" % (l["name"], l["type"], s["sent"], s["lost"],
                                        s["down"], s["oversize"], s["tx_full"], s["duplicated"],
                                        s["corrupted"],
                                        100 * l["utilisation"])
                     + (" tampered %d" % s["tampered"] if s.get("tampered") else "")
                     + (" collisions %d" % s["collisions"] if "collisions" in s else ""))
    lines.append("")
    lines.append("boards:")
    for b in rep["boards"]:
        lines.append("  %-10s %-8s reboots %d, status lines %d, heap high-water %s, errors %s"
                     % (b["name"], b["board"], b["reboots"], b["status_lines"],
                        b["heap_high_water"] if b["heap_high_water"] is not None
                        else "not printed by the firmware", b["error_lines"]))
        hl = b.get("heap_live")
        if hl:  # --fast: the board's own lab process, after gc.collect()
            lines.append("             live heap (after gc.collect(), %d samples): first %d, after"
                         " warm-up %d, last %d, max %d, growth %+d B" % (
                             hl["samples"], hl["first"], hl["after_warmup"], hl["last"],
                             hl["max"], hl["growth"]))
        if b.get("router_drops"):
            lines.append("             router drops: " + ", ".join(
                "%s %d" % kv for kv in sorted(b["router_drops"].items())))
        ts = b.get("time_sync")
        if ts:
            lines.append("             time sync: offset from %s %+.1f ms (last of %d status lines;"
                         " min %+.1f, max %+.1f)" % (rep.get("time_source"), ts["last_ms"],
                                                     ts["samples"], ts["min_ms"], ts["max_ms"]))
        elif rep.get("time_source"):
            lines.append("             time sync: no network time on its status lines")
        if b["last_status"]:
            lines.append("             last: " + b["last_status"])
    for n in rep.get("nodes", ()):
        if n.get("drops"):
            lines.append("  node %-6s drops %d (E2E %d): %s" % (
                n["name"], n["drops"], n.get("e2e_drops", 0), "; ".join(
                    "%s x%d" % (w, c) for w, c in sorted(n.get("drop_reasons", {}).items())[:3])))
    lines.append("CRC failures as frames left their node: %d; undecodable frames seen: %d%s"
                 % (rep["crc_failures"], rep["undecodable"],
                    "; chunks (pieces of longer frames) seen: %d" % rep["chunks"]
                    if rep.get("chunks") else ""))
    for note in rep["ignored"]:
        lines.append("note: " + note)
    for e in rep["events"]:
        lines.append("event at %.1f s: %s" % (e["at_s"], e["what"]))
    if rep.get("topology_svg"):
        lines.append("topology: %s (%d routers, %d links)" % (
            rep["topology_svg"], len(rep["topology_routers"]), len(rep["topology_links"])))
    return "\n".join(lines) + "\n"


def write(rep, topo, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    if topo is not None:
        path = os.path.join(out_dir, "topology.svg")
        with open(path, "w") as f:
            f.write(topology.render(topo, rep.get("link_loss"), "sedsnet topology: " + rep["scenario"]))
        with open(os.path.join(out_dir, "topology.json"), "w") as f:
            json.dump(topo, f, indent=1)
        rep["topology_svg"] = path
        rep["topology_routers"] = sorted(topology.nodes(topo))
        rep["topology_links"] = ["%s|%s" % e for e in topology.edges(topo)]
    rep["report_json"] = os.path.join(out_dir, "report.json")
    rep["report_txt"] = os.path.join(out_dir, "report.txt")
    with open(rep["report_json"], "w") as f:
        json.dump(rep, f, indent=1, sort_keys=True)
    body = text(rep)
    with open(rep["report_txt"], "w") as f:
        f.write(body)
    return body
