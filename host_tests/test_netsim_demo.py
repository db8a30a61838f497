"""`make demo`'s budget: under a minute of wall time on this 2-core machine, from a fresh clone.
Not a timed test (the machine is shared): the configured parts are checked here, the Makefile
runs the default scenario in real time, its duration plus the overhead the runner is allowed
(setup: the boards' images built in parallel with the mpy-cross binary, the boards booted side
by side; finish: the nodes stopped side by side, the report and the picture) fit the minute, and
every timed event of the scenario has time to show its effect before the end. That each run
measures and reports its own overhead is checked by test_netsim.py's short real-time run
(report.json "timing", the "netsim: wall ..." line)."""
import json
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_S = 60  # the "under a minute"
OVERHEAD_S = 15  # setup + finish on this machine when it is not saturated (about 8 s measured)


def test_make_demo_runs_the_default_scenario_in_real_time():
    with open(os.path.join(REPO, "Makefile")) as f:
        mk = f.read()
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", mk, re.M).group(1).strip()
    assert recipe == "$(PY) tools/netsim scenarios/default.json", recipe  # no --fast/--seconds


def test_the_default_scenario_fits_the_minute_and_its_events_show():
    with open(os.path.join(REPO, "scenarios", "default.json")) as f:
        doc = json.load(f)
    assert doc["duration_s"] == 30
    assert doc["duration_s"] + OVERHEAD_S <= BUDGET_S
    feats = doc["features"]
    # COMMAND every 3 s, the variable's phase and the P2P query every 4 s: several each
    assert doc["nodes"][1]["command"]["every_s"] * 5 <= doc["duration_s"]
    assert feats["network_variables"]["FLIGHT_STATE"]["phase_ms"] * 5 <= doc["duration_s"] * 1000
    assert feats["p2p"]["every_s"] * 5 <= doc["duration_s"]
    # the reboot, the flap and the snapshot leave time to see what follows them
    ends = [e["at_s"] + e.get("period_s", 0) * e.get("count", 0) for e in doc["events"]]
    assert ends and max(ends) <= doc["duration_s"] - 5, doc["events"]
    assert {e["do"] for e in doc["events"]} >= {"reboot", "flap", "snapshot"}
