"""The live terminal view: once a second, per node packets/s in and out, drops (E2E ones of the
reference nodes), RAM (when the board prints it), its network time against the host clock (when
its status line has net_ms=) and the last status; per link utilisation and losses; per type
delivered/sent and the frames resent. --quiet shows nothing.
On a terminal the view redraws in place; otherwise it prints one block per second."""
import report


class Live:
    def __init__(self, run, out, quiet, every_s=1.0):
        self.run, self.out, self.quiet, self.every_s = run, out, quiet, every_s
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.next = every_s
        self.prev = {}
        self.prev_t = 0.0

    def _node_rows(self, dt):
        per = {}
        for e in self.run.ends:
            row = per.setdefault(e.node, [0, 0])
            row[0] += e.rx
            row[1] += e.tx
        lost = {}
        for l in self.run.hub.links.values():
            for _s, dst, sim in l["dirs"]:
                st = sim.stats
                lost[dst.node] = (lost.get(dst.node, 0) + st["lost"] + st["down"] + st["oversize"]
                                  + st["tx_full"] + st.get("collisions", 0))
        rows = []
        for node in sorted(per):
            rx, tx = per[node]
            prx, ptx = self.prev.get(node, (0, 0))
            self.prev[node] = (rx, tx)
            extra = ""
            con = self.run.consoles.get(node)
            if con is not None:
                status = [x for x in con.lines[-20:] if x.startswith("sedsnet: loops")]
                heap = report.heap_high_water(con.lines[-20:])
                extra = "ram %s" % (heap if heap is not None else "n/a")
                net = getattr(con, "net", None)
                if net:  # its network time against the host's clock (the source's, to a ms)
                    extra += "  time %+.0f ms" % (net[-1][1] - net[-1][0])
                if status:
                    extra += "  " + status[-1].split("|")[0].replace("sedsnet: ", "").strip()
            else:
                ref = self.run.refs.get(node)
                extra = ("reference %s, drops %d (E2E %d)" % (
                    ref.spec["kind"], ref.drops, report.e2e_drops(getattr(ref, "why", {})))
                    if ref else "")
            rows.append("  %-10s in %6.1f/s  out %6.1f/s  link-lost %5d  %s" % (
                node, (rx - prx) / dt, (tx - ptx) / dt, lost.get(node, 0), extra))
        return rows

    def _link_rows(self, el):
        rows = []
        for name, l in sorted(self.run.hub.links.items()):
            sent = lost = corrupt = dup = coll = 0
            util = 0.0
            for _s, _d, sim in l["dirs"]:
                st = sim.stats
                coll += st.get("collisions", 0)
                sent += st["sent"]
                lost += st["lost"] + st["down"] + st["oversize"] + st["tx_full"]
                corrupt += st["corrupted"]
                dup += st["duplicated"]
                util = max(util, sim.utilisation(el * 1000.0))
            up = all(sim.up for _s, _d, sim in l["dirs"])
            rows.append("  %-14s %-5s %-4s util %5.1f%%  sent %6d  lost %5d  corrupted %4d  dup %4d"
                        % (name, l["spec"]["type"], "up" if up else "DOWN", 100 * util, sent, lost,
                           corrupt, dup)
                        + ("  collisions %d" % coll if l["spec"].get("channel") else ""))
        return rows

    def tick(self, el):
        if self.quiet or el < self.next:
            return
        dt = max(0.001, el - self.prev_t)
        self.prev_t = el
        self.next = el + self.every_s
        lines = ["netsim %s  t=%5.1f s" % (self.run.sc["name"], el), " nodes:"]
        lines += self._node_rows(dt)
        lines.append(" links:")
        lines += self._link_rows(el)
        types = self.run.tracker.per_type()
        lines.append(" delivered: " + (", ".join(
            "%s %d/%d%s" % (n, t["delivered"], t["sent"],
                            " (resent %d)" % t["resent"] if t.get("resent") else "")
            for n, t in sorted(types.items())) or "nothing yet"))
        text = "\n".join(lines) + "\n"
        if self.tty:
            text = "\x1b[H\x1b[2J" + text
        self.out.write(text)
        self.out.flush()
