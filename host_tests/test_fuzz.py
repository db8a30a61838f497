"""Mutation fuzzing of every frame entry point (tools/fuzz_frames.py) under each runtime.

50k mutated frames per path under both MicroPython builds (run side by side, in a bounded heap: a
table that grows with hostile input would end in a MemoryError escape), fewer under CPython.
Nothing but a SedsError may escape, str() of every delivered packet works, and the periodic
health checks (a fresh frame still delivered and taken by a Relay, queues empty) all pass.
"""
import json
import os
import subprocess
import sys

import pytest

import toolchain

TOOL = os.path.join(toolchain.REPO, "tools", "fuzz_frames.py")
MP_FRAMES = 50000
CPY_FRAMES = 20000
# Heap: the library compiled from .py (every feature module a mutant can reach loads) plus the
# nodes; 32-bit boards hold half-size objects. Hostile input fills what the nodes may hold, up to
# their queue budgets (100 KB each, 4.2.7's default: the router's is full after ~40k mutants),
# then the heap stays flat (64-bit: 580 KB after 40k, 588 KB after 80k): room for both.
HEAPS = {"micropython": "2048k", "micropython32": "1024k"}
PATHS = ("unpack_packet", "router_side", "router_side_queue", "router_local", "relay_side")


def _start(cmd, env):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=toolchain.REPO)


def _summary(proc, what):
    out, err = proc.communicate(timeout=900)
    lines = out.strip().splitlines()
    assert lines, "%s printed nothing:\n%s" % (what, err[-3000:])
    summary = json.loads(lines[-1])
    assert proc.returncode in (0, 1), "%s crashed (%d):\n%s" % (what, proc.returncode, err[-3000:])
    return summary


def _check(summary, frames, heap=None):
    assert summary["escapes"] == 0, json.dumps(summary, indent=1)
    assert summary["health_failures"] == [] and summary["str_failures"] == [], summary
    assert summary["health_checks"] >= frames // 4000
    # the heap's high-water (live after gc.collect() at each check) and its trace are reported;
    # under MicroPython it stays inside the -X heapsize the run was given
    assert summary["heap_high_water"] >= summary["heap_base"] + summary["heap_growth_peak"] > 0 \
        or summary["runtime"] != "micropython", summary
    assert len(summary["heap_trace"]) == (summary["health_checks"] + 24) // 25
    assert summary["slowest_chunk_ms"] >= 0
    if heap is not None:
        assert summary["heap_high_water"] < int(heap[:-1]) * 1024, summary
    assert [p["path"] for p in summary["paths"]] == list(PATHS)
    for p in summary["paths"]:
        assert p["frames"] == frames
        assert p["accepted"] > 0, p  # the mutants reach past the parser...
        if p["path"] != "router_side_queue":  # (queueing only copies; its drain is checked)
            assert sum(p["rejected"].values()) > frames // 4, p  # ...and many are refused
    assert summary["delivered"] > frames // 50


def _mp_cmd(runtime, frames, seed):
    return [toolchain.runtime_binary(runtime), "-X", "heapsize=" + HEAPS[runtime], TOOL,
            str(frames), str(seed)]


@pytest.fixture(scope="module")
def mp_runs():
    """Both MicroPython runs, started together (CI has two cores), collected by each test."""
    env = toolchain.mp_env()
    runs = {}
    for i, rt in enumerate(toolchain.MP_RUNTIMES):
        if rt == "micropython32" and toolchain.micropython32_missing():
            runs[rt] = None
        else:
            runs[rt] = _start(_mp_cmd(rt, MP_FRAMES, 7 + i), env)
    yield runs
    for proc in runs.values():
        if proc is not None and proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("runtime", toolchain.MP_RUNTIMES)
def test_fuzz_micropython(mp_runs, runtime):
    proc = mp_runs[runtime]
    if proc is None:
        missing = toolchain.micropython32_missing()
        if toolchain.in_ci():
            pytest.fail(missing)
        pytest.skip(missing)
    _check(_summary(proc, runtime), MP_FRAMES, HEAPS[runtime])


def test_fuzz_cpython():
    env = dict(os.environ)
    env["PYTHONPATH"] = toolchain.LIB
    proc = _start([sys.executable, TOOL, str(CPY_FRAMES), "11"], env)
    _check(_summary(proc, "cpython"), CPY_FRAMES)
