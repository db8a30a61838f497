"""The simulator's network variables and P2P (tools/netsim/netvar_p2p.py): the scenario's
"network_variables" and "p2p" features are checked field by field, become the boards' config
sections (sedsnet_node/netfeat.py) and the reference nodes' specs, and a short run of
scenarios/short.json with both reports variable updates at every holder (agreeing on the final
value) and status queries answered by the rocket. The simulator runs in a child process."""
import copy
import json
import os
import subprocess
import sys

import pytest

import toolchain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


scenario = toolchain.load_tool("tools/netsim/scenario.py", "netsim_scenario_nv")

with open(os.path.join(REPO, "scenarios", "short.json")) as f:
    SHORT = json.load(f)
for _b in SHORT["boards"]:
    if "config" in _b:
        _b["config"] = os.path.join(REPO, _b["config"])
for _n in SHORT["nodes"]:
    _n["schema"] = os.path.join(REPO, _n["schema"])
FEATURES = {"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["ground"],
                                                   "phase_ms": 1000}},
            "p2p": {"server": "rocket", "port": 7, "client": "ground", "every_s": 1}}


def _doc(features):
    doc = copy.deepcopy(SHORT)
    doc["features"] = features
    return doc


def _bad(features):
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.parse(_doc(features), REPO)
    return str(e.value)


def test_features_become_board_sections_and_node_specs():
    sc = scenario.parse(_doc(FEATURES), REPO)
    assert sc["ignored"] == []
    feat = sc["feat"]
    assert feat["netvars"] == [{"type": "FLIGHT_STATE", "owner": "rocket", "holders": ["ground"],
                                "phase_ms": 1000, "period_ms": 250}]
    assert feat["p2p"] == {"server": "rocket", "client": "ground", "port": 7, "every_s": 1}
    nv = sys.modules["netvar_p2p"]  # loaded beside scenario.py (no sedsnet import)
    cfg = {}
    nv.board_config(feat, "rocket", cfg)
    assert cfg == {"network_variables": {"own": [{"type": "FLIGHT_STATE",
                                                  "kind": "sim_flight_state", "period_ms": 250,
                                                  "phase_ms": 1000}], "watch": []},
                   "p2p": {"status_port": 7}}
    cfg = {}
    nv.board_config(feat, "gateway", cfg)
    assert cfg == {}
    assert nv.node_spec(feat, "ground", {"rocket": "rocket"}) == {
        "netvar_watch": ["FLIGHT_STATE"],
        "p2p_query": {"hostname": "rocket", "port": 7, "every_s": 1}}
    assert nv.packages(feat) == ["sedsnet-netvar", "sedsnet-p2p"]


@pytest.mark.parametrize("features, field", [
    ({"network_variables": {"FLIGHT_STATE": "ground"}},
     "features.network_variables.FLIGHT_STATE: must be an object"),
    ({"network_variables": {"FLIGHT_STAT": {"owner": "rocket", "holders": ["ground"]}}},
     "features.network_variables.FLIGHT_STAT: no type 'FLIGHT_STAT'"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "ground", "holders": ["rocket"]}}},
     "features.network_variables.FLIGHT_STATE.owner: 'ground' is not a board"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": []}}},
     "features.network_variables.FLIGHT_STATE.holders: must be a non-empty list"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["rocket"]}}},
     "features.network_variables.FLIGHT_STATE.holders[0]: 'rocket' is not another board"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["moon"]}}},
     "features.network_variables.FLIGHT_STATE.holders[0]: 'moon'"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["ground"],
                                             "phase_ms": 0}}},
     "features.network_variables.FLIGHT_STATE.phase_ms: must be an int >= 1"),
    ({"network_variables": {"FLIGHT_STATE": {"owner": "rocket", "holders": ["ground"],
                                             "colour": 1}}},
     "features.network_variables.FLIGHT_STATE.colour: unknown key"),
    ({"p2p": {"server": "ground", "client": "ground"}}, "features.p2p.server: 'ground' is not"),
    ({"p2p": {"server": "rocket", "client": "gateway"}},
     "features.p2p.client: 'gateway' is not a reference router"),
    ({"p2p": {"server": "rocket", "client": "ground", "port": 0}}, "features.p2p.port"),
    ({"p2p": {"server": "rocket", "client": "ground", "port": 7000}}, "features.p2p.port"),
    ({"p2p": {"server": "rocket", "client": "ground", "every_s": 0}}, "features.p2p.every_s"),
    ({"p2p": {"server": "rocket", "client": "ground", "ports": 7}}, "features.p2p.ports: unknown"),
])
def test_bad_features_name_the_field(features, field):
    assert field in _bad(features)


def test_short_run_reports_variable_updates_and_answered_queries(tmp_path):
    doc = _doc(FEATURES)
    rocket = doc["boards"][0]
    rocket["heap"] = "400k"  # (the 64-bit Unix port: see scenarios/default.json)
    rocket["set"]["sensors"] = [{"name": "gps", "type": "GPS_DATA", "kind": "sim_gps",
                                 "period_ms": 1000}]
    path = str(tmp_path / "short-nv-p2p.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    out_dir = str(tmp_path / "out")
    run = subprocess.run([PY, os.path.join(REPO, "tools", "netsim"), path, "--quiet",
                          "--seconds", "8", "--fast", "--out", out_dir],
                         capture_output=True, text=True, timeout=150, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(os.path.join(out_dir, "report.json")) as f:
        rep = json.load(f)
    nv = rep["network_variables"]["FLIGHT_STATE"]
    assert nv["owner"] == "rocket" and nv["sets"] >= 5, nv  # phases 0..5, one every 1 s
    ground = nv["holders"]["ground"]
    assert ground["updates"] >= 2 and len(ground["values"]) >= 2, nv
    assert nv["final"] == 5 and ground["last"] == 5 and nv["agree"], nv
    p = rep["p2p"]
    assert p["sent"] >= 1 and p["answered"] >= 1, p
    assert p["answered"] <= p["sent"] and 0 < p["latency_ms"]["p50"] < 5000, p
    with open(os.path.join(out_dir, "report.txt")) as f:
        body = f.read()
    assert "network variable FLIGHT_STATE: set %d times by rocket, final 5" % nv["sets"] in body
    assert " (agree)" in body and "p2p ground -> rocket port 7: queries sent %d, answered %d" % (
        p["sent"], p["answered"]) in body
    with open(os.path.join(out_dir, "rocket.console.log")) as f:
        assert "sedsnet: netvar set FLIGHT_STATE=5" in f.read()
