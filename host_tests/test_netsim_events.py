"""tools/netsim: TOML scenarios (the same schema and checks as JSON), the time_source_failover
and key_rotation events (checked field by field; in --fast a failover re-locks the boards on
the new source, a rotation keeps E2E deliveries going and RequireOn never downgraded) and
`reboot` in --fast (the board's lab process restarts; its telemetry resumes). The simulator
runs in child processes (it imports the reference sedsnet, which never shares a process with
ours)."""
import copy
import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "tools", "netsim",
                                                                     file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


scenario = _load("netsim_scenario_ev", "scenario.py")  # no sedsnet import: safe here


# -- TOML -----------------------------------------------------------------------------------
def test_the_toml_and_json_forms_of_a_scenario_parse_to_the_same_result():
    js = scenario.load(os.path.join(REPO, "scenarios", "short.json"))
    tm = scenario.load(os.path.join(REPO, "scenarios", "short.toml"))
    assert js == tm
    assert tm["links"][0]["ends"] == [("rocket", "LORA"), ("gateway", "LORA")]
    assert tm["nodes"][0]["command"] == {"every_s": 2, "type": "COMMAND",
                                         "endpoint": "FLIGHT_COMPUTER"}


def _toml_error(tmp_path, text):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(str(p))
    return str(e.value)


def test_a_toml_mistake_gives_the_json_message_naming_the_key(tmp_path):
    with open(os.path.join(REPO, "scenarios", "short.toml")) as f:
        good = f.read()
    bad = good.replace("loss = 0.02", "loss = 1.5")
    assert bad != good
    msg = _toml_error(tmp_path, bad)
    doc = scenario.read_doc(os.path.join(REPO, "scenarios", "short.json"))
    doc["links"][0]["loss"] = 1.5
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.parse(doc, REPO)
    assert msg == str(e.value) and msg.startswith("links[0].loss: must be in")
    assert "colour: unknown key" in _toml_error(tmp_path, "colour = 1\n" + good)
    # not TOML at all: the file and the parser's line
    msg = _toml_error(tmp_path, good + "\n[[links]\n")
    assert "bad.toml" in msg and "line" in msg


def test_the_cli_and_the_soak_take_a_toml_scenario(tmp_path):
    p = tmp_path / "bad.toml"
    with open(os.path.join(REPO, "scenarios", "short.toml")) as f:
        p.write_text(f.read().replace('type = "lora"', 'type = "wifi"'))
    out = subprocess.run([PY, os.path.join(REPO, "tools", "netsim"), str(p), "--quiet"],
                         capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert out.returncode == 2 and "links[0].type: must be one of" in out.stderr
    spec = importlib.util.spec_from_file_location("soak_netsim_ev",
                                                  os.path.join(REPO, "tools", "soak_netsim.py"))
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    doc = soak.soak_scenario(os.path.join(REPO, "scenarios", "short.toml"), 700, 300, False)
    assert doc["boards"][1]["config"] == os.path.join(REPO, "boards", "esp32", "gateway.json")
    assert [e["at_s"] for e in doc["events"]] == [300, 600]  # its flaps of the air link


# -- --fast runs --------------------------------------------------------------------------------
def _fast(tmp_path, doc, seconds, name):
    """Run doc (paths made absolute) in --fast; -> (report.json, report.txt, out dir)."""
    doc = copy.deepcopy(doc)
    for part in (doc.get("boards", []), doc.get("nodes", [])):
        for one in part:
            for k in ("config", "schema"):
                if k in one and not os.path.isabs(one[k]):
                    one[k] = os.path.join(REPO, one[k])
    path = str(tmp_path / (name + ".json"))
    with open(path, "w") as f:
        json.dump(doc, f)
    out_dir = str(tmp_path / name)
    run = subprocess.run([PY, os.path.join(REPO, "tools", "netsim"), path, "--fast", "--quiet",
                          "--seconds", str(seconds), "--out", out_dir],
                         capture_output=True, text=True, timeout=150, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(os.path.join(out_dir, "report.json")) as f:
        rep = json.load(f)
    with open(os.path.join(out_dir, "report.txt")) as f:
        return rep, f.read(), out_dir


def test_a_reboot_in_fast_restarts_the_boards_lab_and_its_telemetry_resumes(tmp_path):
    doc = scenario.read_doc(os.path.join(REPO, "scenarios", "short.toml"))
    doc["events"] = [{"at_s": 8, "do": "reboot", "board": "rocket"}]
    rep, body, out_dir = _fast(tmp_path, doc, 20, "reboot")
    boards = {b["name"]: b for b in rep["boards"]}
    assert boards["rocket"]["reboots"] == 1 and boards["gateway"]["reboots"] == 0
    assert boards["rocket"]["status_lines"] == 5  # every 5 s: 0, 5 s; then 8, 13, 18 s
    assert rep["events"] == [{"at_s": 8, "what": "board rocket reboots (its lab process "
                                                 "restarts)"}]
    assert rep["origins"]["rocket"]["last_delivery_s"] > 15  # its telemetry resumed
    with open(os.path.join(out_dir, "rocket.console.log")) as f:
        lines = f.read().splitlines()
    boot = [i for i, x in enumerate(lines) if x.startswith("sedsnet: rocket up")]
    assert len(boot) == 2 and lines[boot[1] - 1] == "MPY: soft reboot", lines
    assert "reboots 1," in body and rep["crc_failures"] == 0
