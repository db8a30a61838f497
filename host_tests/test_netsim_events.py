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

import toolchain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


scenario = toolchain.load_tool("tools/netsim/scenario.py", "netsim_scenario_ev")


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


# -- the events' checks ------------------------------------------------------------------------
KEY = "5345445320652e652065322065206b6579206f662074686520726f636b657421"
NEW = "6e6577206b6579206f662074686520726f636b6574206166746572203130207321"


def _doc():
    doc = scenario.read_doc(os.path.join(REPO, "scenarios", "short.toml"))
    doc["nodes"].append({"name": "pad", "kind": "relay"})
    doc["links"].append({"name": "p", "type": "pipe", "a": "pad.GROUND", "b": "ground.PAD"})
    doc["features"] = {"time_sync": {"source": "ground"},
                       "e2e": {"types": ["COMMAND"], "key_id": 7, "key": KEY,
                               "nodes": ["ground", "rocket"]}}
    doc["events"] = [{"at_s": 5, "do": "time_source_failover", "to": "gateway"},
                     {"at_s": 3, "do": "key_rotation", "key": NEW}]
    return doc


def test_failover_and_rotation_events_parse_and_set_up_the_backup():
    sc = scenario.parse(_doc(), REPO)
    assert sc["events"] == [
        {"at_s": 3, "do": "key_rotation", "key": NEW, "nodes": ["ground", "rocket"]},
        {"at_s": 5, "do": "time_source_failover", "to": "gateway", "how": "withdraw",
         "priority": 50}]
    feat = sc["feat"]
    assert feat["timesync_backup"] == {"node": "gateway", "priority": 50}
    ev = sys.modules["netevents"]  # loaded beside scenario.py (no sedsnet import)
    cfg = {"router": {"max_queue_budget": 8192}}
    ev.board_config(feat, "gateway", cfg)
    assert cfg == {"router": {"max_queue_budget": 8192, "timesync_role": "auto",
                              "timesync_priority": 50}}
    cfg = {}
    ev.board_config(feat, "rocket", cfg)
    assert cfg == {}
    assert ev.node_spec(feat, "gateway") == {"timesync_backup_priority": 50}
    assert ev.node_spec(feat, "ground") == {}
    # a staged rotation: each event names its nodes
    doc = _doc()
    doc["events"][1]["nodes"] = ["ground"]
    doc["events"].append({"at_s": 4, "do": "key_rotation", "key": NEW, "nodes": ["rocket"]})
    assert [e.get("nodes") for e in scenario.parse(doc, REPO)["events"]] == [
        ["ground"], ["rocket"], None]
    # the host decodes a sender it cannot name by its source address (lib/sedsnet/ids.py)
    assert ev.source_address("gateway") == 1411784783


def _bad(mutate):
    doc = _doc()
    mutate(doc)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.parse(doc, REPO)
    return str(e.value)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["features"].pop("time_sync"),
     "events[1]: a time_source_failover needs features.time_sync.source"),
    (lambda d: d["events"][0].pop("to"), "events[0].to: must be a non-empty string"),
    (lambda d: d["events"][0].__setitem__("to", "moon"), "events[0].to: no board or node 'moon'"),
    (lambda d: d["events"][0].__setitem__("to", "ground"),
     "events[1].to: 'ground' is the time source itself"),
    (lambda d: d["events"][0].__setitem__("to", "pad"), "events[1].to: 'pad' is a Relay"),
    (lambda d: d["events"][0].__setitem__("how", "crash"),
     "events[0].how: must be one of withdraw, leave, not 'crash'"),
    (lambda d: d["events"][0].__setitem__("priority", 100), "events[0].priority: must be in"),
    (lambda d: d["events"][0].__setitem__("priority", "high"),
     "events[0].priority: must be a number"),
    (lambda d: d["events"].append({"at_s": 9, "do": "time_source_failover", "to": "rocket"}),
     "one time_source_failover per scenario"),
    (lambda d: d["features"].pop("e2e"),
     "events[0]: a key_rotation needs features.e2e"),
    (lambda d: d["events"][1].__setitem__("key", "xyz"), "events[1].key: must be hex"),
    (lambda d: d["events"][1].__setitem__("key", "00" * 8), "events[1].key: a key needs"),
    (lambda d: d["events"][1].pop("key"), "events[1].key: must be a non-empty string"),
    (lambda d: d["events"][1].__setitem__("nodes", ["gateway"]),
     "events[0].nodes[0]: 'gateway' does not hold the key"),
    (lambda d: d["events"][1].__setitem__("nodes", "ground"), "events[1].nodes: must be a list"),
    (lambda d: d["events"][1].__setitem__("key", KEY.upper()),
     "events[0].key: is the key ground already holds"),
])
def test_bad_failover_and_rotation_events_name_the_field(mutate, field):
    assert field in _bad(mutate)


