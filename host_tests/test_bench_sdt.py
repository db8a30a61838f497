"""tools/bench_sdt.py runs (a few packets) and reports a row per profile x max_frame_bytes with
our and the reference's GPS bytes per packet within a byte of each other; its airtime models
give the textbook figures (so the goodput columns mean what they say)."""
import os
import re
import subprocess
import sys

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import bench_sdt  # noqa: E402


def test_airtime_models():
    # LoRa SF7/125 kHz/CR4/5, 8-symbol preamble, explicit header, CRC: 10 bytes -> 41.2 ms
    # (Semtech calculator); 255 bytes -> 399.6 ms
    assert abs(bench_sdt.lora_airtime_s(10) - 0.041216) < 1e-5
    assert abs(bench_sdt.lora_airtime_s(255) - 0.399616) < 1e-5
    # nRF24 at 250 kbit/s: (8 + 32) bytes + 9 bits = 329 bits = 1.316 ms, plus 130 us settling
    assert abs(bench_sdt.nrf24_airtime_s(32) - 0.001446) < 1e-6


def test_bench_sdt_runs():
    out = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "bench_sdt.py"),
                          "--packets", "12"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = re.findall(r"^(\w+/\d+)\s+([\d.]+) \[\s*\d+\]\s+([\d.]+) \[", out.stdout, re.M)
    assert len(rows) == 13, out.stdout
    for key, ours, ref in rows:
        assert abs(float(ours) - float(ref)) <= 1.0, (key, ours, ref)
    assert "ipv6_like/32" in out.stdout and "LoRa" in out.stdout
