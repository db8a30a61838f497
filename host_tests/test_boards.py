"""Every board's main.py (code.py on CircuitPython) boots unmodified under the Unix-port
micropython with the host shims (tools/shims: machine, busio, board, digitalio), inside a virtual
board: it starts its sides, streams telemetry frames out of its serial side, and runs a few
seconds without an error. Boards run concurrently to keep the test short."""
import os
import shutil
import sys
import time

import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import boards  # noqa: E402
import build  # noqa: E402
import deploy  # noqa: E402
import vboard  # noqa: E402

sys.path.insert(0, toolchain.FIRMWARE)
import cobs  # noqa: E402

BOARDS = ["rp2040", "esp32", "pyboard", "feather_rp2040_rfm", "unix"]
BOOT_SECONDS = 4.0


def _serial_side(board_name):
    import json
    with open(os.path.join(toolchain.REPO, "boards", board_name, "config.json")) as f:
        cfg = json.load(f)
    for side in cfg["sides"]:
        if side["type"] == "uart":
            return "UART%d" % side.get("id", 0), cfg["hostname"]
    raise AssertionError("no uart side")


def _populate(root, board_name):
    """The board's filesystem as a deploy leaves it, with .py sources (no build needed)."""
    lib = os.path.join(root, "lib")
    skip = ("__pycache__",)
    if boards.board(board_name)["runtime"] == "circuitpython":
        skip += build.CIRCUITPYTHON_SKIP  # as tools/build.py ships it: no viper kernels
    shutil.copytree(os.path.join(toolchain.LIB, "sedsnet"), os.path.join(lib, "sedsnet"),
                    ignore=shutil.ignore_patterns(*skip))
    for name in os.listdir(toolchain.FIRMWARE):
        if name.endswith(".py"):
            shutil.copy(os.path.join(toolchain.FIRMWARE, name), lib)
    src = os.path.join(toolchain.REPO, "boards", board_name)
    for name in deploy.BOARD_FILES:
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), root)


def test_every_board_has_its_files():
    for name in BOARDS:
        d = os.path.join(toolchain.REPO, "boards", name)
        entry = boards.board(name)["entry"]
        for f in (entry, "config.json", "schema.json", "manifest.py"):
            assert os.path.exists(os.path.join(d, f)), "boards/%s/%s missing" % (name, f)
        text = open(os.path.join(d, entry)).read()
        assert "alloc_emergency_exception_buf(100)" in text


def test_each_board_main_boots_under_the_unix_port(tmp_path):
    running = []
    try:
        for name in BOARDS:
            root = tmp_path / name
            root.mkdir()
            _populate(str(root), name)
            vb = vboard.Running(str(root), board=name)
            uart_name, host = _serial_side(name)
            link = serial.Serial(vb.uarts[uart_name], timeout=0.05)
            running.append((name, host, vb, link, bytearray()))
        deadline = time.monotonic() + BOOT_SECONDS
        while time.monotonic() < deadline:
            for _, _, _, link, buf in running:
                buf.extend(link.read(4096))
        failures = []
        for name, host, vb, link, buf in running:
            link.close()
            console = serial.Serial(vb.console, timeout=0.3)
            console.write(b"\x03")  # stop main.py: its summary and the REPL banner follow
            out = b""
            end = time.monotonic() + 5
            while b">>> " not in out and time.monotonic() < end:
                out += console.read(4096)
            console.close()
            text = out.decode("utf-8", "replace")
            frames = []
            dec = cobs.CobsDecoder(1024)
            dec.feed(buf, len(buf), lambda n: frames.append(bytes(dec.buf[:n])))
            if "sedsnet: stopped" not in text or "errors=0" not in text:
                failures.append("%s: no clean stop summary:\n%s" % (name, text))
            if "error #" in text or "not started" in text:
                failures.append("%s: errors while running:\n%s" % (name, text))
            if len(frames) < 10:
                failures.append("%s: only %d frames on its serial side" % (name, len(frames)))
        assert not failures, "\n\n".join(failures)
    finally:
        for _, _, vb, link, _ in running:
            vb.close()


def _free_udp_ports(n):
    import socket
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_virtual_boards_talk_over_simulated_lora(tmp_path):
    """Two rp2040 nodes whose RFM95s (register-level simulators behind the machine.SPI shim,
    DIO0 IRQ through the Pin shim) share a loopback-UDP "air": each receives the other's frames."""
    pa, pb = _free_udp_ports(2)
    boards_ = []
    try:
        for name, air in (("a", "udp:%d:%d" % (pa, pb)), ("b", "udp:%d:%d" % (pb, pa))):
            root = tmp_path / name
            root.mkdir()
            _populate(str(root), "rp2040")
            boards_.append(vboard.Running(str(root), board="rp2040", air=air))
        time.sleep(BOOT_SECONDS)
        for vb in boards_:
            console = serial.Serial(vb.console, timeout=0.3)
            console.write(b"\x03")
            out = b""
            end = time.monotonic() + 5
            while b">>> " not in out and time.monotonic() < end:
                out += console.read(4096)
            console.close()
            text = out.decode("utf-8", "replace")
            m = [line for line in text.splitlines() if line.startswith("sedsnet: stopped")]
            assert m, text
            import re
            lora = re.search(r"LORA tx=(\d+) rx=(\d+) drop=(\d+)", m[0])
            assert lora and int(lora.group(1)) >= 20 and int(lora.group(2)) >= int(lora.group(1)) // 4, m[0]
            assert "errors=0" in m[0], text
    finally:
        for vb in boards_:
            vb.close()
