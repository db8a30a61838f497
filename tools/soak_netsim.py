"""Soak: a simulator scenario for an hour of simulated time (issue 18), via tools/netsim --fast.

    .venv/bin/python tools/soak_netsim.py [SCENARIO] [--seconds 3600] [--flap-every 300]
                                          [--out DIR] [--as-is]

Runs the scenario (default scenarios/default.json) on the simulated clock with its faults,
plus a flap of its first radio link every --flap-every simulated seconds, then checks the
report: 0 lost packets of every reliable type, no CRC failure or undecodable frame, no error
line on a board, each board's live heap flat after warm-up (heap_live growth within
HEAP_SLACK) and no table of a board's router growing (each *_used / *_len field of
export_memory_layout_json() no larger in the second half of the run than in the first, within
TABLE_SLACK). The last line is a JSON summary; exit status 1 when a check fails.

Unless --as-is, the scenario's reference Relays also hold its E2E key: a keyless 4.2.7 Relay
raises BadArg from periodic() on the sealed reliable frames it holds and they never arrive
(scenarios/README.md), which is 4.2.7's behaviour, not a fault the soak measures.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAP_SLACK = 16384  # bytes a board's live heap may differ from its value after warm-up
TABLE_SLACK = 0.10  # a table's second-half maximum may exceed its first-half one by this share
# what fills and drains with the link backlog and losses of the moment, not a table that grows
# with the network: held frames waiting for a gap to fill (bounded by the reliable window per
# stream and 32 streams a side) and the queue budget in use (bounded by max_queue_budget; a
# leak shows in the other tables and in the live heap)
TRANSIENT = ("reliable_rx_buffer_bytes_used", "reliable_rx_buffer_len", "shared_queue_bytes_used")


def _scenario_module():
    """tools/netsim/scenario.py by path (its directory holds modules named links, report...)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "netsim_scenario", os.path.join(REPO, "tools", "netsim", "scenario.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def soak_scenario(path, seconds, flap_every, as_is):
    """The scenario document for the soak: paths made absolute, flaps added, keys on relays."""
    doc = _scenario_module().read_doc(path)  # JSON or TOML
    base = os.path.dirname(os.path.abspath(path))
    for part in (doc.get("boards", []), doc.get("nodes", [])):
        for one in part:
            for k in ("config", "schema"):
                if k in one and not os.path.isabs(one[k]):
                    for root in (base, REPO):
                        if os.path.exists(os.path.join(root, one[k])):
                            one[k] = os.path.join(root, one[k])
                            break
    radio = next((l["name"] for l in doc.get("links", []) if l.get("type") in ("lora", "nrf24")),
                 None)
    if flap_every and radio:
        t = flap_every
        while t < seconds:
            doc.setdefault("events", []).append({"at_s": t, "do": "flap", "link": radio,
                                                 "period_s": 1, "count": 2})
            t += flap_every
    e2e = doc.get("features", {}).get("e2e")
    if e2e and not as_is:
        for n in doc.get("nodes", []):
            if n.get("kind") == "relay" and n["name"] not in e2e.setdefault("nodes", []):
                e2e["nodes"].append(n["name"])
    doc["duration_s"] = seconds
    return doc


def check(rep):
    """(ok, {failures, per-board figures}) from a netsim report.json."""
    fails = []
    for name, r in sorted(rep.get("reliable", {}).items()):
        if r["lost"]:
            fails.append("reliable %s: %d of %d lost" % (name, r["lost"], r["sent"]))
        if not r["delivered"]:
            fails.append("reliable %s: nothing delivered" % name)
    for name, t in sorted(rep["types"].items()):
        if t["sent"] and not t["delivered"]:
            fails.append("type %s: sent %d, none delivered" % (name, t["sent"]))
    if rep["crc_failures"] or rep["undecodable"]:
        fails.append("%d CRC failures, %d undecodable frames" % (rep["crc_failures"],
                                                                 rep["undecodable"]))
    boards = {}
    for b in rep["boards"]:
        hl = b.get("heap_live") or {}
        if b["error_lines"]:
            fails.append("board %s: %d error lines" % (b["name"], b["error_lines"]))
        if not hl:
            fails.append("board %s: no live heap samples" % b["name"])
            continue
        if abs(hl["growth"]) > HEAP_SLACK or hl["max"] - hl["after_warmup"] > HEAP_SLACK:
            fails.append("board %s: live heap %d after warm-up, %d at the end, max %d"
                         % (b["name"], hl["after_warmup"], hl["last"], hl["max"]))
        grew = {}
        for k, v in hl["tables"].items():
            if k in TRANSIENT:
                continue
            limit = v["max_first_half"] * (1 + TABLE_SLACK) + (2 if k.endswith("_len") else 64)
            if v["max_second_half"] > limit:
                grew[k] = v
        if grew:
            fails.append("board %s: tables grew: %s" % (b["name"], json.dumps(grew)))
        boards[b["name"]] = {"heap_live_first": hl["first"], "heap_live_after_warmup":
                             hl["after_warmup"], "heap_live_last": hl["last"],
                             "heap_live_max": hl["max"], "heap_growth": hl["growth"],
                             "samples": hl["samples"],
                             "status_heap_high_water": b["heap_high_water"],
                             "router_drops": b.get("router_drops", {}),
                             "tables_max": {k: v["max_second_half"]
                                            for k, v in hl["tables"].items()
                                            if v["max_second_half"]}}
    return not fails, {"failures": fails, "boards": boards}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="?", default=os.path.join(REPO, "scenarios", "default.json"))
    ap.add_argument("--seconds", type=float, default=3600.0, help="simulated seconds")
    ap.add_argument("--flap-every", type=float, default=300.0,
                    help="flap the first radio link every N simulated seconds (0: never)")
    ap.add_argument("--out", help="report directory (default build/soak/<scenario>)")
    ap.add_argument("--as-is", action="store_true", help="do not give the Relays the E2E key")
    args = ap.parse_args(argv)
    doc = soak_scenario(args.scenario, args.seconds, args.flap_every, args.as_is)
    out = args.out or os.path.join(REPO, "build", "soak", doc.get("name", "scenario"))
    os.makedirs(out, exist_ok=True)
    sc_path = os.path.join(out, "soak-scenario.json")
    with open(sc_path, "w") as f:
        json.dump(doc, f, indent=1)
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        run = subprocess.run([sys.executable, os.path.join(REPO, "tools", "netsim"), sc_path,
                              "--fast", "--quiet", "--out", out], stdout=log, stderr=log,
                             cwd=REPO)
        log.seek(0)
        text = log.read()
    wall = time.monotonic() - t0
    rep_path = os.path.join(out, "report.json")
    if run.returncode not in (0, 1) or not os.path.exists(rep_path):
        print(text[-3000:], file=sys.stderr)
        print(json.dumps({"ok": False, "failures": ["netsim exited %d" % run.returncode]}))
        return 1
    with open(rep_path) as f:
        rep = json.load(f)
    ok, res = check(rep)
    summary = {"ok": ok, "scenario": doc.get("name"), "simulated_s": rep["seconds"],
               "wall_s": round(wall, 1), "report": rep_path,
               "reliable": rep.get("reliable"), "types": {
                   k: {"sent": v["sent"], "delivered": v["delivered"]}
                   for k, v in rep["types"].items()},
               "events": len(rep.get("events", ())), "relays_hold_key": not args.as_is}
    summary.update(res)
    for line in res["failures"]:
        print("soak: FAIL " + line, file=sys.stderr)
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
