"""tools/bench_e2e.py (`make bench`) in its --smoke mode, so the bench cannot rot: a row of
figures for every runtime (and the reference), allocation measured under MicroPython. Only
that it runs and reports: the figures are for `make bench`, not for tests."""
import os
import subprocess
import sys

import toolchain

BENCH = os.path.join(toolchain.REPO, "tools", "bench_e2e.py")


def test_bench_e2e_smoke_prints_every_row():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, BENCH, "--smoke"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[1].isdigit():
            rows[parts[0]] = parts[1:]
    expected = {"micropython", "cpython", "reference"}
    if not toolchain.micropython32_missing():
        expected.add("micropython32")
    assert expected <= set(rows), proc.stdout
    for rt in expected:
        assert int(rows[rt][0]) > 0 and int(rows[rt][2]) > 0
        if rt.startswith("micropython"):
            assert int(rows[rt][1]) > 0 and int(rows[rt][3]) > 0  # bytes per seal / open