# -- the example, in --fast ---------------------------------------------------------------------
def test_failover_rotation_and_reboot_each_show_their_effect_in_fast(tmp_path):
    """scenarios/failover.toml (40 simulated s): the ground's clock is withdrawn at 15 s and the
    gateway (Auto, priority 50) takes over; the key is rotated on the ground at 11 s and on the
    rocket at 13 s, with a UART that tampers with sealed frames; the rocket reboots at 24 s."""
    doc = scenario.read_doc(os.path.join(REPO, "scenarios", "failover.toml"))
    rep, body, out_dir = _fast(tmp_path, doc, 40, "failover")
    # the failover: the ground announces until 15 s, nobody for a source timeout, then the
    # gateway; the rocket follows the new source, the ground (a consumer now) too
    fo = rep["time_source_failover"]
    assert fo["from"] == "ground" and fo["to"] == "gateway" and fo["how"] == "withdraw"
    assert 3.0 <= fo["takeover_s"] <= 6.0, fo  # source_timeout_ms 5000 after the last announce
    ann = fo["announces"]
    assert ann["ground"]["before"] >= 10 and ann["ground"]["after"] == 0, ann
    assert ann["gateway"]["before"] == 0 and ann["gateway"]["after"] >= 10, ann
    assert fo["announcing_at_end"] == ["gateway"], fo  # (the rocket promoted itself, lost)
    rocket = fo["boards"]["rocket"]
    assert rocket["before_from_old"]["samples"] >= 5, rocket
    new = rocket["after_from_new"]
    assert new["samples"] >= 4 and abs(new["last_ms"]) <= 100 and rocket["relocked"], rocket
    assert fo["relocked"] and abs(fo["old_source_from_new_ms"]) <= 100, fo
    gw = fo["boards"]["gateway"]  # its time is the one it followed: no step at the takeover
    assert gw["after_from_new"] is None and abs(gw["after_from_old"]["last_ms"]) <= 100, gw
    assert "gateway took over after" in body and "(re-locked)" in body
    # the rotation: COMMANDs delivered after it, sealed frames downgraded to clear by the UART
    # rejected by the keyless gateway, never accepted in clear by any board, none lost
    r1, r2 = rep["key_rotations"]
    assert r1["nodes"] == ["ground"] and r2["nodes"] == ["rocket"] and r1["key"] == r2["key"]
    assert r1["types"]["COMMAND"]["delivered_before"] >= 3
    assert r2["types"]["COMMAND"]["delivered_after"] >= 5, r2
    # (how many sealed frames the UART downgrades depends on how many cross it: >= 1 each)
    assert sum(r["types"]["COMMAND"]["clear_arrivals_after"] for r in (r1, r2)) >= 1
    rejected = sum(r["by_node"]["gateway"]["clear_rejected_after"] for r in (r1, r2))
    assert rejected >= 1, (r1, r2)
    assert all(row["require_on_clear_accepted_after"] == 0 for r in (r1, r2)
               for n, row in r["by_node"].items() if n != "ground")
    # 4.2.7 cannot resend what it sealed before its key changed (it opens its stored frame
    # with the new key): when a COMMAND was in flight at the rotation, periodic() raises
    # until the packet's retries run out; no other error
    assert all("tx handler failed" in w or "exhausted retries" in w
               for w in r1["by_node"]["ground"]["errors_after"]), r1
    assert rep["reliable"]["COMMAND"]["lost"] == 0, rep["reliable"]
    # the reboot: one, the lab booted twice, the rocket's telemetry resumed with the new key
    boards = {b["name"]: b for b in rep["boards"]}
    assert boards["rocket"]["reboots"] == 1 and boards["gateway"]["reboots"] == 0
    assert boards["rocket"]["status_lines"] >= 18  # every 2 s, on both sides of the reboot
    assert rep["origins"]["rocket"]["last_delivery_s"] > 35
    with open(os.path.join(out_dir, "rocket.console.log")) as f:
        lines = f.read().splitlines()
    boot = [i for i, x in enumerate(lines) if x.startswith("sedsnet: rocket up")]
    assert len(boot) == 2 and lines[boot[1] - 1] == "MPY: soft reboot", lines
    assert rep["events"][-1] == {"at_s": 24, "what": "board rocket reboots (its lab process "
                                                     "restarts)"}
    assert rep["crc_failures"] == 0
