"""`tools/demo.py --radio nrf24`, shortened: the rocket-gateway link over simulated nRF24L01
radios (tools/shims/nrf24_sim.py, 32-byte payloads, the side profile's chunks) instead of LoRa;
the rocket's telemetry reaches the reference ground station and its COMMAND the rocket."""
import os
import re
import subprocess
import sys

import toolchain


def test_demo_over_nrf24():
    proc = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "demo.py"),
                           "--seconds", "6", "--every", "10", "--radio", "nrf24"],
                          capture_output=True, text=True, timeout=200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "sides: UART0, NRF24" in out and "sides: UART1, NRF24" in out, out
    m = re.search(r"demo: summary: (\d+) frames received .*?, (\d+) of them from the rocket via "
                  r"the gateway .*?, (\d+) CRC failures.*?(\d+) commands sent, (\d+) reached the "
                  r"rocket", out)
    assert m, out
    frames, rocket, crc, sent, reached = (int(g) for g in m.groups())
    assert frames >= 50 and rocket >= 40 and crc == 0, out
    assert sent >= 1 and reached >= 1, out
