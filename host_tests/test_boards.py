"""Every board's main.py (code.py on CircuitPython) boots unmodified under the Unix-port
micropython with the host shims (tools/shims: machine, busio, board, digitalio), inside a virtual
board: it starts its sides, streams telemetry out of its serial side to a reference ground station
(tools/ground_station.py --router: a sedsnet 4.2.7 Router, whose announcements tell the board's
router where GROUND_STATION is), and runs a few seconds without an error. Boards run concurrently
to keep the test short."""
import json
import os
import shutil
import subprocess
import sys
import time

import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import boards  # noqa: E402
import build  # noqa: E402
import deploy  # noqa: E402
import vboard  # noqa: E402

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


# CircuitPython compiles the .py sources on the board; with the router and its discovery that
# takes ~384 KB of heap on this 64-bit host (MicroPython boards load .mpy files and boot in the
# virtual board's default, vboard.DEFAULT_HEAP).
HEAPS = {"feather_rp2040_rfm": "512k"}


def _populate(root, board_name):
    """The board's filesystem as `make deploy` leaves it: tools/build.py's image (.mpy files for
    a MicroPython board, .py sources for CircuitPython) in /lib, the board's own files at /."""
    image = build.build_mpy(board_name, root + "-image")  # not the shared build/<board>
    shutil.copytree(os.path.join(image, "lib"), os.path.join(root, "lib"))
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


def _ground(port, schema, seconds, summary):
    """A reference ground station (a 4.2.7 Router node) on a board's serial side."""
    return subprocess.Popen(
        [sys.executable, os.path.join(toolchain.REPO, "tools", "ground_station.py"), "--port",
         port, "--schema", schema, "--seconds", str(seconds), "--router", "--every", "1000",
         "--summary-json", summary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(vb):
    """Ctrl-C the board's main.py; returns the console text up to the REPL prompt."""
    console = serial.Serial(vb.console, timeout=0.3)
    console.write(b"\x03")  # stop main.py: its summary and the REPL banner follow
    out = b""
    end = time.monotonic() + 5
    while b">>> " not in out and time.monotonic() < end:
        out += console.read(4096)
    console.close()
    return out.decode("utf-8", "replace")


def test_each_board_main_boots_under_the_unix_port(tmp_path):
    running = []
    try:
        for name in BOARDS:
            root = tmp_path / name
            root.mkdir()
            _populate(str(root), name)
            vb = vboard.Running(str(root), board=name, heap=HEAPS.get(name, vboard.DEFAULT_HEAP))
            uart_name, _host = _serial_side(name)
            summary = tmp_path / (name + "-ground.json")
            ground = _ground(vb.uarts[uart_name], str(root / "schema.json"), BOOT_SECONDS,
                             str(summary))
            running.append((name, vb, ground, summary))
        failures = []
        for name, vb, ground, summary in running:
            out = ground.communicate(timeout=BOOT_SECONDS + 30)[0].decode("utf-8", "replace")
            text = _stop(vb)
            if "sedsnet: stopped" not in text or "errors=0" not in text:
                failures.append("%s: no clean stop summary:\n%s" % (name, text))
            if "error #" in text or "not started" in text:
                failures.append("%s: errors while running:\n%s" % (name, text))
            if not summary.exists():
                failures.append("%s: the ground station failed:\n%s" % (name, out))
                continue
            s = json.loads(summary.read_text())
            if s["crc_failures"] or s["decode_errors"]:
                failures.append("%s: bad frames at the ground: %s\n%s" % (name, s, out))
            if s["delivered"] < 10:
                failures.append("%s: only %d telemetry packets reached the ground station\n%s"
                                % (name, s["delivered"], text))
        assert not failures, "\n\n".join(failures)
    finally:
        for _, vb, ground, _ in running:
            if ground.poll() is None:
                ground.kill()
                ground.wait()
            vb.close()


def test_two_virtual_boards_talk_over_simulated_lora(tmp_path):
    """Two rp2040 nodes whose RFM95s (register-level simulators behind the machine.SPI shim,
    DIO0 IRQ through the Pin shim) share a loopback-UDP "air". Board "b" is set up as a ground
    node (it holds GROUND_STATION, no sensors): it announces that over LoRa, so board "a"
    routes its telemetry there, and b's handler gets it. (A 4.2.7 router sends data only where
    an endpoint is announced, and keeps an endpoint it holds itself, so the traffic is one way;
    b sends its announcements.)"""
    pa, pb = vboard.free_udp_ports(2)
    boards_ = []
    try:
        for name, air in (("a", "udp:%d:%d" % (pa, pb)), ("b", "udp:%d:%d" % (pb, pa))):
            root = tmp_path / name
            root.mkdir()
            _populate(str(root), "rp2040")
            if name == "b":
                cfg = json.loads((root / "config.json").read_text())
                cfg.update(hostname="ground", handlers=["GROUND_STATION"], sensors=[])
                (root / "config.json").write_text(json.dumps(cfg))
            boards_.append(vboard.Running(str(root), board="rp2040", air=air))
        console = serial.Serial(boards_[1].console, timeout=0.2)  # b's handler log
        log = b""
        end = time.monotonic() + BOOT_SECONDS
        while time.monotonic() < end:
            log += console.read(4096)
        console.close()
        import re
        lora = []
        texts = []
        for vb in boards_:
            text = _stop(vb)
            m = [line for line in text.splitlines() if line.startswith("sedsnet: stopped")]
            assert m, text
            assert "errors=0" in m[0], text
            tx_rx = re.search(r"LORA tx=(\d+) rx=(\d+) drop=(\d+)", m[0])
            assert tx_rx, m[0]
            lora.append((int(tx_rx.group(1)), int(tx_rx.group(2))))
            texts.append(text)
        (a_tx, a_rx), (b_tx, b_rx) = lora
        assert a_tx >= 20 and b_rx >= a_tx // 2, lora  # a's telemetry reached b
        assert b_tx >= 2 and a_rx >= 2, lora  # b's announcements reached a
        log = log.decode("utf-8", "replace")
        assert "sedsnet: GROUND_STATION got type" in log, log
    finally:
        for vb in boards_:
            vb.close()
