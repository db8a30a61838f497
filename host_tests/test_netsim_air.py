"""tools/netsim/links.py's shared radio channel (Channel, AirSim) on a fake clock: two
transmissions that overlap in time on one channel are both lost at every receiver that hears
both (a sender does not hear itself; with half_duplex a radio that is transmitting hears
nothing), counted as `collisions` per link direction; frames apart in time all arrive; links without a channel keep their own airtime
(no collisions); links naming the same channel interfere with each other; with a capture
threshold the frame that much stronger than the other survives. The hub runs in a
child process (tools/netsim's modules are named links, report, ...: kept off this sys.path)."""
import json
import os
import subprocess
import sys

import toolchain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = r"""
import json, struct, sys, zlib
sys.path.insert(0, sys.argv[1])
import links
t = [0.0]

class Radio(links.End):
    air_header = links.AIR_HEADER
    def __init__(self, node, hub):
        links.End.__init__(self, node, "LORA", hub)
        self.got = []
    def deliver(self, frame):
        self.got.append((round(t[0]), bytes(frame[6:8]).decode()))

def frame(tag):
    body = b"\x00" * 6 + tag.encode() + bytes(12)  # settings bytes + a 14-byte payload
    return body + struct.pack("<I", zlib.crc32(body))

def lora(name, channel, capture=None, half_duplex=False):
    spec = {"name": name, "type": "lora", "loss": 0, "dup": 0, "reorder": 0, "hold_ms": 0,
            "corrupt": 0, "latency_ms": 0, "jitter_ms": 0, "bytes_per_s": 0, "tx_queue_ms": 0,
            "sf": 7, "bw_hz": 125000, "cr": 5, "mtu": 255}
    if channel:
        spec["channel"] = channel
    if capture:
        spec["capture_db"], spec["levels_db"] = capture
    spec["half_duplex"] = half_duplex
    return spec

def run(case):
    t[0] = 0.0
    hub = links.Hub(1, now_ms=lambda: t[0])
    r = {n: Radio(n, hub) for n in "abcd"}
    if case["two_links"]:
        hub.add_link(lora("l1", case["channel"]), [r["a"], r["b"]])
        hub.add_link(lora("l2", case["channel"]), [r["c"], r["d"]])
    else:
        hub.add_link(lora("l1", case["channel"], case.get("capture"), case.get("half_duplex")),
                     [r["a"], r["b"], r["c"]])
    for at, who, tag in case["sends"]:
        while t[0] < at:
            t[0] += 1
            hub.pump()
        r[who].emit(frame(tag))
    while t[0] < 1000:
        t[0] += 1
        hub.pump()
    coll = {}
    for name, l in hub.links.items():
        for s, d, sim in l["dirs"]:
            coll["%s>%s" % (s.node, d.node)] = sim.stats.get("collisions")
    air = hub.links["l1"]["dirs"][0][2]._wire_ms(len(frame("xx")))
    return {"got": {n: e.got for n, e in r.items()}, "collisions": coll,
            "airtime": round(air, 1)}

print(json.dumps([run(c) for c in json.loads(sys.argv[2])]))
"""


