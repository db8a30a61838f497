"""tools/bench_timesync.py (`make bench`) in its --smoke mode, so it cannot rot: a row per
case and a TimeSync heap figure for each MicroPython runtime, and our lib (not the reference,
which has the same package name) under CPython. Figures are for `make bench`, not tests."""
import os
import re
import subprocess
import sys

import toolchain

BENCH = os.path.join(toolchain.REPO, "tools", "bench_timesync.py")


def test_bench_timesync_smoke_prints_every_row():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, BENCH, "--smoke"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sections = {s.split("\n", 1)[0]: s for s in proc.stdout.split("### ")[1:]}
    for rt in ("micropython", "cpython") + (() if toolchain.micropython32_missing()
                                           else ("micropython32",)):
        body = sections[rt]
        assert len(re.findall(r" [0-9.]+ us$", body, re.M)) == 4, body
        if rt != "cpython":
            assert re.search(r"TimeSync instance: \d+ bytes of heap", body), body
