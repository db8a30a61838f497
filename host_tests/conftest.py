"""Dual-runtime harness.

Every `test_*` function in `host_tests/dual/test_*.py` is collected three times: `[cpython]` runs
it in this process, `[micropython]` under the pinned 64-bit Unix-port binary and `[micropython32]`
under the 32-bit build (small ints of 30 bits, as on RP2040/ESP32/STM32; see toolchain.py). Each
MicroPython runtime runs a module once, in one child (host_tests/dual/mprun.py), whose results are
cached; the children of a module start together at its first item, so the two MicroPython runs
and the CPython items overlap. The 64-bit binary missing is a failure; the 32-bit one missing is a
failure in CI (CI=true) and a skip elsewhere. A case decorated `@support.micropython_only(why)`
has no [cpython] item; `support.skip(why)` reports the case SKIPPED on the runtime that calls it.
The dual modules use bare asserts and fakes, no pytest, so they travel.
"""
import os
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolchain  # noqa: E402

DUAL_DIR = os.path.join(toolchain.HOST_TESTS, "dual")
MP_MODULE_TIMEOUT_S = 600
RUNTIMES = ("cpython",) + toolchain.MP_RUNTIMES

for p in (DUAL_DIR, toolchain.FIRMWARE, toolchain.LIB):
    if p not in sys.path:
        sys.path.insert(0, p)

import support  # noqa: E402  (the dual modules' own copy: same sys.modules entry)

_children = {}  # (runtime, modname) -> _Child
_mp_results = {}  # (runtime, modname) -> {test: (status, output)}
_wanted = {}  # modname -> set of MicroPython runtimes with selected items


class _Child:
    """One MicroPython child running one dual module; output goes to a temporary file."""

    def __init__(self, runtime, modname):
        self.out = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.err = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        cmd = [toolchain.runtime_binary(runtime), "-X", "heapsize=" + toolchain.MP_TEST_HEAP,
               os.path.join(DUAL_DIR, "mprun.py"), modname]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, env=toolchain.mp_env(),
                                     cwd=DUAL_DIR)

    def finish(self):
        """Wait for the child (within the timeout from its start); return (stdout, tail)."""
        left = max(0.0, MP_MODULE_TIMEOUT_S - (time.monotonic() - self.started))
        try:
            self.proc.wait(timeout=left)
            tail = "\nexit code %d" % self.proc.returncode
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            tail = "\nmicropython timed out after %d s" % MP_MODULE_TIMEOUT_S
        self.out.seek(0)
        self.err.seek(0)
        out, err = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        return out, err + tail

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.err.close()


def require_runtime(runtime):
    """Skip (outside CI) or fail (CI=true) when the 32-bit binary is missing; the 64-bit one
    missing fails later, in toolchain.micropython()."""
    missing = toolchain.micropython32_missing() if runtime == "micropython32" else None
    if missing and toolchain.in_ci():
        pytest.fail("CI requires the 32-bit runtime: " + missing, pytrace=False)
    if missing:
        pytest.skip(missing)  # one reason for all: -ra folds them into one line


@pytest.fixture(params=toolchain.MP_RUNTIMES)
def mp_runtime(request):
    """For CPython tests that run MicroPython children (memory runs): one case per runtime,
    with the same missing-binary rule as the dual items. Use toolchain.runtime_binary(rt) and
    toolchain.mpy_arch(rt)."""
    require_runtime(request.param)
    return request.param


def _usable(runtime):
    return runtime != "micropython32" or toolchain.micropython32_missing() is None


def _start_children(modname):
    """Start the module's child for every MicroPython runtime that has selected items."""
    for runtime in sorted(_wanted.get(modname, toolchain.MP_RUNTIMES)):
        key = (runtime, modname)
        if key in _children or key in _mp_results or not _usable(runtime):
            continue
        try:
            _children[key] = _Child(runtime, modname)
        except (OSError, RuntimeError) as e:  # reported by the items of this runtime
            _mp_results[key] = {"@start": str(e), "@tail": str(e)}


