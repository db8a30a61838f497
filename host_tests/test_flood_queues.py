"""tools/flood_queues.py under each runtime: every queue path (a side's RX queue, the
application's IRQ-safe queue, queued logs, queued transmits, a Relay's RX queue) and discovery
(Router and Relay) offered 10 times a board's queue budget (8 KB) without a periodic() in
between, two rounds: every frame through or counted as a drop by reason, the budget never
passed, the heap within the budget of where it started and flat across rounds, and the node
recovers (queues empty, a fresh frame delivered or forwarded)."""
import json
import os
import subprocess
import sys

import toolchain

TOOL = os.path.join(toolchain.REPO, "tools", "flood_queues.py")
PATHS = ["router_rx_queue", "router_local_isr_queue", "router_log_queue",
         "router_transmit_queue", "relay_rx_queue", "discovery_router", "discovery_relay"]


def _check(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=toolchain.REPO,
                         timeout=300)
    lines = out.stdout.strip().splitlines()
    assert lines, out.stderr[-3000:]
    rep = json.loads(lines[-1])
    assert out.returncode == 0 and rep["failures"] == [], json.dumps(rep, indent=1)
    assert [p["path"] for p in rep["paths"]] == PATHS
    for p in rep["paths"]:
        counted = sum(p["drops"].values())
        assert counted > p["offered"] // 2, p  # 10x the budget: most of it is dropped...
        assert p["peak_budget_used"] <= rep["budget"], p  # ...inside the budget
        if not p["path"].startswith("discovery"):
            assert p["through"] > 0 and p["through"] + counted >= p["offered"], p
    return rep


def test_flood_micropython(mp_runtime):
    rep = _check([toolchain.runtime_binary(mp_runtime), "-X", "heapsize=1024k", TOOL, "2"],
                 toolchain.mp_env())
    assert rep["runtime"] == "micropython" and len(rep["heap_after_rounds"]) == 2
    drops = {p["path"]: p["drops"] for p in rep["paths"]}
    assert drops["router_rx_queue"]["side_isr_full"] > 1000  # the side's fixed IRQ ring
    assert drops["router_local_isr_queue"]["local_rx_dropped"] > 1000
    assert drops["router_log_queue"]["tx_evicted"] > 1000  # the TX ring evicts the oldest
    assert drops["discovery_relay"]["discovery_evicted"] > 900


def test_flood_cpython():
    env = dict(os.environ)
    env["PYTHONPATH"] = toolchain.LIB
    _check([sys.executable, TOOL, "1"], env)
