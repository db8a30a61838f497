"""`make bench`: run every benchmark script (tools/bench_*.py) in turn, in this venv.

    python tools/bench.py [--smoke] [--soak]

--smoke is passed on to each script (a few packets per case). --soak also runs the end-to-end
reliability soak against 4.2.7 (tools/soak_e2e.py -n 200 --seeds 1: frames per delivered
packet at 5 and 150 ms link delay; a few minutes, so not by default).
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
if not scripts:
    sys.exit("no benchmarks found in tools/")
args = [a for a in sys.argv[1:] if a != "--soak"]
failed = 0
for script in scripts:
    print("== %s" % os.path.basename(script), flush=True)
    failed |= subprocess.run([sys.executable, script] + args).returncode != 0
if "--soak" in sys.argv:
    print("== soak_e2e.py", flush=True)
    failed |= subprocess.run([sys.executable, os.path.join(HERE, "soak_e2e.py"), "-n", "200",
                              "--seeds", "1"]).returncode != 0
sys.exit(1 if failed else 0)
