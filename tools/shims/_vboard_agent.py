# Runs inside the virtual board's MicroPython (Unix port) child, started by tools/vboard.py:
# mounts the board's directory as "/", runs boot.py (and main.py/code.py after a hard or friendly
# soft reset) like a real board, then executes code blocks the board process sends on stdin.
# Every block's output ends with b"\x04" + error text + b"\x04", the raw REPL's own framing.
#     micropython _vboard_agent.py ROOT MODE     (MODE: "friendly" runs main.py, "raw" does not)
import sys

import gc
import io
import os

# Everything host-side is imported before "/" becomes the board's filesystem.
import machine  # noqa: F401  (the shim: sys.modules now answers `import machine` with it)
import micropython  # noqa: F401
import select  # noqa: F401
import socket  # noqa: F401
import struct  # noqa: F401
import nrf24_sim  # noqa: F401
import sx127x_sim  # noqa: F401
import vlink  # noqa: F401

try:
    import board  # noqa: F401
    import busio  # noqa: F401
    import digitalio  # noqa: F401
except ImportError:
    pass

class _Micropython:
    """The Unix port's micropython module plus what board ports have and it lacks."""


def _patch_micropython():
    m = _Micropython()
    for k in dir(micropython):
        if not k.startswith("__"):
            setattr(m, k, getattr(micropython, k))
    if not hasattr(micropython, "alloc_emergency_exception_buf"):
        m.alloc_emergency_exception_buf = lambda size: None
    sys.modules["micropython"] = m


_patch_micropython()


class _Os:
    """The Unix port's os, with ilistdir() giving sizes as littlefs/FAT boards do (VfsPosix
    leaves them out, and `mpremote fs ls` would show 0 for every file)."""


def _patch_os():
    m = _Os()
    for k in dir(os):
        if not k.startswith("__"):
            setattr(m, k, getattr(os, k))
    real_ilistdir = os.ilistdir
    stat = os.stat

    def ilistdir(path="."):
        for entry in real_ilistdir(path):
            size = 0
            if entry[1] == 0x8000:
                try:
                    size = stat((path.rstrip("/") + "/" if path not in ("", ".") else "") +
                                entry[0])[6]
                except OSError:
                    pass
            yield (entry[0], entry[1], entry[2], size)

    m.ilistdir = ilistdir
    sys.modules["os"] = m


_EOT = b"\x04"
_out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
_in = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin


def _mount(root):
    os.umount("/")
    os.mount(os.VfsPosix(root), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]


_ROM_MAGIC = b"\xd2\xcd\x31"


class _Vfs:
    """The Unix port's vfs plus rom_ioctl over a ROM partition (VBOARD_ROMFS: a file the board
    process keeps; its bytes live in this heap, the board process adds their size to -X
    heapsize), so `mpremote romfs deploy/query` work as on a board with ROMFS."""


def _setup_rom(path):
    """Before "/" becomes the board's filesystem (the file is the board process's, outside it):
    the partition's bytes and a handle kept open to write them back; returns mount()."""
    import vfs

    store = open(path, "r+b")
    part = bytearray(os.stat(path)[6])  # read in place: the heap has room for one copy
    store.readinto(part)
    m = _Vfs()
    for k in dir(vfs):
        if not k.startswith("__"):
            setattr(m, k, getattr(vfs, k))

    def rom_ioctl(op, *args):
        if op == 1:  # number of ROM partitions
            return 1
        if args and args[0] != 0:
            return -19  # ENODEV
        if op == 2:  # the partition: a buffer
            return memoryview(part)
        if op == 3:  # prepare (erase) offset, length: the minimum write size
            off, n = (args[1], args[2]) if len(args) > 2 else (0, args[1])
            for i in range(off, min(off + n, len(part))):
                part[i] = 0xFF
            return 4
        if op == 4:  # write at offset
            off, buf = args[1], args[2]
            part[off:off + len(buf)] = buf
            return 0
        if op == 5:  # complete: the partition survives a reset (the file)
            store.seek(0)
            store.write(part)
            store.flush()
            return 0
        if op == 6:  # block size
            return 4096
        return -22  # EINVAL

    m.rom_ioctl = rom_ioctl
    sys.modules["vfs"] = m

    def mount():
        if part[:3] == _ROM_MAGIC:  # as a board at boot: /rom, then /rom and /rom/lib on the path
            vfs.mount(vfs.VfsRom(part), "/rom")
            sys.path[:] = ["", ".frozen", "/rom", "/rom/lib", "/lib"]
    return mount


def _clean(text):
    """Drop the agent's own frame from a traceback, so it reads as on a board."""
    return "\n".join(line for line in text.split("\n") if "_vboard_agent" not in line)


def _report(e, err):
    """print_exception, even if the interrupt left the heap locked (seen with Ctrl-C arriving
    during a collection whose finaliser was in a syscall): unlock, then print."""
    try:
        sys.print_exception(e, err)
    except MemoryError:
        gc.collect()  # a collection ends by clearing the GC's own "collecting" lock bit
        for _ in range(8):  # heap_unlock() returns the new depth (it wraps if not locked)
            depth = micropython.heap_unlock()
            if depth > 1000:
                micropython.heap_lock()
                break
            if depth == 0:
                break
        try:
            sys.print_exception(e, err)
        except MemoryError:
            _out.write(b"vboard: traceback lost (heap locked)\r\n")


def _run(code, g, mode="exec", name="<stdin>"):
    err = io.StringIO()  # the traceback goes after the first EOT
    try:
        exec(compile(code, name, mode), g)
    except SystemExit as e:
        code_ = e.args[0] if e.args else 0
        if code_ in (113, 114):  # machine.reset() / machine.soft_reset(): the board process
            raise                    # restarts us; a rebooting board prints no prompt first
        _report(e, err)
    except BaseException as e:
        _report(e, err)
    _out.write(_EOT + _clean(err.getvalue()).encode() + _EOT)
    gc.collect()


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _run_file(path, g):
    with open(path) as f:
        src = f.read()
    _run(src, g, "exec", path)


def _read_exact(n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = _in.read(n - len(buf))
        except KeyboardInterrupt:
            continue
        if not chunk:
            raise SystemExit(0)
        buf += chunk
    return buf


def main():
    root, mode = sys.argv[1], sys.argv[2]
    rom = _setup_rom(os.getenv("VBOARD_ROMFS")) if os.getenv("VBOARD_ROMFS") else None
    _mount(root)
    if rom:
        rom()
    _patch_os()
    g = {"__name__": "__main__"}
    # one EOT pair per phase, so the board process knows where boot.py output ends
    if _exists("boot.py"):
        _run_file("boot.py", g)
    else:
        _out.write(_EOT + _EOT)
    if mode == "friendly":
        for name in ("main.py", "code.py"):
            if _exists(name):
                _run_file(name, g)
                break
        else:
            _out.write(_EOT + _EOT)
    else:
        _out.write(_EOT + _EOT)
    while True:
        head = _read_exact(5)
        n = struct.unpack("<I", head[:4])[0]
        kind = head[4:5]
        code = _read_exact(n).decode()
        _run(code, g, "single" if kind == b"S" else "exec")


main()
