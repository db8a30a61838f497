"""`make demo` (tools/demo.py), shortened: it builds, boots a virtual rp2040, deploys with
mpremote, receives telemetry in a reference ground station, prints a summary with no CRC
failures, and leaves no process behind."""
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
                           "--seconds", "3", "--every", "10"], capture_output=True, text=True,
                          timeout=150)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "ground: GPS_DATA" in out and "ground: IMU_DATA" in out
    m = re.search(r"demo: summary: (\d+) frames received .*?, (\d+) CRC failures", out)
    assert m, out
    assert int(m.group(1)) >= 30 and int(m.group(2)) == 0, out
    root = re.search(r"filesystem (\S+),", out).group(1)
    assert not _processes_mentioning(root), _processes_mentioning(root)
    assert not os.path.exists(root)
