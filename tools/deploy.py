"""Copy a built board image to a board with mpremote, then reset it (tools/build.py deploy).

    make deploy BOARD=rp2040 PORT=/dev/ttyACM0        # a Pico on USB
    make deploy BOARD=rp2040 PORT=/dev/pts/5          # the virtual board (tools/vboard.py)
    make deploy BOARD=feather_rp2040_rfm PORT=/media/$USER/CIRCUITPY   # CircuitPython drive
    make deploy BOARD=esp32 PORT=/dev/ttyUSB0 CONFIG=boards/esp32/gateway.json   # another role

The port is checked first and every local file before the board is touched. Then two mpremote
sessions, so a running node with its watchdog armed cannot reset the board in the middle of a
copy: (1) move main.py aside and hard-reset (the board boots to the REPL, no watchdog); (2) copy
build/<board>/lib (what the board's manifest names), the board's main.py/code.py, config.json
and schema.json, remove stale library files (anything in /lib/sedsnet or /lib/sedsnet_node the
build does not have, e.g. a .py from a mip install that would shadow the fresh .mpy, and the
flat modules of releases before sedsnet_node), drop the moved main.py. If that session fails, the
moved main.py is put back. (3) soft-reset over the serial port and return once the board prints
its boot line: the node runs main.py and no reset is pending for the next mpremote.
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

# Put the parked main.py back if the copy did not get that far (a failed deploy keeps a board
# that boots its old node rather than one that boots to an empty REPL).
_RESTORE = """import os
for _n in ('main.py', 'code.py'):
    try:
        os.stat(_n)
        _have = True
    except OSError:
        _have = False
    try:
        if _have:
            os.remove(_n + '.off')
        else:
            os.rename(_n + '.off', _n)
            print('deploy: restored', _n)
    except OSError:
        pass
"""

# Modules of releases before sedsnet_node, once copied flat into /lib.
LEGACY = ("app", "cobs", "hw_circuitpython", "hw_machine", "link", "mainloop", "simsensors",
          "sx127x", "uart_link")
OURS = ("/lib/sedsnet", "/lib/sedsnet_node")

_STALE = """import os
_keep = %r
_gone = []
for _d in %r:
    try:
        _names = os.listdir(_d)
    except OSError:
        continue
    for _n in _names:
        _p = _d + '/' + _n
        if _p not in _keep and (_n.endswith('.py') or _n.endswith('.mpy')):
            os.remove(_p)
            _gone.append(_p)
for _m in %r:
    for _x in ('.py', '.mpy'):
        try:
            os.remove('/lib/' + _m + _x)
            _gone.append('/lib/' + _m + _x)
        except OSError:
            pass
for _p in _gone:
    print('deploy: removed stale', _p)
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


def check_port(port, board_name="BOARD"):
    """Before building or touching anything: a PORT that cannot be a board is named."""
    if not port:
        raise SystemExit("deploy needs PORT=..., e.g. make deploy BOARD=%s PORT=/dev/ttyACM0"
                         % board_name)
    if "://" in port or os.path.isdir(port):
        return
    if not os.path.exists(port):
        raise SystemExit("deploy: there is no port %s (is the board plugged in? "
                         "`.venv/bin/mpremote devs` lists serial ports; a CircuitPython board "
                         "is its CIRCUITPY directory)" % port)


