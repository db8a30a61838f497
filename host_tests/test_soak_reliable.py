"""The short soak (tools/soak_reliable.py -n 600): reliable packets through 20% loss, 5%
duplication, reordering and 2% corruption, ours at both ends and 4.2.7 at both ends on the same
link seeds. Ours: every packet exactly once, the ordered type in order; both runs report frames
per delivered packet (the README's figures come from the 100k run)."""
import json
import os
import subprocess

import toolchain

TOOL = os.path.join(toolchain.REPO, "tools", "soak_reliable.py")


def test_short_soak_ours_exactly_once_in_order():
    out = subprocess.run([toolchain.reference_python(), TOOL, "-n", "600", "--seed", "3",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    ref, ours = json.loads(out.stdout.strip().splitlines()[-1])
    assert ours["kind"] == "ours" and ref["kind"] == "reference"
    assert (ours["lost"], ours["duplicated"], ours["ordered_in_order"]) == (0, 0, True)
    assert ours["delivered"] == 600
    assert sum(s["lost"] for s in ours["link"]) > 100  # the faults were on
    assert sum(s["corrupted"] for s in ours["link"]) > 0
    assert ref["lost"] == 0 and ref["origin_frames_per_packet"] > 1
    assert 1 < ours["origin_frames_per_packet"] < 3
