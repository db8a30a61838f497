"""A Router given an E2E option (no module implements them yet) says so in one line
per option, `sedsnet: option X not implemented`, under every runtime; defaults and the
address options say nothing. Runs each runtime as a child to read its stdout."""
import os
import subprocess
import sys

import pytest

import toolchain
from conftest import require_runtime

SCRIPT = """
import sedsnet
sedsnet.Router(discovery=False)
sedsnet.Router(discovery=False, address_mode=2, requested_address=5, timesync_enabled=1,
               timesync_priority=100)
print("---")
sedsnet.Router(discovery=False, timesync_role=1, e2e_mode=3, timesync_enabled=False)
print("end")
"""


@pytest.mark.parametrize("runtime", ["cpython"] + list(toolchain.MP_RUNTIMES))
def test_unimplemented_options_print_one_warning_line_each(runtime, tmp_path):
    script = tmp_path / "opts.py"
    script.write_text(SCRIPT)
    if runtime == "cpython":
        argv = [sys.executable, str(script)]
        env = dict(os.environ, PYTHONPATH=toolchain.LIB)
    else:
        require_runtime(runtime)
        argv = [toolchain.runtime_binary(runtime), str(script)]
        env = dict(os.environ, MICROPYPATH=toolchain.LIB)
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split("\n") == [
        "---",
        "sedsnet: option e2e_mode not implemented",
        "end", ""], out.stdout
