"""How many virtual boards run in real time on this machine:

    python tools/netsim/scale.py 4 8 16 [--seconds 20] [--board rp2040]

For each N: N boards with their shipped config and sensor rates (rp2040: GPS 5 Hz, IMU 20 Hz),
each on its own 115200-baud UART into one reference ground station (N sides), run for --seconds.
"Real time" = the ground got >= 95% of what the boards sent and the p90 latency stays under
250 ms (a frame takes ~6 ms on the line); the loop counts per second of the boards' status lines
show how far each board falls behind its idle rate. With --fast the figure is wall_s for
--seconds of simulated time (the "real_time" verdict does not apply there)."""
import argparse
import json
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import runner  # noqa: E402
import scenario  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def doc(n, board, seconds):
    boards, links = [], []
    for i in range(n):
        name = "b%02d" % i
        boards.append({"name": name, "board": board, "set": {"hostname": name}})
        links.append({"name": "u%02d" % i, "type": "uart", "a": name + ".UART0",
                      "b": "ground.S%02d" % i})
    return {"name": "scale-%d" % n, "duration_s": seconds, "boards": boards,
            "nodes": [{"name": "ground", "schema": "boards/%s/schema.json" % board,
                       "handlers": ["GROUND_STATION"]}], "links": links}


def loops_per_s(lines, status_ms=5000):
    counts = [int(m.group(1)) for m in (re.match(r"sedsnet: loops=(\d+)", x) for x in lines) if m]
    counts = [c for c in counts if c]
    return (counts[-1] - counts[-2]) * 1000.0 / status_ms if len(counts) >= 2 else None


def one(n, board, seconds, fast=False):
    sc = scenario.parse(doc(n, board, seconds), REPO)
    out = tempfile.mkdtemp(prefix="netsim-scale-")
    t0 = os.times()
    if fast:
        import fast as fastmod
        run = fastmod.FastRun(sc, out, quiet=True)
    else:
        run = runner.Run(sc, out, quiet=True)
    rep = run.run()
    t1 = os.times()
    sent = sum(t["sent"] for t in rep["types"].values())
    got = sum(t["delivered"] for t in rep["types"].values())
    p90 = max([t["latency_ms"]["p90"] or 0 for t in rep["types"].values()] or [0])
    with open(os.path.join(out, "b00.console.log")) as f:
        lps = loops_per_s(f.read().splitlines())
    cpu = (t1.children_user + t1.children_system + t1.user + t1.system
           - t0.children_user - t0.children_system - t0.user - t0.system)
    row = {"boards": n, "sent": sent, "delivered": got, "ratio": round(got / float(sent or 1), 3),
           "p90_ms": p90, "b00_loops_per_s": lps, "wall_s": rep["wall_s"],
           "cpu_s_measured_children": round(cpu, 1),
           "real_time": sent > 0 and got >= 0.95 * sent and p90 < 250}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("counts", nargs="+", type=int)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--board", default="rp2040")
    ap.add_argument("--fast", action="store_true", help="on one simulated clock: wall time per "
                    "simulated time instead of a real-time verdict")
    args = ap.parse_args(argv)
    rows = [one(n, args.board, args.seconds, args.fast) for n in args.counts]
    print("boards in real time: %s" % ", ".join("%d %s" % (r["boards"], "yes" if r["real_time"]
                                                          else "no") for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
