"""Dual-runtime harness.

Every `test_*` function in `host_tests/dual/test_*.py` is collected twice: `[cpython]` runs it in
this process, `[micropython]` runs it under the real Unix-port binary (one child per module, run
once and cached). The dual modules use bare asserts and fakes, no pytest, so they travel.
"""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolchain  # noqa: E402

DUAL_DIR = os.path.join(toolchain.HOST_TESTS, "dual")
MP_MODULE_TIMEOUT_S = 600

for p in (DUAL_DIR, toolchain.FIRMWARE, toolchain.LIB):
    if p not in sys.path:
        sys.path.insert(0, p)

_mp_results = {}


def _run_module_under_micropython(modname):
    """Run one dual module under MicroPython; return {test: (passed, output)}."""
    if modname in _mp_results:
        return _mp_results[modname]
    cmd = [toolchain.micropython(), "-X", "heapsize=" + toolchain.MP_TEST_HEAP,
           os.path.join(DUAL_DIR, "mprun.py"), modname]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=MP_MODULE_TIMEOUT_S,
                              env=toolchain.mp_env(), cwd=DUAL_DIR)
        out, tail = proc.stdout, proc.stderr + "\nexit code %d" % proc.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        tail = "micropython timed out after %d s" % MP_MODULE_TIMEOUT_S
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
            results[current] = (line.startswith("@@END PASS"), "\n".join(lines))
            current = None
        else:
            lines.append(line)
    if import_fail is not None:
        results["@import"] = (False, "\n".join(import_fail) + tail)
    elif current:  # crashed or hung inside a test
        results[current] = (False, "\n".join(lines) + "\n" + tail)
    results["@tail"] = tail
    _mp_results[modname] = results
    return results


class DualItem(pytest.Item):
    def __init__(self, *, runtime, func, modname, **kw):
        super().__init__(**kw)
        self.runtime, self.func, self.modname = runtime, func, modname

    def runtest(self):
        if self.runtime == "cpython":
            self.func()
            return
        results = _run_module_under_micropython(self.modname)
        name = self.func.__name__
        if "@import" in results:
            raise AssertionError("module failed to import under MicroPython:\n" + results["@import"][1])
        if name not in results:
            raise AssertionError("MicroPython never finished %s:\n%s" % (name, results["@tail"]))
        passed, output = results[name]
        if not passed:
            raise AssertionError("under MicroPython:\n" + output)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, AssertionError) and self.runtime == "micropython":
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s[%s]" % (self.func.__name__, self.runtime)


class DualModule(pytest.Module):
    def collect(self):
        mod = self.obj
        modname = os.path.splitext(self.path.name)[0]
        for name, func in list(vars(mod).items()):
            if name.startswith("test_") and callable(func):
                for runtime in ("cpython", "micropython"):
                    yield DualItem.from_parent(self, name="%s[%s]" % (name, runtime),
                                               runtime=runtime, func=func, modname=modname)


def pytest_pycollect_makemodule(module_path, parent):
    if os.path.dirname(str(module_path)) == DUAL_DIR:
        return DualModule.from_parent(parent, path=module_path)
    return None
