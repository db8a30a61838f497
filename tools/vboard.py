"""A virtual MicroPython board on this machine, driven like a real one by mpremote.

    python tools/vboard.py --root DIR [--board rp2040] [--info FILE] [--heap 320k] [--romfs FILE]

The board's console is a pty speaking MicroPython's friendly and raw REPL (raw-paste included);
its filesystem is DIR (mounted as "/" inside the Unix-port `micropython` child, so `mpremote fs cp
x :/lib/x` lands in DIR/lib/x). Soft reset (Ctrl-D) restarts the child and runs boot.py, plus
main.py/code.py from the friendly REPL; machine.reset() does the same. Each UART of the board
(UART0, UART1) is a second pty other processes open with pyserial; an SX127x on SPI is simulated
(tools/shims) and talks over loopback UDP when --air is given. The pty paths go to --info as JSON
and to stdout. Stop it with SIGTERM/SIGINT: every child process goes with it.
"""
import argparse
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import tty

# A virtual board's RAM. The Unix port is 64-bit: the firmware's code and objects take 1.3-1.7x
# the heap they take on a 32-bit RP2040/ESP32 (the rp2040 firmware from .mpy: 158 KB of code and
# 90 KB of live data here, 124 KB and 53 KB on the 32-bit build; test_firmware_memory.py), so
# 320 KB here stands for the ~200 KB an RP2040 build leaves free.
DEFAULT_HEAP = "320k"

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHIMS = os.path.join(HERE, "shims")
AGENT = os.path.join(SHIMS, "_vboard_agent.py")

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 256
RESET_EXIT, SOFT_RESET_EXIT = 113, 114
ROMFS_BYTES = 256 * 1024  # the ROM partition --romfs FILE starts as, when FILE does not exist


def _bytes_of(size):
    """'256k' / '2M' / '1000' -> bytes."""
    size = size.strip().lower()
    mult = {"k": 1024, "m": 1024 * 1024}.get(size[-1:], 1)
    return int(size[:-1] if mult > 1 else size) * mult


def micropython_binary():
    path = os.path.join(REPO, ".venv", "bin", "micropython")
    return os.environ.get("MICROPYTHON") or (path if os.path.exists(path) else "micropython")


def _write_nb(fd, data, patience_s):
    """Write to a non-blocking pty master; if nobody drains the other side for patience_s,
    drop the rest (a board's UART or USB console does not wait for a listener either)."""
    view = memoryview(data)
    deadline = None
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            now = time.monotonic()
            if deadline is None:
                deadline = now + patience_s
            elif now > deadline:
                return False
            time.sleep(0.002)
            continue
        except OSError:
            return False
        view = view[n:]
        deadline = None
    return True


