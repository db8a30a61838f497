"""Render an export_topology() dict (4.2.7's keys) to SVG: routers as boxes with the endpoints
they own, links as lines coloured by loss.

    python tools/topology.py topo.json out.svg [--loss loss.json]

topo.json: what a reference node's export_topology() returns (the simulator writes one per run;
any running node can json.dump it). Keys used: "routers" [{"sender_id", "reachable_endpoints",
"connections"}], "links" [{"source", "target"}], "advertised_endpoints" (the exporting node's own).
loss: {"a|b": 0..1} for an edge (either order); edges without a figure are grey.
"""
import json
import math
import sys

__all__ = ["edges", "loss_colour", "nodes", "render"]


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def nodes(topo):
    """{router name: [endpoints it owns]} from the routers list and the links' ends."""
    out = {}
    for r in topo.get("routers", ()):
        out[r["sender_id"]] = list(r.get("reachable_endpoints", ()))
    for l in topo.get("links", ()):
        for k in ("source", "target"):
            out.setdefault(l[k], [])
    return out


def edges(topo):
    """Deduplicated (a, b) pairs, a < b."""
    seen = set()
    for l in topo.get("links", ()):
        a, b = sorted((l["source"], l["target"]))
        if a != b:
            seen.add((a, b))
    return sorted(seen)


def loss_colour(loss):
    """green (0) -> amber -> red (>= 0.2); grey when unknown."""
    if loss is None:
        return "#999999"
    x = max(0.0, min(1.0, loss / 0.2))
    r = int(40 + 215 * x)
    g = int(170 - 120 * x)
    return "#%02x%02x%02x" % (r, g, 40)


def render(topo, loss=None, title="sedsnet topology"):
    loss = loss or {}
    ns = nodes(topo)
    names = sorted(ns)
    es = edges(topo)
    n = max(1, len(names))
    w, h = 900, 620
    cx, cy, rad = w / 2.0, h / 2.0 + 10, min(w, h) / 2.0 - 110
    pos = {}
    for i, name in enumerate(names):
        a = 2 * math.pi * i / n - math.pi / 2
        pos[name] = (cx + rad * math.cos(a), cy + rad * math.sin(a))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="monospace" font-size="12">' % (w, h, w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="15">%s</text>' % _esc(title)]
    for a, b in es:
        key = "%s|%s" % (a, b)
        lv = loss.get(key, loss.get("%s|%s" % (b, a)))
        (x1, y1), (x2, y2) = pos[a], pos[b]
        label = "" if lv is None else "loss %.1f%%" % (100 * lv)
        out.append('<g class="link" data-source="%s" data-target="%s"><line x1="%.1f" y1="%.1f" '
                   'x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/><text x="%.1f" y="%.1f" '
                   'fill="%s">%s</text></g>' % (_esc(a), _esc(b), x1, y1, x2, y2, loss_colour(lv),
                                                (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 4,
                                                loss_colour(lv), label))
    for name in names:
        x, y = pos[name]
        eps = ns[name]
        bw = max(90, 8 * max([len(name)] + [len(e) + 2 for e in eps]))
        bh = 24 + 15 * len(eps)
        out.append('<g class="router" data-name="%s"><rect x="%.1f" y="%.1f" width="%d" height="%d" '
                   'rx="6" fill="#e8f0ff" stroke="#224488"/><text x="%.1f" y="%.1f" '
                   'font-weight="bold">%s</text>' % (_esc(name), x - bw / 2, y - bh / 2, bw, bh,
                                                     x - bw / 2 + 6, y - bh / 2 + 16, _esc(name)))
        for i, e in enumerate(eps):
            out.append('<text class="endpoint" x="%.1f" y="%.1f" fill="#335">- %s</text>'
                       % (x - bw / 2 + 6, y - bh / 2 + 31 + 15 * i, _esc(e)))
        out.append("</g>")
    out.append('<text x="10" y="%d" fill="#555">links coloured by loss: green 0%%, red 20%%+, '
               'grey unknown</text>' % (h - 10))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--loss"):
        raise SystemExit("usage: python tools/topology.py topo.json out.svg [--loss loss.json]")
    with open(argv[0]) as f:
        topo = json.load(f)
    loss = None
    if len(argv) == 4:
        with open(argv[3]) as f:
            loss = json.load(f)
    with open(argv[1], "w") as f:
        f.write(render(topo, loss))
    print("topology: %d routers, %d links -> %s" % (len(nodes(topo)), len(edges(topo)), argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
