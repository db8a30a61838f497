"""The dual-runtime harness itself: every dual case is collected for the three runtimes (a
@micropython_only case for the two MicroPython ones), no dual case passes by returning early,
mprun.py's SKIP marker becomes a skip, and a missing 32-bit binary is a skip outside CI and a
failure in CI."""
import ast
import os
import subprocess
import sys

import conftest
import support
import toolchain

DUAL = conftest.DUAL_DIR


def _pytest(args, **env):
    full = dict(os.environ, **env)
    full.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs"] + args,
                          capture_output=True, text=True, cwd=toolchain.REPO, env=full, timeout=300)


def test_dual_cases_are_collected_for_all_three_runtimes():
    out = _pytest(["--collect-only", "-q", os.path.join(DUAL, "test_cobs.py")])
    assert out.returncode == 0, out.stdout + out.stderr
    ids = {line.split("::", 1)[1] for line in out.stdout.splitlines() if "::" in line}
    for rt in ("cpython", "micropython", "micropython32"):
        assert "test_decoder_oversize_and_truncation_resync[%s]" % rt in ids, ids
    # heap_lock only exists under MicroPython: no [cpython] item that would pass without running
    assert "test_encode_and_decode_do_not_allocate[micropython]" in ids
    assert "test_encode_and_decode_do_not_allocate[micropython32]" in ids
    assert "test_encode_and_decode_do_not_allocate[cpython]" not in ids


def test_micropython_only_under_cpython_skips_if_called():
    ran = []

    @support.micropython_only("needs heap_lock")
    def test_case():
        ran.append(1)

    assert test_case.micropython_only == "needs heap_lock"
    assert test_case.__name__ == "test_case"
    assert conftest.dual_item_runtimes(test_case) == ("micropython", "micropython32")
    e = None
    try:
        test_case()
    except support.Skip as exc:
        e = exc
    assert e is not None and "needs heap_lock" in str(e) and not ran


def _returns(func):
    """Return statements of func itself (not of functions or classes nested in it)."""
    found, todo = [], list(func.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return):
            found.append(node.lineno)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def test_no_dual_case_returns_early():
    # a test that returns on some runtime would count as passed there: use
    # @support.micropython_only(why) or support.skip(why) instead
    offenders = []
    names = sorted(n for n in os.listdir(DUAL) if n.startswith("test_") and n.endswith(".py"))
    assert len(names) >= 10
    for name in names:
        with open(os.path.join(DUAL, name)) as f:
            tree = ast.parse(f.read(), name)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                offenders += ["%s:%d %s" % (name, ln, node.name) for ln in _returns(node)]
    assert not offenders, offenders


def test_the_tests_share_one_fake_clock():
    # support.Clock is the one fake clock; a module may specialise it (a subclass), never
    # write another
    own = []
    for name in sorted(os.listdir(DUAL)):
        if not name.endswith(".py") or name == "support.py":
            continue
        with open(os.path.join(DUAL, name)) as f:
            tree = ast.parse(f.read(), name)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and "Clock" in node.name and not any(
                    ast.unparse(b).endswith("Clock") for b in node.bases):
                own.append("%s:%d %s" % (name, node.lineno, node.name))
    assert not own, own


PROBE = """
from support import skip


def test_passes():
    assert 1 + 1 == 2


def test_skips():
    skip("no viper on this runtime")


def test_fails():
    assert 1 + 1 == 3
"""


def test_mprun_reports_skips(mp_runtime, tmp_path):
    (tmp_path / "probe_dual.py").write_text(PROBE)
    env = dict(toolchain.mp_env(), MICROPYPATH=str(tmp_path))
    proc = subprocess.run([toolchain.runtime_binary(mp_runtime), os.path.join(DUAL, "mprun.py"),
                           "probe_dual"], capture_output=True, text=True, env=env, timeout=60)
    assert "@@END SKIP test_skips no viper on this runtime" in proc.stdout, proc.stdout
    res = conftest.parse_mprun(proc.stdout, "")
    assert res["test_passes"][0] == "pass"
    assert res["test_skips"] == ("skip", "no viper on this runtime")
    assert res["test_fails"][0] == "fail" and "AssertionError" in res["test_fails"][1]


def test_missing_micropython32_is_a_skip_outside_ci_and_a_failure_in_ci(tmp_path):
    missing = str(tmp_path / "no-such-micropython32")
    sel = [os.path.join(DUAL, "test_cobs.py") + "::test_decoder_oversize_and_truncation_resync"]
    out = _pytest(sel, MICROPYTHON32=missing, CI="")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "2 passed, 1 skipped" in text and missing in text and "build_micropython32.sh" in text
    out = _pytest(sel, MICROPYTHON32=missing, CI="true")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "1 failed, 2 passed" in text and "CI requires the 32-bit runtime" in text, text
    assert "test_decoder_oversize_and_truncation_resync[micropython32]" in text
