"""`make deploy` end to end without hardware: build the rp2040 image with mpy-cross, deploy it with
the real mpremote to a virtual rp2040 board, let it boot, and receive its UART telemetry in a
ground-station process that is a reference sedsnet 4.2.7 Router node (its announcements tell the
board's router where GROUND_STATION is). Also: `mpremote mip install` of our package.json onto a
virtual board."""
import json
import os
import subprocess
import sys

import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import build  # noqa: E402
import deploy  # noqa: E402
import vboard  # noqa: E402

MPREMOTE = os.path.join(toolchain.VENV_BIN, "mpremote")
GROUND_SECONDS = 4
COMMAND = 236401109  # data_type_identity("COMMAND"), as the reference computes it


def test_build_deploy_boot_and_reference_decode(tmp_path):
    build.build_mpy("rp2040")
    root = tmp_path / "fs"
    root.mkdir()
    summary = tmp_path / "summary.json"
    with vboard.Running(str(root), board="rp2040") as vb:
        proc = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "build.py"),
                               "deploy", "rp2040", vb.console], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "cp " in proc.stdout and ":/lib/sedsnet/packet.mpy" in proc.stdout  # progress
        assert (root / "main.py").exists() and (root / "lib" / "uart_link.mpy").exists()
        assert not (root / "main.py.off").exists()
        console = serial.Serial(vb.console, timeout=0.5)  # the board's log, read afterwards
        ground = subprocess.run(
            [sys.executable, os.path.join(toolchain.REPO, "tools", "ground_station.py"),
             "--port", vb.uarts["UART0"], "--schema",
             os.path.join(toolchain.REPO, "boards", "rp2040", "schema.json"),
             "--seconds", str(GROUND_SECONDS), "--summary-json", str(summary),
             "--command-every", "1", "--router"], capture_output=True, text=True, timeout=60)
        assert ground.returncode == 0, ground.stdout + ground.stderr
        log = console.read(8192).decode("utf-8", "replace")
        console.close()
    # the other direction: reference-packed COMMAND frames reached the board's handler
    assert "sedsnet: FLIGHT_COMPUTER got type %d from " % COMMAND in log, log
    assert ": 01010000" in log and ": 01020000" in log, log
    s = json.loads(summary.read_text())
    assert s["crc_failures"] == 0 and s["decode_errors"] == 0, s
    assert s["by_type"].get("GPS_DATA", 0) >= 5 and s["by_type"].get("IMU_DATA", 0) >= 20, s
    lat, lon, alt = s["latest"]["GPS_DATA"]
    assert abs(lat - 32.99) < 0.01 and abs(lon + 106.975) < 0.01 and 1300 < alt < 1500
    assert abs(s["latest"]["IMU_DATA"][2] - 9.81) < 0.2


def test_deploy_plan_puts_main_last_and_mpy_in_lib():
    build.build_mpy("rp2040")
    items = deploy.plan("rp2040")
    remotes = [r for _, r in items]
    assert remotes[-1] == "/main.py"
    assert "/config.json" in remotes and "/schema.json" in remotes
    assert all(r.endswith(".mpy") for r in remotes if r.startswith("/lib/"))
    assert "/lib/sedsnet/__init__.mpy" in remotes and "/lib/cobs.mpy" in remotes
    gateway = os.path.join(toolchain.REPO, "boards", "esp32", "gateway.json")
    build.build_mpy("esp32")
    configs = [local for local, remote in deploy.plan("esp32", gateway) if remote == "/config.json"]
    assert configs == [gateway]  # CONFIG=: another role for the same board


def test_circuitpython_gets_py_sources_on_a_drive(tmp_path):
    build.build_mpy("feather_rp2040_rfm")
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    deploy.deploy("feather_rp2040_rfm", str(drive))
    assert (drive / "code.py").exists() and not (drive / "main.py").exists()
    assert (drive / "lib" / "sedsnet" / "packet.py").exists()
    assert (drive / "lib" / "sx127x.py").exists()
    assert not list(drive.rglob("*.mpy"))
    assert not (drive / "lib" / "sedsnet" / "_fast.py").exists()  # no viper on CircuitPython


def test_package_json_lists_existing_files_and_every_module():
    with open(os.path.join(toolchain.REPO, "package.json")) as f:
        doc = json.load(f)
    listed = set()
    for target, url in doc["urls"]:
        assert os.path.exists(os.path.join(toolchain.REPO, url)), "package.json lists missing " + url
        listed.add(url)
    expected = {os.path.relpath(src, toolchain.REPO) for src, _ in build.sources()}
    missing = expected - listed
    assert not missing, ("package.json does not list %s; run `python tools/build.py package-json`"
                         % sorted(missing))
    init = open(os.path.join(toolchain.LIB, "sedsnet", "__init__.py")).read()
    assert '__version__ = "%s"' % doc["version"] in init


def test_mip_install_from_package_json_onto_a_virtual_board(tmp_path):
    root = tmp_path / "fs"
    root.mkdir()
    with vboard.Running(str(root), board="rp2040") as vb:
        out = subprocess.run([MPREMOTE, "connect", vb.console, "mip", "install",
                              os.path.join(toolchain.REPO, "package.json"), "+", "exec",
                              "import cobs, uart_link, sedsnet; print('mip ok', cobs.encode(b'a\\x00b'))"],
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "mip ok b'\\x02a\\x02b'" in out.stdout
    assert (root / "lib" / "sedsnet" / "__init__.py").exists()
