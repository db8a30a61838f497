"""What discovery state costs: tools/discovery_heap.py measures the heap per neighbour and per
remote router under MicroPython and prints what the Announcer charges to max_queue_budget for
the same state; on the 32-bit runtime (the boards' heap) the charge must match the heap within
[0.8, 1.5] so that the budget really bounds discovery memory."""
import os
import subprocess

import pytest

import toolchain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_discovery_charge_matches_the_32_bit_heap(mp_runtime):
    env = toolchain.mp_env()
    out = subprocess.run([toolchain.runtime_binary(mp_runtime), "-X", "heapsize=4M",
                          os.path.join(REPO, "tools", "discovery_heap.py")],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {w[0]: (int(w[2]), int(w[4])) for w in
                (line.split() for line in out.stdout.splitlines()) if len(w) == 5}
    assert sorted(rows) == ["neighbour", "remote_router"], out.stdout
    for heap, charged in rows.values():
        assert heap > 0 and charged > 0
    if mp_runtime != "micropython32":
        pytest.skip("the cost model is for 32-bit heaps (measured here: %r)" % (rows,))
    for what, (heap, charged) in rows.items():
        assert 0.8 * heap <= charged <= 1.5 * heap, (what, heap, charged)
