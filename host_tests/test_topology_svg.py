"""tools/topology.py: an export_topology() dict (4.2.7's keys, probed from a reference network
in a child process: the reference never shares this process) -> SVG with the routers, their
endpoints and the deduplicated links, coloured by loss."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import topology  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"

# ground (GROUND_STATION) - a reference Relay - pad, run until converged; prints export_topology()
_PROBE = r"""
import json, sedsnet as r
ep = r.endpoint_identity('GROUND_STATION')
r.register_endpoint(ep, 'GROUND_STATION', False, '')
q = {'a': [], 'b': [], 'c': []}
A = r.Router(handlers=[(ep, lambda p: None, None)], hostname='ground')
B = r.Relay()
C = r.Router(hostname='pad')
sa = A.add_side_packed('B', lambda f: q['b'].append(('a', bytes(f))))
sb1 = B.add_side_packed('A', lambda f: q['a'].append(bytes(f)))
sb2 = B.add_side_packed('C', lambda f: q['c'].append(bytes(f)))
sc = C.add_side_packed('B', lambda f: q['b'].append(('c', bytes(f))))
for i in range(20):
    A.periodic(0); B.periodic(0); C.periodic(0)
    for f in q['a']: A.receive_packed_from_side(sa, f)
    for s, f in q['b']: B.rx_packed_from_side(sb1 if s == 'a' else sb2, f)
    for f in q['c']: C.receive_packed_from_side(sc, f)
    q = {'a': [], 'b': [], 'c': []}
print(json.dumps(A.export_topology()))
"""


def _reference_topology():
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _parse(svg):
    root = ET.fromstring(svg)
    routers, eps, links = {}, {}, set()
    for g in root.iter(SVG + "g"):
        if g.get("class") == "router":
            name = g.get("data-name")
            routers[name] = g
            eps[name] = [t.text[2:] for t in g.iter(SVG + "text") if t.get("class") == "endpoint"]
        elif g.get("class") == "link":
            line = g.find(SVG + "line")
            links.add((g.get("data-source"), g.get("data-target"), line.get("stroke")))
    return routers, eps, links


def test_reference_topology_keys_are_what_the_renderer_reads():
    topo = _reference_topology()
    for key in ("routers", "links", "routes", "advertised_endpoints", "advertised_endpoint_ids"):
        assert key in topo, key
    for r in topo["routers"]:
        assert {"sender_id", "reachable_endpoints", "reachable_endpoint_ids",
                    "connections"} <= set(r), r
    # 4.2.7 facts: a Relay's sender is "RELAY"; the exporter lists itself; a link between the
    # two routers behind the relay is listed too (each router's connections name every other)
    assert sorted(r["sender_id"] for r in topo["routers"]) == ["RELAY", "ground", "pad"]
    assert sorted((l["source"], l["target"]) for l in topo["links"]) == [
        ("RELAY", "ground"), ("RELAY", "pad"), ("ground", "pad")]
    routers, eps, links = _parse(topology.render(topo))
    assert sorted(routers) == ["RELAY", "ground", "pad"]
    assert eps["ground"] == ["GROUND_STATION"] and eps["pad"] == [] and eps["RELAY"] == []
    assert sorted((a, b) for a, b, _c in links) == [("RELAY", "ground"), ("RELAY", "pad"),
                                                     ("ground", "pad")]


def test_known_topology_nodes_edges_and_loss_colours():
    topo = {"routers": [
        {"sender_id": "ground", "reachable_endpoints": ["GROUND_STATION"], "connections": ["gw"]},
        {"sender_id": "gw", "reachable_endpoints": [], "connections": ["ground", "rocket"]},
        {"sender_id": "rocket", "reachable_endpoints": ["FLIGHT_COMPUTER", "X<&>"],
         "connections": ["gw"]}],
        "links": [{"source": "gw", "target": "ground"}, {"source": "ground", "target": "gw"},
                  {"source": "rocket", "target": "gw"}, {"source": "gw", "target": "payload"}]}
    svg = topology.render(topo, loss={"gw|rocket": 0.25, "ground|gw": 0.0})
    routers, eps, links = _parse(svg)
    assert sorted(routers) == ["ground", "gw", "payload", "rocket"]  # a link end is a router too
    assert eps["rocket"] == ["FLIGHT_COMPUTER", "X<&>"]  # escaped in the SVG, text intact
    by_pair = {(a, b): c for a, b, c in links}
    assert sorted(by_pair) == [("ground", "gw"), ("gw", "payload"), ("gw", "rocket")]  # deduped
    assert by_pair[("gw", "rocket")] == topology.loss_colour(0.25) == "#ff3228"
    assert by_pair[("ground", "gw")] == topology.loss_colour(0.0) == "#28aa28"
    assert by_pair[("gw", "payload")] == "#999999"  # no figure: grey
    assert "loss 25.0%" in svg


def test_cli_renders_a_json_file(tmp_path):
    topo = {"routers": [{"sender_id": "a", "reachable_endpoints": ["E"], "connections": ["b"]}],
            "links": [{"source": "a", "target": "b"}]}
    src, dst, loss = tmp_path / "t.json", tmp_path / "t.svg", tmp_path / "l.json"
    src.write_text(json.dumps(topo))
    loss.write_text(json.dumps({"b|a": 0.1}))
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "topology.py"), str(src),
                          str(dst), "--loss", str(loss)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "2 routers, 1 links" in out.stdout
    routers, _eps, links = _parse(dst.read_text())
    assert sorted(routers) == ["a", "b"]
    assert links == {("a", "b", topology.loss_colour(0.1))}
