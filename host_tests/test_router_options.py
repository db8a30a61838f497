"""Every Router option is implemented now (address, time sync, E2E): non-default values print
nothing (no `option X not implemented` line is left), and a bad value raises an ArgumentError
naming the option, under every runtime. Runs each runtime as a child to read its stdout."""
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
for bad in ({"timesync_role": 3}, {"e2e_mode": 256}, {"timesync_enabled": "yes"},
            {"e2e_key_id": -1}):
    try:
        sedsnet.Router(discovery=False, **bad)
    except sedsnet.ArgumentError as e:
        print("refused", list(bad)[0] in str(e))
print("end")
"""


@pytest.mark.parametrize("runtime", ["cpython"] + list(toolchain.MP_RUNTIMES))
def test_options_print_nothing_and_bad_values_are_refused_by_name(runtime, tmp_path):
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
        "---", "refused True", "refused True", "refused True", "refused True",
        "end", ""], out.stdout
