"""The short end-to-end soak (tools/soak_e2e.py -n 40): our origin and 4.2.7's, each through a
4.2.7 Relay to a 4.2.7 holder (every node its own process, one fake clock), on the same seeded
lossy links. Ours: every packet exactly once, the ordered type in order, nothing left pending;
both report frames per delivered packet and goodput (the README's figures come from the
2000-packet runs; no golden number here)."""
import json
import subprocess

import toolchain

TOOL = toolchain.REPO + "/tools/soak_e2e.py"


def test_short_e2e_soak_ours_exactly_once_in_order_with_figures():
    out = subprocess.run([toolchain.reference_python(), TOOL, "-n", "40", "--seeds", "4",
                          "--delays", "5", "--json"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    runs = {r["origin"]: r for r in res["runs"]}
    assert sorted(runs) == ["4.2.7", "ours"]
    ours, ref = runs["ours"], runs["4.2.7"]
    assert (ours["delivered"], ours["lost"], ours["duplicated"],
            ours["ordered_out_of_order"]) == (40, 0, 0, 0), ours
    assert ours["origin_pending_after"] == 0 and ours["error_count"] == 0, ours
    assert ours["origin_uncontracted_frames"] == 0  # discovery named the holder throughout
    for r in (ours, ref):
        assert r["link_lost"] > 10 and r["delivered"] > 0  # the faults were on
        # every delivered packet went out at least once and was ACKed at least once; more
        # than 10 sends per packet would be a resend storm
        assert 1 <= r["data_frames_per_packet"] < 10, r
        assert 1 <= r["ack_frames_per_packet"] < 10, r
        assert r["link_data_frames_per_packet"] >= 2 * 0.99  # two hops
        assert r["goodput_pps"] > 0 and r["sim_ms"] > 0
    assert ref["origin_data_frames"] >= ref["delivered"]
    tot = res["totals"]
    assert set(tot) == {"ours@5ms", "4.2.7@5ms"}
    assert tot["ours@5ms"]["data_frames_per_packet"] == ours["data_frames_per_packet"]
