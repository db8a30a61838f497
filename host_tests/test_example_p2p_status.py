"""examples/p2p_status runs as its README says: its main.py on a virtual board
(tools/vboard.py: the Unix-port micropython, UART0 a pty) with the library's .py sources in /lib, and its ground.py (a reference 4.2.7 Router in CPython) on that pty: the ground finds
the board by hostname, gets the "status" reply datagram, then the board pushes a 3000-byte
file over a P2P stream in 128-byte chunks, in order, closed at the end."""
import json
import os
import shutil
import subprocess
import sys
import time

import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import vboard  # noqa: E402

EXAMPLE = os.path.join(toolchain.REPO, "examples", "p2p_status")


def _populate(root):
    # .py sources (the board compiles them at import; compiling ~70 .mpy files here would
    # take most of the test's time)
    for src_dir, pkg in ((toolchain.LIB, "sedsnet"), (toolchain.FIRMWARE, "sedsnet_node")):
        shutil.copytree(os.path.join(src_dir, pkg), os.path.join(root, "lib", pkg),
                        ignore=shutil.ignore_patterns("__pycache__", "*.mpy"))
    with open(os.path.join(EXAMPLE, "main.py")) as f:
        text = f.read()
    with open(os.path.join(root, "main.py"), "w") as f:
        f.write(text)
    data = bytes((i * 13 + 7) & 0xFF for i in range(3000))
    with open(os.path.join(root, "log.txt"), "wb") as f:
        f.write(data)
    return data


def _stop(vb):
    console = serial.Serial(vb.console, timeout=0.3)
    console.write(b"\x03")
    out = b""
    end = time.monotonic() + 5
    while b">>> " not in out and time.monotonic() < end:
        out += console.read(4096)
    console.close()
    return out.decode("utf-8", "replace")


def test_the_example_serves_status_and_pushes_a_file(tmp_path):
    root = tmp_path / "fs"
    root.mkdir()
    data = _populate(str(root))
    # 512k: the board compiles the library's .py sources, which takes far more heap than the
    # .mpy files or frozen modules of a real board (with the discovery modules of issue 13,
    # the default 320k ran out and the board never announced itself)
    with vboard.Running(str(root), board="rp2040", heap="512k") as vb:
        subprocess.run([os.path.join(toolchain.VENV_BIN, "mpremote"), "connect", vb.console,
                        "reset"], check=True, capture_output=True, timeout=30)
        result = tmp_path / "result.json"
        got = tmp_path / "got.bin"
        out = subprocess.run(
            [sys.executable, os.path.join(EXAMPLE, "ground.py"), "--port", vb.uarts["UART0"],
             "--get", "log.txt", "--out", str(got), "--seconds", "30", "--json", str(result)],
            capture_output=True, text=True, timeout=60)
        text = _stop(vb)
    assert out.returncode == 0, out.stdout + out.stderr + text
    r = json.loads(result.read_text())
    assert set(r["status"]) == {"uptime_ms", "heap_free", "loops", "errors"}, r
    assert r["status"]["errors"] == 0 and r["status"]["loops"] > 0
    assert r["replies"][1] == "ok stream 1\n"
    f = r["file"]
    assert f["closed"] and f["in_order"] and f["chunks"] == 24  # 3000 bytes / 128
    assert f["kinds"] == ["Accepted", "Closed", "Data"]
    assert got.read_bytes() == data
    assert "p2p_status: stopped" in text and "errors=0" in text, text
