"""tools/bench_router.py (`make bench`) in its --smoke mode (20 packets per case), so the bench
cannot rot: every case prints a row for every runtime, and every target a PASS/MISS verdict.
Only that it runs and reports: figures are for `make bench`, not for tests."""
import os
import re
import subprocess
import sys

import toolchain

BENCH = os.path.join(toolchain.REPO, "tools", "bench_router.py")
sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import bench_router  # noqa: E402


def test_bench_smoke_prints_every_row():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, BENCH, "--smoke"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sections = proc.stdout.split("\n### ")
    by_title = {s.split("\n", 1)[0]: s for s in sections[1:]}
    assert len(bench_router.CASES) == 11
    for label, _case, _sides, _recent in bench_router.CASES:
        body = by_title[label]
        for rt in bench_router.RUNTIMES:
            row = [line for line in body.splitlines() if line.startswith(rt + " ")]
            assert len(row) == 1, (label, rt, body)
            figures = row[0][len(rt):].split()
            assert len(figures) == 7, row
            float(figures[0])  # us/packet
            assert figures[1] == "0%", row  # the spread of one run (--smoke runs each once)
            if rt.startswith("mp"):
                float(figures[3])  # heap bytes per packet, measured under MicroPython
    verdicts = re.findall(r"  (PASS|MISS)$", by_title["targets (issue 10)"], re.M)
    assert len(verdicts) == 6, by_title["targets (issue 10)"]


def test_bench_measures_one_named_case_at_a_time():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, BENCH, "--smoke", "--case", "rx->forward, 1024 IDs"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    titles = [s.split("\n", 1)[0] for s in proc.stdout.split("\n### ")[1:]]
    assert titles == ["rx->forward, 1024 IDs"], proc.stdout
    body = proc.stdout.split("\n### ")[1]
    for rt in bench_router.RUNTIMES:
        assert len([x for x in body.splitlines() if x.startswith(rt + " ")]) == 1, body
    bad = subprocess.run([sys.executable, BENCH, "--smoke", "--case", "no such case"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert bad.returncode != 0 and "no such case" in bad.stderr and "rx->deliver" in bad.stderr


def test_bench_repeats_each_row_and_reports_the_minimum():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, BENCH, "--smoke", "--case", "log_f32->tx",
                           "--repeat", "2"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the minimum of 2 interleaved runs" in proc.stdout, proc.stdout
    body = proc.stdout.split("\n### ")[1]
    for rt in bench_router.RUNTIMES:
        row = [x for x in body.splitlines() if x.startswith(rt + " ")]
        assert len(row) == 1 and row[0].split()[-6].endswith("%"), body
