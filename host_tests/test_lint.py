"""ruff, with the repo's ruff.toml (micropython-lib's rule families, MicroPython builtins and
viper types known), finds nothing in lib/, firmware/, tools/ and host_tests/ (issue 11)."""
import os
import subprocess

import pytest

import toolchain

TREES = ("lib", "firmware", "tools", "host_tests")


def _pinned():
    with open(os.path.join(toolchain.REPO, "requirements-dev.txt")) as f:
        for line in f:
            if line.startswith("ruff=="):
                return line.strip().split("==", 1)[1]
    return None


def _ruff():
    """.venv/bin/ruff (make setup installs it from requirements-dev.txt), or $RUFF."""
    path = os.environ.get("RUFF") or os.path.join(toolchain.VENV_BIN, "ruff")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    why = "ruff not found at %s: run `make setup` (installs it from requirements-dev.txt)" % path
    if toolchain.in_ci():
        pytest.fail(why)
    pytest.skip(why)


def _run(*args, **kw):
    return subprocess.run((_ruff(),) + args, cwd=toolchain.REPO, capture_output=True,
                          text=True, timeout=300, check=False, **kw)


def test_ruff_is_the_pinned_one():
    pin = _pinned()
    assert pin, "requirements-dev.txt pins no ruff"
    out = _run("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ruff", pin], (out.stdout, pin)


def test_tree_is_ruff_clean():
    out = _run("check", "--no-cache", "--output-format", "concise", *TREES)
    assert out.returncode == 0, "ruff findings:\n" + out.stdout + out.stderr


def test_config_knows_micropython_builtins_and_catches_real_findings():
    # const and the viper types need no import on MicroPython; an undefined name still counts.
    src = ("import micropython\n_N = const(4)\n\n\n@micropython.viper\n"
           "def f(b: ptr8, n: int) -> uint:\n    p = ptr16(b)\n    q = ptr32(b)\n"
           "    return uint(b[0] + p[0] + q[0] + n + _N)\n")
    ok = _run("check", "--no-cache", "--stdin-filename", "lib/sedsnet/_lint_probe.py", "-",
              input=src)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _run("check", "--no-cache", "--stdin-filename", "lib/sedsnet/_lint_probe.py", "-",
               input=src + "x = undefined_name\n")
    assert bad.returncode == 1 and "F821" in bad.stdout, bad.stdout + bad.stderr
