"""python tools/netsim SCENARIO.json|SCENARIO.toml [--quiet] [--out DIR] [--seconds N] [--keep]"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import runner  # noqa: E402
import scenario  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(prog="netsim", description="run a sedsnet network scenario")
    ap.add_argument("scenario", nargs="?", default=os.path.join(REPO, "scenarios", "default.json"))
    ap.add_argument("--quiet", action="store_true", help="no live view (CI); the report paths only")
    ap.add_argument("--out", help="where the report goes (default build/netsim/<scenario>)")
    ap.add_argument("--seconds", type=float, help="override the scenario's duration_s")
    ap.add_argument("--keep", action="store_true", help="keep the boards' filesystems and logs")
    ap.add_argument("--fast", action="store_true",
                    help="one simulated clock, as fast as the CPU goes (fast.py)")
    args = ap.parse_args(argv)
    try:
        sc = scenario.load(args.scenario)
    except scenario.ScenarioError as e:
        print("netsim: bad scenario: %s" % e, file=sys.stderr)
        return 2
    out = args.out or os.path.join(REPO, "build", "netsim", sc["name"])
    if args.fast:
        import fast
        run = fast.FastRun(sc, out, quiet=args.quiet, seconds=args.seconds, keep=args.keep)
    else:
        run = runner.Run(sc, out, quiet=args.quiet, seconds=args.seconds, keep=args.keep)
    rep = run.run()
    delivered = sum(t["delivered"] for t in rep["types"].values())
    return 0 if delivered > 0 and rep["crc_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
