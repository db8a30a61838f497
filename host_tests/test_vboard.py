"""The virtual board (tools/vboard.py) driven by the real mpremote: fs ls/mkdir/cp (both ways),
exec, soft reset running boot.py, machine.reset running main.py whose UART0 output reaches a
host process through the board's UART pty, and `mpremote repl` on a pty."""
import os
import pty
import select
import subprocess
import sys
import time

import pytest
import serial

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import vboard  # noqa: E402

MPREMOTE = os.path.join(toolchain.VENV_BIN, "mpremote")


def mpr(port, *args, timeout=30):
    out = subprocess.run([MPREMOTE, "connect", port] + list(args), capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, "mpremote %s failed:\n%s\n%s" % (args, out.stdout, out.stderr)
    return out.stdout


@pytest.fixture
def board(tmp_path):
    root = tmp_path / "fs"
    root.mkdir()
    (root / "boot.py").write_text("print('boot ran')\n")
    with vboard.Running(str(root)) as vb:
        vb.root = root
        yield vb


def test_fs_commands_exec_and_files_land_in_the_board_dir(board, tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("def hi():\n    return 'hi from lib'\n")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(20000))
    out = mpr(board.console, "fs", "mkdir", ":/lib", "+", "fs", "cp", str(src), ":/lib/hello.py",
              "+", "fs", "cp", str(blob), ":/blob.bin", "+", "fs", "ls", "/", "+", "fs", "ls",
              "/lib", "+", "exec", "import hello; print(hello.hi())")
    assert "hi from lib" in out and "hello.py" in out and "blob.bin" in out
    assert (board.root / "lib" / "hello.py").read_text() == src.read_text()
    assert (board.root / "blob.bin").read_bytes() == blob.read_bytes()
    back = tmp_path / "back.bin"
    mpr(board.console, "fs", "cp", ":/blob.bin", str(back))
    assert back.read_bytes() == blob.read_bytes()
    out = mpr(board.console, "exec", "import os; print(sorted(os.listdir('/')))")
    assert "['blob.bin', 'boot.py', 'lib']" in out  # the host's / is not visible


def test_errors_come_back_as_tracebacks(board):
    out = subprocess.run([MPREMOTE, "connect", board.console, "exec", "1/0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "ZeroDivisionError" in out.stdout + out.stderr


def test_reset_runs_main_and_uart_reaches_the_host(board):
    (board.root / "main.py").write_text(
        "import machine, time\n"
        "u = machine.UART(0, 115200)\n"
        "while True:\n"
        "    u.write(b'tick\\n')\n"
        "    time.sleep_ms(20)\n")
    uart = serial.Serial(board.uarts["UART0"], timeout=0.2)
    mpr(board.console, "reset")
    data = b""
    deadline = time.monotonic() + 10
    while b"tick\ntick\n" not in data and time.monotonic() < deadline:
        data += uart.read(64)
    uart.close()
    assert b"tick\ntick\n" in data
    # mpremote interrupts the running main.py (Ctrl-C) and gets the raw REPL
    out = mpr(board.console, "exec", "print('interrupted ok')")
    assert "interrupted ok" in out


def test_soft_reset_runs_boot_py(board):
    console = serial.Serial(board.console, timeout=0.2)
    console.write(b"\x03\x02")
    time.sleep(0.3)
    console.read(4096)
    console.write(b"\x04")  # friendly-REPL soft reset
    data = b""
    deadline = time.monotonic() + 10
    while b">>> " not in data and time.monotonic() < deadline:
        data += console.read(256)
    console.close()
    assert b"soft reboot" in data and b"boot ran" in data


def test_mpremote_repl_on_a_pty(board):
    master, slave = pty.openpty()
    proc = subprocess.Popen([MPREMOTE, "connect", board.console, "repl"], stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 15
        sent = False
        while time.monotonic() < deadline and b"42" not in seen.split(b"print(6*7)")[-1]:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
            if not sent and b"Connected to MicroPython" in seen:
                time.sleep(0.3)
                os.write(master, b"\r")
                time.sleep(0.3)
                os.write(master, b"print(6*7)\r")
                sent = True
        os.write(master, b"\x1d")  # Ctrl-] leaves mpremote's repl
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"42" in seen.split(b"print(6*7)")[-1], seen
