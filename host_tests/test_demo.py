"""`make demo` (tools/demo.py), shortened: it builds two boards, boots a virtual rp2040 (the
rocket) and a virtual esp32 (the gateway) joined by simulated LoRa, deploys to both with
mpremote; the rocket's telemetry reaches a reference ground station on the gateway's UART and
the ground's COMMAND reaches the rocket; a summary with no CRC failures; no process left."""
import os
import re
import subprocess
import sys

import toolchain


def _processes_mentioning(text):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmd:
            found.append((pid, cmd))
    return found


def test_demo_streams_telemetry_and_cleans_up():
    proc = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "demo.py"),
                           "--seconds", "8", "--every", "10"], capture_output=True, text=True,
                          timeout=200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "ground: GPS_DATA" in out and "ground: IMU_DATA" in out
    m = re.search(r"demo: summary: (\d+) frames received .*?, (\d+) of them from the rocket via "
                  r"the gateway .*?, (\d+) CRC failures.*?(\d+) commands sent, (\d+) reached the "
                  r"rocket", out)
    assert m, out
    frames, rocket, crc, sent, reached = (int(g) for g in m.groups())
    assert frames >= 50 and rocket >= 40 and crc == 0, out
    assert sent >= 1 and reached >= 1, out  # ground -> gateway (UART) -> rocket (LoRa)
    root = re.search(r"filesystem (\S+)/rocket,", out).group(1)
    assert not _processes_mentioning(root), _processes_mentioning(root)
    assert not os.path.exists(root)
