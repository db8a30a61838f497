"""The harness itself: the MicroPython binary is found (never skipped), the vector copy matches
shared/, and every module compiles with mpy-cross for each board architecture."""
import filecmp
import os
import subprocess
import sys

import pytest

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import boards  # noqa: E402


def test_micropython_binary_runs_our_lib():
    out = subprocess.run([toolchain.micropython(), "-c",
                          "import sys, sedsnet; print(sys.implementation.name, sedsnet.__version__)"],
                         capture_output=True, text=True, env=toolchain.mp_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "micropython"


def test_vector_copy_matches_shared():
    shared = os.path.join(toolchain.REPO, "..", "shared", "protocol", "vectors")
    ours = os.path.join(toolchain.HOST_TESTS, "vectors")
    names = sorted(os.listdir(ours))
    assert "frame.json" in names
    if not os.path.isdir(shared):
        return  # a clone without shared/ beside it: the committed copy is the truth
    _match, mismatch, errors = filecmp.cmpfiles(shared, ours, sorted(os.listdir(shared)), shallow=False)
    assert not mismatch and not errors, "refresh host_tests/vectors from shared: %s %s" % (mismatch, errors)


def _modules():
    for top in ("lib", "firmware"):
        for root, _dirs, files in os.walk(os.path.join(toolchain.REPO, top)):
            for f in sorted(files):
                if f.endswith(".py"):
                    yield os.path.relpath(os.path.join(root, f), toolchain.REPO)


@pytest.mark.parametrize("arch", boards.CHECKED_ARCHS)
def test_every_module_compiles_with_mpy_cross(arch, tmp_path):
    mods = list(_modules())
    assert mods
    failures = []
    for rel in mods:
        out = subprocess.run([toolchain.mpy_cross(), "-march=" + arch, "-o", str(tmp_path / "m.mpy"),
                              os.path.join(toolchain.REPO, rel)], capture_output=True, text=True)
        if out.returncode != 0:
            failures.append("%s: %s" % (rel, out.stderr.strip()))
    assert not failures, "\n".join(failures)