def free_udp_ports(n):
    """n loopback UDP ports free right now (for --air udp:LISTEN:PEER pairs)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _open_pty():
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave, os.ttyname(slave)


class UartBridge:
    """UART<n>: a pty for host processes <-> a loopback TCP line for the board's machine.UART.

    Bytes the host writes while no board process is connected are dropped, as on a real line.
    """

    def __init__(self, index):
        self.name = "UART%d" % index
        self.master, self._slave, self.path = _open_pty()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.to_host = 0
        self.from_host = 0
        self.dropped = 0
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True, name=self.name)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            fds = [self.listener, self.master] + ([self.conn] if self.conn else [])
            try:
                ready, _, _ = select.select(fds, [], [], 0.2)
            except (OSError, ValueError):
                return
            for r in ready:
                if r is self.listener:
                    conn, _ = self.listener.accept()
                    if self.conn:
                        self.conn.close()
                    self.conn = conn
                elif r is self.master:
                    try:
                        data = os.read(self.master, 4096)
                    except (BlockingIOError, OSError):
                        data = b""
                    self.from_host += len(data)
                    if data and self.conn:
                        try:
                            self.conn.sendall(data)
                        except OSError:
                            self.conn = None
                else:
                    try:
                        data = self.conn.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self.conn.close()
                        self.conn = None
                        continue
                    self.to_host += len(data)
                    self._write_master(data)

    def _write_master(self, data):
        if not _write_nb(self.master, data, 0.05):
            self.dropped += 1

    def close(self):
        self._stop = True
        for s in (self.conn, self.listener):
            try:
                s and s.close()
            except OSError:
                pass


class VirtualBoard:
    def __init__(self, root, board="rp2040", heap=DEFAULT_HEAP, uarts=2, air=None, uid=None, log=None,
                 romfs=None):
        self.root = os.path.abspath(root)
        self.romfs = os.path.abspath(romfs) if romfs else None
        if self.romfs and not os.path.exists(self.romfs):
            with open(self.romfs, "wb") as f:  # an empty (erased) ROM partition
                f.write(b"\xff" * ROMFS_BYTES)
        os.makedirs(self.root, exist_ok=True)
        self.board = board
        self.heap = heap
        self.air = air
        self.uid = uid or board
        self.log = log
        self.master, self._slave, self.console_path = _open_pty()
        self.uarts = [UartBridge(i) for i in range(uarts)]
        self.child = None
        self.busy = False        # the child is running boot/main or a command
        self.repl = "friendly"   # which REPL the board returns to: "friendly" or "raw"
        self.pending = bytearray()  # console input typed while busy (handled when idle)
        self.after = None        # what to print when the child goes idle
        self._eot = 0            # EOT markers seen in the current child output phase
        self._phases = 0         # child output phases still expected before idle
        self._raw_code = bytearray()
        self._line = bytearray()
        self._block = []
        self._paste = None       # raw-paste: bytes received in the current window, or None
        self._esc = False
        self._stop = False
        self.resets = 0
        self._started = 0.0
        self._crashes = 0

    # -- child process -----------------------------------------------------------------------
    def _env(self):
        env = dict(os.environ)
        env["MICROPYPATH"] = SHIMS
        env["VBOARD_UID"] = self.uid
        env["VBOARD_BOARD"] = self.board
        for u in self.uarts:
            env["VBOARD_" + u.name] = "tcp:127.0.0.1:%d" % u.port
        if self.air:
            env["VBOARD_AIR"] = self.air
        if self.romfs:
            env["VBOARD_ROMFS"] = self.romfs
        return env

    def start_child(self, mode):
        self.kill_child()
        self.resets += 1
        self._started = time.monotonic()
        heap = self.heap
        if self.romfs:  # the partition's bytes sit in the child's heap, not in the board's RAM
            heap = str(_bytes_of(heap) + os.path.getsize(self.romfs) + 4096)
        cmd = [micropython_binary(), "-X", "heapsize=" + heap, AGENT, self.root, mode]
        self.child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, cwd=self.root, env=self._env(),
                                      bufsize=0)
        self.busy = True
        self._eot = 0
        self._phases = 2  # boot.py, then main.py (or an empty phase in raw mode)
        self.repl = mode

    def kill_child(self):
        c = self.child
        self.child = None
        if c is None:
            return
        if c.poll() is None:
            c.kill()
        c.wait()
        for f in (c.stdin, c.stdout):
            try:
                f.close()
            except OSError:
                pass

    def _send(self, kind, code):
        if self.child is None:  # stopped after a crash loop: only a soft reset (Ctrl-D) helps
            self.out(b"\x04[vboard: no micropython running; press Ctrl-D]\x04>" if self.repl == "raw"
                     else b"[vboard: no micropython running; press Ctrl-D]\r\n>>> ")
            return
        body = code.encode() if isinstance(code, str) else bytes(code)
        try:
            self.child.stdin.write(struct.pack("<I", len(body)) + kind + body)
            self.child.stdin.flush()
        except (OSError, ValueError):
            return
        self.busy = True
        self._eot = 0
        self._phases = 1

    # -- console output ------------------------------------------------------------------------
    def out(self, data):
        if isinstance(data, str):
            data = data.encode()
        _write_nb(self.master, data, 2.0)

    def banner(self):
        return ("MicroPython v1.29 (virtual %s, Unix port) on vboard; %s with sedsnet\r\n"
                "Type \"help()\" for more information.\r\n" % (self.board, self.board))

    def _child_output(self, data):
        """Forward child output, cooking newlines; EOT pairs end phases."""
        out = bytearray()
        for b in data:
            if b == 4:
                self._eot += 1
                if self.repl == "raw" and self.after == "raw-exec":
                    out.append(4)
                if self._eot == 2:
                    self._eot = 0
                    self._phases -= 1
                    if self._phases == 0:
                        if out:
                            self.out(bytes(out))
                            out = bytearray()
                        self._went_idle()
                continue
            if b == 10:
                out.extend(b"\r\n")
            else:
                out.append(b)
        if out:
            self.out(bytes(out))

    def _went_idle(self):
        self.busy = False
        after, self.after = self.after, None
        if after == "raw-exec":
            self.out(b">")
        elif self.repl == "raw":
            self.out(RAW_BANNER + b">")
        else:
            if after in ("boot", None):
                self.out(self.banner())
            self.out(b">>> ")
        if self.pending:
            data = bytes(self.pending)
            self.pending = bytearray()
            self.console_input(data)

    def _child_exited(self):
        code = self.child.wait() if self.child else 0
        self.child = None
        self.busy = False
        if code == RESET_EXIT:
            self.pending = bytearray()
            self.after = "boot"
            self.start_child("friendly")
        elif code == SOFT_RESET_EXIT:
            self.out(b"MPY: soft reboot\r\n")
            self.after = "boot"
            self.start_child("friendly")
        elif not self._stop:
            quick = time.monotonic() - self._started < 2.0
            self._crashes = self._crashes + 1 if quick else 1
            if self._crashes > 3:  # crashing at boot every time: stop, as a bricked board would
                self.out(("\r\n[vboard: micropython keeps exiting (code %s); not restarting. "
                          "Fix the board's files and restart tools/vboard.py]\r\n" % code).encode())
                return
            self.out(("\r\n[vboard: micropython exited with code %s; resetting]\r\n" % code).encode())
            self.after = "boot"
            self.start_child("friendly")

    # -- console input -------------------------------------------------------------------------
    def console_input(self, data):
        for i, b in enumerate(data):
            if self.busy:
                if b == 3:
                    self.pending = bytearray()
                    if self.child and self.child.poll() is None:
                        self.child.send_signal(signal.SIGINT)
                else:
                    self.pending.append(b)
                continue
            if self.repl == "raw":
                self._raw_byte(b)
            else:
                self._friendly_byte(b)

    def _soft_reset(self, mode):
        self.out(b"soft reboot\r\n" if mode == "raw" else b"MPY: soft reboot\r\n")
        self.after = "boot"
        self.start_child(mode)

    def _raw_byte(self, b):
        if self._paste is not None:
            if b == 4:
                code, self._paste = bytes(self._raw_code), None
                self._raw_code = bytearray()
                self.out(b"\x04")
                self.after = "raw-exec"
                self._send(b"E", code)
                return
            self._raw_code.append(b)
            self._paste += 1
            if self._paste >= PASTE_WINDOW:
                self._paste = 0
                self.out(b"\x01")
            return
        code = self._raw_code
        if b == 1 and code == b"\x05A":  # raw-paste request
            code[:] = b""
            self._paste = 0
            self.out(b"R\x01" + struct.pack("<H", PASTE_WINDOW))
        elif b == 1:
            code[:] = b""
            self.out(b"\r\n" + RAW_BANNER + b">")
        elif b == 2:
            code[:] = b""
            self.repl = "friendly"
            self.out(b"\r\n" + self.banner().encode() + b">>> ")
        elif b == 3:
            code[:] = b""
        elif b == 4:
            if not code:
                self._soft_reset("raw")
                return
            text = bytes(code)
            code[:] = b""
            self.out(b"OK")
            self.after = "raw-exec"
            self._send(b"E", text)
        else:
            code.append(b)

    def _friendly_byte(self, b):
        if self._esc:  # swallow VT100 sequences (arrow keys)
            if 0x40 <= b <= 0x7E and b != 0x5B:
                self._esc = False
            return
        line = self._line
        if b == 0x1B:
            self._esc = True
        elif b == 1:
            line[:] = b""
            self._block = []
            self.repl = "raw"
            self._raw_code = bytearray()
            self.out(b"\r\n" + RAW_BANNER + b">")
        elif b == 2:
            line[:] = b""
            self.out(b"\r\n" + self.banner().encode() + b">>> ")
        elif b == 3:
            line[:] = b""
            self._block = []
            self.out(b"\r\n>>> ")
        elif b == 4:
            if not line and not self._block:
                self._soft_reset("friendly")
        elif b in (8, 0x7F):
            if line:
                line.pop()
                self.out(b"\x08 \x08")
        elif b == 13 or b == 10:
            self.out(b"\r\n")
            text = line.decode("utf-8", "replace")
            line[:] = b""
            if self._block:
                if text.strip():
                    self._block.append(text)
                    self.out(b"... ")
                    return
                text = "\n".join(self._block) + "\n"
                self._block = []
            elif text.rstrip().endswith(":"):
                self._block = [text]
                self.out(b"... ")
                return
            if not text.strip():
                self.out(b">>> ")
                return
            self.after = "friendly-exec"
            self._send(b"S", text)
        elif b >= 32 or b == 9:
            line.append(b)
            self.out(bytes([b]))

    # -- main loop -----------------------------------------------------------------------------
    def info(self):
        return {"console": self.console_path, "root": self.root, "board": self.board,
                "uarts": {u.name: u.path for u in self.uarts}, "pid": os.getpid()}

    def serve(self):
        self.after = "boot"
        self.start_child("friendly")
        while not self._stop:
            fds = [self.master]
            if self.child:
                fds.append(self.child.stdout)
            try:
                ready, _, _ = select.select(fds, [], [], 0.2)
            except InterruptedError:
                continue
            except (OSError, ValueError):
                if self._stop:
                    break
                raise
            for r in ready:
                if r is self.master:
                    try:
                        data = os.read(self.master, 4096)
                    except (BlockingIOError, OSError):
                        data = b""
                    if data:
                        self.console_input(data)
                elif self.child is not None:
                    data = self.child.stdout.read1(65536) if hasattr(self.child.stdout, "read1") \
                        else os.read(self.child.stdout.fileno(), 65536)
                    if data:
                        self._child_output(data)
                    else:
                        self._child_exited()
        self.close()

    def stop(self, *_):
        self._stop = True

    def close(self):
        self._stop = True
        self.kill_child()
        for u in self.uarts:
            u.close()


class Running:
    """Start tools/vboard.py as a child process (for tests and the demo); a context manager.

    info: {"console": pty, "uarts": {"UART0": pty, ...}, "root": dir}. close() ends it and
    every process it started.
    """

    def __init__(self, root, board="rp2040", heap=DEFAULT_HEAP, air=None, timeout_s=15.0, log=None,
                 romfs=None):
        import tempfile
        self._tmp = tempfile.mkdtemp(prefix="vboard-")
        info_path = os.path.join(self._tmp, "info.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--root", root, "--board", board,
               "--heap", heap, "--info", info_path]
        if air:
            cmd += ["--air", air]
        if romfs:
            cmd += ["--romfs", romfs]
        self.log = log or open(os.path.join(self._tmp, "vboard.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(info_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("virtual board did not start")
            time.sleep(0.05)
        with open(info_path) as f:
            self.info = json.load(f)
        self.console = self.info["console"]
        self.uarts = self.info["uarts"]

    def close(self):
        p = self.proc
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        try:  # the micropython child shares the session: make sure it is gone too
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        import shutil
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="the board's filesystem directory")
    ap.add_argument("--board", default="rp2040")
    ap.add_argument("--heap", default=DEFAULT_HEAP, help="micropython -X heapsize (board RAM)")
    ap.add_argument("--uarts", type=int, default=2)
    ap.add_argument("--air", help="udp:LISTEN:PEER[,PEER] for the simulated LoRa radio")
    ap.add_argument("--info", help="write the pty paths here as JSON once ready")
    ap.add_argument("--romfs", help="a file standing for the board's ROM partition (ROMFS: "
                    "mounted at /rom at boot, written by `mpremote romfs deploy`)")
    args = ap.parse_args(argv)
    vb = VirtualBoard(args.root, args.board, args.heap, args.uarts, args.air, romfs=args.romfs)
    signal.signal(signal.SIGTERM, vb.stop)
    signal.signal(signal.SIGINT, vb.stop)
    info = vb.info()
    if args.info:
        tmp = args.info + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, args.info)
    print("vboard: %s console %s, %s" % (args.board, info["console"], ", ".join(
        "%s %s" % kv for kv in sorted(info["uarts"].items()))), flush=True)
    try:
        vb.serve()
    finally:
        vb.close()


if __name__ == "__main__":
    sys.exit(main())
