"""Copy a built board image to a board with mpremote, then reset it (tools/build.py deploy).

    make deploy BOARD=rp2040 PORT=/dev/ttyACM0        # a Pico on USB
    make deploy BOARD=rp2040 PORT=/dev/pts/5          # the virtual board (tools/vboard.py)
    make deploy BOARD=feather_rp2040_rfm PORT=/media/$USER/CIRCUITPY   # CircuitPython drive
    make deploy BOARD=esp32 PORT=/dev/ttyUSB0 CONFIG=boards/esp32/gateway.json   # another role

Two mpremote sessions, so a running node with its watchdog armed cannot reset the board in the
middle of a copy: (1) move main.py aside and hard-reset (the board boots to the REPL, no
watchdog); (2) copy build/<board>/lib, the board's main.py/code.py, config.json and schema.json,
drop the moved main.py, reset. mpremote prints each file as it goes.
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import boards  # noqa: E402

# Files of boards/<board>/ that go to the board's root (whichever exist).
BOARD_FILES = ("boot.py", "main.py", "code.py", "config.json", "schema.json")

_PARK = """import os
for _n in ('main.py', 'code.py'):
    try:
        os.rename(_n, _n + '.off')
    except OSError:
        pass
"""

_UNPARK = """import os
for _n in ('main.py.off', 'code.py.off'):
    try:
        os.remove(_n)
    except OSError:
        pass
"""


def mpremote():
    path = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return path if os.path.exists(path) else (shutil.which("mpremote") or "mpremote")


def plan(board_name, config=None):
    """(local path, path on the board) for everything a deploy copies; lib/ first, main.py last.
    config: a JSON file to install as the board's /config.json instead of its own."""
    build = os.path.join(REPO, "build", board_name)
    lib = os.path.join(build, "lib")
    if not os.path.isdir(lib):
        raise SystemExit("nothing built in %s; run `make mpy BOARD=%s` first" % (lib, board_name))
    items = []
    for root, _dirs, files in sorted(os.walk(lib)):
        for f in sorted(files):
            local = os.path.join(root, f)
            items.append((local, "/" + os.path.relpath(local, build).replace(os.sep, "/")))
    src = os.path.join(REPO, "boards", board_name)
    for name in BOARD_FILES:
        local = config if (config and name == "config.json") else os.path.join(src, name)
        if os.path.exists(local) and name not in ("main.py", "code.py"):
            items.append((local, "/" + name))
    entry = boards.board(board_name)["entry"]
    items.append((os.path.join(src, entry), "/" + entry))
    return items


def _run(cmd, what, timeout):
    print("deploy: %s" % what, flush=True)
    try:
        proc = subprocess.run(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit("deploy: mpremote timed out (%s)" % what)
    if proc.returncode != 0:
        raise SystemExit("deploy: mpremote failed (%s), exit code %d" % (what, proc.returncode))


def _wait_for_port(port, timeout_s=15.0):
    """After a hard reset a USB board re-enumerates; wait until its device node is back."""
    if "://" in port:
        time.sleep(1.0)
        return
    deadline = time.monotonic() + timeout_s
    time.sleep(0.5)
    while time.monotonic() < deadline:
        if os.path.exists(port):
            try:
                fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                os.close(fd)
                time.sleep(0.5)
                return
            except OSError:
                pass
        time.sleep(0.2)
    raise SystemExit("deploy: %s did not come back after the reset" % port)


def deploy_to_drive(board_name, drive, config=None):
    """CircuitPython: copy .py sources onto the mounted CIRCUITPY drive (code.py last, since
    CircuitPython restarts code.py whenever a file changes)."""
    for local, remote in plan(board_name, config):
        target = os.path.join(drive, remote.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(local, target)
        print("cp %s %s" % (os.path.relpath(local, REPO), target), flush=True)


def deploy(board_name, port, timeout_s=300, config=None):
    """Build output -> board. PORT: a serial device, a socket:// URL, or a CIRCUITPY directory;
    config: a JSON file installed as /config.json instead of boards/<board>/config.json."""
    info = boards.board(board_name)
    if not port:
        raise SystemExit("deploy needs PORT=..., e.g. make deploy BOARD=%s PORT=/dev/ttyACM0"
                         % board_name)
    if config and not os.path.isfile(config):
        raise SystemExit("deploy: no config file %s" % config)
    if os.path.isdir(port):
        return deploy_to_drive(board_name, port, config)
    if info["runtime"] == "circuitpython":
        print("deploy: CircuitPython's filesystem is read-only over the REPL while USB-mounted; "
              "if the copy fails, pass the CIRCUITPY drive as PORT instead", flush=True)
    items = plan(board_name, config)
    mp = mpremote()
    _run([mp, "connect", port, "exec", _PARK, "+", "reset"],
         "stopping %s on %s (main.py moved aside, reset)" % (board_name, port), 60)
    _wait_for_port(port)
    cmd = [mp, "connect", port]
    dirs = set()
    for _, r in items:
        d = r.rpartition("/")[0]
        while d:  # every parent: /lib before /lib/sedsnet
            dirs.add(d)
            d = d.rpartition("/")[0]
    dirs = sorted(dirs)
    mk = "import os\nfor _d in %r:\n    try:\n        os.mkdir(_d)\n    except OSError:\n        pass\n" % (
        dirs,)
    cmd += ["exec", mk]
    for local, remote in items:
        cmd += ["+", "fs", "cp", local, ":" + remote]
    cmd += ["+", "exec", _UNPARK, "+", "reset"]
    _run(cmd, "copying %d files to %s, then reset" % (len(items), port), timeout_s)
    print("deploy: %s on %s is running %s" % (board_name, port, info["entry"]), flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: python tools/deploy.py BOARD PORT [CONFIG] (after tools/build.py "
                         "mpy BOARD)")
    deploy(sys.argv[1], sys.argv[2], config=sys.argv[3] if len(sys.argv) > 3 else None)