def _run(cases):
    out = subprocess.run([sys.executable, "-c", _SCRIPT, os.path.join(REPO, "tools", "netsim"),
                          json.dumps(cases)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _case(sends, channel="433", two_links=False):
    return {"sends": sends, "channel": channel, "two_links": two_links}


def test_overlapping_sends_on_one_channel_are_both_lost_apart_both_arrive():
    overlap, apart, nochan, half = _run([
        _case([(0, "a", "A1"), (20, "b", "B1")]),   # b starts 20 ms into a's ~52 ms frame
        _case([(0, "a", "A1"), (100, "b", "B1")]),  # b starts after a's frame ended
        _case([(0, "a", "A1"), (20, "b", "B1")], channel=None),
        dict(_case([(0, "a", "A1"), (20, "b", "B1")]), half_duplex=True)])
    assert 40 < overlap["airtime"] < 70, overlap["airtime"]  # SF7/125 kHz/CR 4/5, 14 bytes
    # c hears both: both lost there; a and b each hear the other (not their own frame)
    assert overlap["got"] == {"a": [[72, "B1"]], "b": [[52, "A1"]], "c": [], "d": []}
    assert overlap["collisions"] == {"a>b": 0, "a>c": 1, "b>a": 0, "b>c": 1, "c>a": 0, "c>b": 0}
    # half duplex: a and b were transmitting, deaf to each other too
    assert half["got"] == {"a": [], "b": [], "c": [], "d": []}
    assert half["collisions"] == {"a>b": 1, "a>c": 1, "b>a": 1, "b>c": 1, "c>a": 0, "c>b": 0}
    got = apart["got"]
    assert [g[1] for g in got["c"]] == ["A1", "B1"] and got["b"][0][1] == "A1"
    assert got["a"][0][1] == "B1" and got["c"][0][0] >= 52  # after its airtime
    assert set(apart["collisions"].values()) == {0}
    # a link without a channel: each sender's airtime on its own, no collisions
    assert [g[1] for g in nochan["got"]["c"]] == ["A1", "B1"]
    assert set(nochan["collisions"].values()) == {None}


def test_links_naming_one_channel_interfere_and_a_late_third_frame_arrives():
    same, other = _run([
        _case([(0, "a", "A1"), (30, "c", "C1"), (200, "a", "A2")], two_links=True),
        _case([(0, "a", "A1"), (30, "c", "C1")], channel=None, two_links=True)])
    # l1 (a-b) and l2 (c-d) on one channel: a's and c's frames overlap, both lost; a's next
    # frame, alone on the air, arrives
    assert same["got"]["b"] == [[252, "A2"]]
    assert same["got"]["d"] == []
    assert same["collisions"] == {"a>b": 1, "b>a": 0, "c>d": 1, "d>c": 0}
    assert other["got"]["b"] == [[52, "A1"]] and other["got"]["d"] == [[82, "C1"]]


def test_with_a_capture_threshold_the_stronger_frame_survives():
    strong, close = _run([
        dict(_case([(0, "a", "A1"), (20, "b", "B1")]), capture=[6, {"b": -10}], half_duplex=True),
        dict(_case([(0, "a", "A1"), (20, "b", "B1")]), capture=[6, {"b": -3}])])
    # c locks onto a (10 dB above b); a and b (half duplex) hear nothing while they transmit
    assert [g[1] for g in strong["got"]["c"]] == ["A1"]
    assert strong["got"]["a"] == [] and strong["got"]["b"] == []
    assert strong["collisions"] == {"a>b": 1, "a>c": 0, "b>a": 1, "b>c": 1, "c>a": 0, "c>b": 0}
    # 3 dB apart is under the 6 dB threshold: both lost at c
    assert close["got"]["c"] == [] and close["collisions"]["a>c"] == 1


_VIEW = r"""
import io, sys
sys.path.insert(0, sys.argv[1])
import view

class Sim:
    up = True
    def __init__(self, **st):
        self.stats = dict(sent=9, lost=0, down=0, oversize=0, tx_full=0, corrupted=0,
                          duplicated=0)
        self.stats.update(st)
    def utilisation(self, ms):
        return 0.5

class End:
    def __init__(self, node):
        self.node, self.rx, self.tx = node, 1, 1

class Tracker:
    def per_type(self):
        return {}

class Hub:
    pass

class Run:
    sc = {"name": "fake"}
    ends = [End("rocket"), End("gw")]
    tracker = Tracker()
    consoles = {}
    refs = {}
    hub = Hub()

e = Run.ends
Run.hub.links = {"air": {"spec": {"type": "lora", "channel": "lora:433"},
                         "dirs": [(e[0], e[1], Sim(collisions=2)), (e[1], e[0], Sim(collisions=1))]},
                 "air2": {"spec": {"type": "lora"}, "dirs": [(e[0], e[1], Sim())]}}
out = io.StringIO()
view.Live(Run(), out, False).tick(1.0)
sys.stdout.write(out.getvalue())
"""


def test_the_live_view_shows_a_channel_links_collisions():
    out = subprocess.run([sys.executable, "-c", _VIEW, os.path.join(REPO, "tools", "netsim")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    air = [x for x in out.stdout.splitlines() if x.startswith("  air ")]
    air2 = [x for x in out.stdout.splitlines() if x.startswith("  air2 ")]
    assert air[0].endswith("collisions 3") and "collisions" not in air2[0]
    rows = {x.split()[0]: x for x in out.stdout.splitlines() if "link-lost" in x}
    assert "link-lost     2" in rows["gw"] and "link-lost     1" in rows["rocket"]  # (towards it)


def test_a_shared_channel_scenario_reports_collisions_and_loses_no_reliable_command(tmp_path):
    """scenarios/collisions.json in --fast (one simulated clock: the same run every time):
    the rocket and a 10 dB weaker probe on one LoRa channel with the gateway."""
    out_dir = str(tmp_path / "coll")
    run = subprocess.run([sys.executable, os.path.join(REPO, "tools", "netsim"),
                          os.path.join(REPO, "scenarios", "collisions.json"), "--fast",
                          "--quiet", "--seconds", "40", "--out", out_dir],
                         capture_output=True, text=True, timeout=180, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(os.path.join(out_dir, "report.json")) as f:
        rep = json.load(f)
    air = next(l for l in rep["links"] if l["name"] == "air")
    assert air["stats"]["collisions"] >= 50, air["stats"]
    with open(os.path.join(out_dir, "report.txt")) as f:
        assert " collisions %d" % air["stats"]["collisions"] in f.read()
    rel = rep["reliable"]["COMMAND"]
    assert rel["lost"] == 0 and rel["delivered"] >= 7, rel
    # the capture effect: the rocket's frames get through far more often than the probe's
    o = rep["origins"]
    assert o["rocket"]["delivered"] > 0.8 * o["rocket"]["sent"], o
    assert o["probe"]["delivered"] < 0.8 * o["probe"]["sent"], o
    assert rep["crc_failures"] == 0


def _scenario():
    return toolchain.load_tool("tools/netsim/scenario.py", "netsim_scenario_air")


def test_the_channel_keys_parse_and_name_the_field_of_a_mistake():
    sc = _scenario()
    with open(os.path.join(REPO, "scenarios", "collisions.json")) as f:
        doc = json.load(f)
    air = sc.parse(doc, REPO)["links"][0]
    assert (air["channel"], air["capture_db"], air["levels_db"], air["half_duplex"]) == (
        "lora:433.175", 6, {"probe": -10}, False)
    for key, value, field in (("levels_db", {"ground": 3}, "links[0].levels_db.ground"),
                              ("half_duplex", "yes", "links[0].half_duplex"),
                              ("capture_db", -1, "links[0].capture_db"),
                              ("channel", "", "links[0].channel")):
        bad = json.loads(json.dumps(doc))
        bad["links"][0][key] = value
        try:
            sc.parse(bad, REPO)
        except sc.ScenarioError as e:
            assert str(e).startswith(field + ":"), e
        else:
            raise AssertionError("%s=%r parsed" % (key, value))