def _run(cmd, what, timeout, on_fail=None):
    print("deploy: %s" % what, flush=True)
    try:
        proc = subprocess.run(cmd, timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    if code != 0:
        if on_fail is not None:
            on_fail()
        raise SystemExit("deploy: mpremote %s (%s)" % (
            "timed out" if code is None else "failed, exit code %d" % code, what))


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


def stale_files(names, keep):
    """Paths (of `names`, the board's files under /lib) a deploy removes: library files the
    build does not have in our package directories, and the old flat modules."""
    gone = []
    for p in names:
        d, _, n = p.rpartition("/")
        if not (n.endswith(".py") or n.endswith(".mpy")):
            continue
        if (d in OURS and p not in keep) or (d == "/lib" and n.rpartition(".")[0] in LEGACY):
            gone.append(p)
    return gone


def deploy_to_drive(board_name, drive, config=None):
    """CircuitPython: copy .py sources onto the mounted CIRCUITPY drive (code.py last, since
    CircuitPython restarts code.py whenever a file changes), removing stale library files."""
    items = plan(board_name, config)
    keep = {r for _l, r in items}
    have = []
    for root, _dirs, files in os.walk(os.path.join(drive, "lib")):
        for f in files:
            have.append("/" + os.path.relpath(os.path.join(root, f), drive).replace(os.sep, "/"))
    for p in stale_files(sorted(have), keep):
        os.remove(os.path.join(drive, p.lstrip("/")))
        print("deploy: removed stale %s" % p, flush=True)
    for local, remote in items:
        target = os.path.join(drive, remote.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(local, target)
        print("cp %s %s" % (os.path.relpath(local, REPO), target), flush=True)


def start(port, board_name, timeout_s=30.0):
    """Soft-reset the board over its console and wait until main.py's boot line (or an error)
    shows: the node is running when this returns. Returns the line."""
    import serial
    if "://" in port:
        con = serial.serial_for_url(port, timeout=0.2)
    else:
        con = serial.Serial(port, 115200, timeout=0.2)
    seen = b""
    try:
        con.write(b"\r\x03\x03\x02")  # stop whatever runs, leave the raw REPL
        time.sleep(0.2)
        con.reset_input_buffer()
        con.write(b"\x04")  # soft reset: boot.py, then main.py
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen += con.read(512)
            text = seen.decode("utf-8", "replace")
            for line in text.splitlines():
                if line.startswith("sedsnet: ") and " up, sides: " in line:
                    return line.strip()
            if "Traceback (most recent call last)" in text and "\n>>> " in text.replace("\r", ""):
                raise SystemExit("deploy: %s failed to start main.py:\n%s" % (board_name, text))
    finally:
        con.close()
    raise SystemExit("deploy: %s did not print its boot line within %ds; the board said:\n%s"
                     % (board_name, timeout_s, seen.decode("utf-8", "replace")[-2000:]))


def deploy(board_name, port, timeout_s=300, config=None):
    """Build output -> board. PORT: a serial device, a socket:// URL, or a CIRCUITPY directory;
    config: a JSON file installed as /config.json instead of boards/<board>/config.json."""
    info = boards.board(board_name)
    check_port(port, board_name)
    if config and not os.path.isfile(config):
        raise SystemExit("deploy: no config file %s" % config)
    if os.path.isdir(port):
        return deploy_to_drive(board_name, port, config)
    if info["runtime"] == "circuitpython":
        print("deploy: CircuitPython's filesystem is read-only over the REPL while USB-mounted; "
              "if the copy fails, pass the CIRCUITPY drive as PORT instead", flush=True)
    items = plan(board_name, config)
    missing = [local for local, _r in items if not os.path.isfile(local)]
    if missing:
        raise SystemExit("deploy: %s is incomplete, nothing was copied: %s"
                         % (board_name, ", ".join(os.path.relpath(m, REPO) for m in missing)))
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
    keep = sorted(r for _l, r in items)
    cmd += ["+", "exec", _STALE % (keep, OURS, LEGACY), "+", "exec", _UNPARK]

    def restore():
        print("deploy: the copy failed; putting the board's previous %s back" % info["entry"],
              flush=True)
        subprocess.run([mp, "connect", port, "exec", _RESTORE, "+", "reset"], timeout=60)

    _run(cmd, "copying %d files to %s" % (len(items), port), timeout_s, on_fail=restore)
    line = start(port, board_name)
    print("deploy: %s on %s is running %s: %s" % (board_name, port, info["entry"], line),
          flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: python tools/deploy.py BOARD PORT [CONFIG] (after tools/build.py "
                         "mpy BOARD)")
    deploy(sys.argv[1], sys.argv[2], config=sys.argv[3] if len(sys.argv) > 3 else None)
