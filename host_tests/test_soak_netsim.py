"""tools/soak_netsim.py: the simulator soak (an hour of simulated time in the tool; a short
run here). Its checks catch a lost reliable packet, a growing live heap and a growing router
table; a short soak of the default scenario (flaps added, the Relay holding the E2E key)
passes them. The tool runs the simulator in child processes (never the reference here)."""
import copy
import json
import os
import subprocess
import sys

import toolchain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "soak_netsim.py")


def _tool():
    return toolchain.load_tool("tools/soak_netsim.py", "soak_netsim_tool")


def _report():
    tables = {"shared_queue_bytes_used": {"max_first_half": 3000, "max_second_half": 2900,
                                          "last": 100},
              "recent_rx_len": {"max_first_half": 128, "max_second_half": 128, "last": 128}}
    board = {"name": "rocket", "error_lines": 0, "heap_high_water": 900000,
             "heap_live": {"samples": 10, "first": 200000, "after_warmup": 240000,
                           "last": 240500, "max": 241000, "growth": 500, "tables": tables}}
    return {"reliable": {"COMMAND": {"sent": 9, "delivered": 9, "lost": 0}},
            "types": {"COMMAND": {"sent": 9, "delivered": 9}}, "crc_failures": 0,
            "undecodable": 0, "boards": [board]}


def test_the_checks_pass_a_flat_run_and_name_each_failure():
    check = _tool().check
    ok, res = check(_report())
    assert ok and res["failures"] == [] and res["boards"]["rocket"]["heap_growth"] == 500
    bad = []
    for mutate in (lambda r: r["reliable"]["COMMAND"].__setitem__("lost", 1),
                   lambda r: r["boards"][0]["heap_live"].update(last=270000, growth=30000),
                   lambda r: r["boards"][0]["heap_live"]["tables"]["recent_rx_len"].update(
                       max_second_half=160),
                   lambda r: r.__setitem__("crc_failures", 2),
                   lambda r: r["boards"][0].__setitem__("error_lines", 3)):
        rep = copy.deepcopy(_report())
        mutate(rep)
        ok, res = check(rep)
        assert not ok and len(res["failures"]) == 1
        bad.append(res["failures"][0].split(":")[0])
    assert bad == ["reliable COMMAND", "board rocket", "board rocket",
                   "2 CRC failures, 0 undecodable frames", "board rocket"]


def test_the_soak_scenario_adds_flaps_and_gives_relays_the_key():
    tool = _tool()
    doc = tool.soak_scenario(os.path.join(REPO, "scenarios", "default.json"), 700, 300, False)
    flaps = [e for e in doc["events"] if e["do"] == "flap" and e["at_s"] >= 300]
    assert [e["at_s"] for e in flaps] == [300, 600] and flaps[0]["link"] == "air"
    assert doc["features"]["e2e"]["nodes"] == ["ground", "rocket", "pad"]
    assert doc["duration_s"] == 700 and os.path.isabs(doc["nodes"][1]["schema"])
    as_is = tool.soak_scenario(os.path.join(REPO, "scenarios", "default.json"), 700, 0, True)
    with open(os.path.join(REPO, "scenarios", "default.json")) as f:  # (the pad holds it there)
        assert as_is["features"]["e2e"]["nodes"] == json.load(f)["features"]["e2e"]["nodes"]
    assert not any(e["at_s"] >= 300 for e in as_is["events"])


def test_a_short_soak_of_the_default_scenario_passes(tmp_path):
    run = subprocess.run([sys.executable, TOOL, "--seconds", "40", "--flap-every", "15",
                          "--out", str(tmp_path)], capture_output=True, text=True,
                         timeout=300, cwd=REPO)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["ok"], run.stderr + run.stdout
    assert summary["simulated_s"] == 40.0 and summary["failures"] == []
    rel = summary["reliable"]["COMMAND"]
    assert rel["lost"] == 0 and rel["delivered"] >= 6, rel
    assert sorted(summary["boards"]) == ["gateway", "payload", "rocket"]
    for b in summary["boards"].values():
        assert b["samples"] >= 5 and b["heap_live_max"] > 100000, b
        assert b["tables_max"]["recent_rx_len"] <= 128, b


def test_a_board_flooded_at_link_rate_keeps_its_heap_and_its_telemetry(tmp_path):
    """scenarios/flood.json: the ground sends 500 COMMANDs a second into the gateway's UART
    (115200 baud); the UART and then the LoRa hop saturate, their excess is dropped and
    counted by reason (tx-full: the sender's medium is booked too far ahead), the boards log
    no error (no MemoryError), their heaps and tables stay flat, telemetry still arrives."""
    run = subprocess.run([sys.executable, TOOL, os.path.join(REPO, "scenarios", "flood.json"),
                          "--seconds", "20", "--flap-every", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["ok"], run.stderr + run.stdout
    with open(os.path.join(str(tmp_path), "report.json")) as f:
        rep = json.load(f)
    links = {l["name"]: l for l in rep["links"]}
    for name in ("ground-uart", "air"):
        assert links[name]["utilisation"] > 0.95 and links[name]["stats"]["tx_full"] > 1000, \
            links[name]
    types = rep["types"]
    assert types["COMMAND"]["sent"] > 6000 and types["COMMAND"]["delivered"] > 50, types
    assert types["GPS_DATA"]["delivered"] >= 0.8 * types["GPS_DATA"]["sent"] >= 15, types
    assert all(b["error_lines"] == 0 for b in rep["boards"])
    gw = summary["boards"]["gateway"]
    assert abs(gw["heap_growth"]) <= 16384 and gw["samples"] >= 3, gw
