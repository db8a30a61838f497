"""`make bench`: run every benchmark script (tools/bench_*.py) in turn, in this venv.

    python tools/bench.py [--smoke]    (passed on to each script: a few packets per case)
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
if not scripts:
    sys.exit("no benchmarks found in tools/")
failed = 0
for script in scripts:
    print("== %s" % os.path.basename(script), flush=True)
    failed |= subprocess.run([sys.executable, script] + sys.argv[1:]).returncode != 0
sys.exit(1 if failed else 0)