def parse_mprun(out, tail):
    """mprun.py's markers -> {test: (status, output)}, status "pass", "fail" or "skip"."""
    results = {}
    current, lines = None, []
    import_fail = None
    for line in out.splitlines():
        if line.startswith("@@IMPORT-FAIL"):
            import_fail = []
            continue
        if import_fail is not None:
            import_fail.append(line)
            continue
        if line.startswith("@@BEGIN "):
            current, lines = line[8:], []
        elif line.startswith("@@END ") and current:
            word, _, rest = line[6:].partition(" ")
            if word == "SKIP":
                reason = rest[len(current):].strip() if rest.startswith(current) else rest
                results[current] = ("skip", reason or "skipped")
            else:
                results[current] = ("pass" if word == "PASS" else "fail", "\n".join(lines))
            current = None
        else:
            lines.append(line)
    if import_fail is not None:
        results["@import"] = ("fail", "\n".join(import_fail) + tail)
    elif current:  # crashed or hung inside a test
        results[current] = ("fail", "\n".join(lines) + "\n" + tail)
    results["@tail"] = tail
    return results


def _module_results(runtime, modname):
    key = (runtime, modname)
    if key not in _mp_results:
        _start_children(modname)
        child = _children.pop(key)
        _mp_results[key] = parse_mprun(*child.finish())
    return _mp_results[key]


class DualItem(pytest.Item):
    def __init__(self, *, runtime, func, modname, **kw):
        super().__init__(**kw)
        self.runtime, self.func, self.modname = runtime, func, modname

    def setup(self):
        _start_children(self.modname)  # the MicroPython runs overlap the CPython items

    def runtest(self):
        if self.runtime == "cpython":
            try:
                self.func()
            except support.Skip as e:
                pytest.skip("%s: %s" % (self.name, str(e) or "skipped"))
            return
        require_runtime(self.runtime)
        results = _module_results(self.runtime, self.modname)
        name = self.func.__name__
        if "@start" in results:
            raise AssertionError("%s could not start: %s" % (self.runtime, results["@start"]))
        if "@import" in results:
            raise AssertionError("module failed to import under %s:\n%s"
                                 % (self.runtime, results["@import"][1]))
        if name not in results:
            raise AssertionError("%s never finished %s:\n%s"
                                 % (self.runtime, name, results["@tail"]))
        status, output = results[name]
        if status == "skip":
            pytest.skip("%s: %s" % (self.name, output))
        if status != "pass":
            raise AssertionError("under %s:\n%s" % (self.runtime, output))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, AssertionError) and self.runtime != "cpython":
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s[%s]" % (self.func.__name__, self.runtime)


def dual_item_runtimes(func):
    """The runtimes a dual test function gets items for."""
    if getattr(func, "micropython_only", None) is not None:
        return toolchain.MP_RUNTIMES
    return RUNTIMES


class DualModule(pytest.Module):
    def collect(self):
        mod = self.obj
        modname = os.path.splitext(self.path.name)[0]
        for name, func in list(vars(mod).items()):
            if name.startswith("test_") and callable(func):
                for runtime in dual_item_runtimes(func):
                    yield DualItem.from_parent(self, name="%s[%s]" % (name, runtime),
                                               runtime=runtime, func=func, modname=modname)


def pytest_pycollect_makemodule(module_path, parent):
    if os.path.dirname(str(module_path)) == DUAL_DIR:
        return DualModule.from_parent(parent, path=module_path)
    return None


def pytest_collection_finish(session):
    # only the runtimes a module has selected items for get a child (-k, ::name selections)
    for item in session.items:
        if isinstance(item, DualItem):
            runtimes = _wanted.setdefault(item.modname, set())
            if item.runtime != "cpython":
                runtimes.add(item.runtime)


def pytest_sessionfinish(session):
    for child in _children.values():  # an interrupted or -x run leaves children running
        child.kill()
    _children.clear()
