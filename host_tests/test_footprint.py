"""Issue 10: the code footprint of the core library, from .mpy files, under both MicroPython
runtimes (mp_runtime). The core is `import sedsnet` + a Router with a plain side
(discovery=False); every feature module loads only on the call that uses it. On the 32-bit
build (what RP2040/ESP32/STM32 take) the core's code must fit in 60 KB of heap.
Figures print with pytest -s."""
import json
import os
import subprocess

import toolchain
from test_router_memory import _compile_lib

SCRIPT = os.path.join(toolchain.REPO, "tools", "footprint_run.py")
CORE = {"sedsnet", "sedsnet._fast", "sedsnet._fast_frame", "sedsnet.compat", "sedsnet.engine", "sedsnet.errors",
        "sedsnet.forward",
        "sedsnet.ids", "sedsnet.isr", "sedsnet.kernels", "sedsnet.node", "sedsnet.queues",
        "sedsnet.recent", "sedsnet.ring", "sedsnet.router", "sedsnet.router_log",
        "sedsnet.routes", "sedsnet.schema", "sedsnet.wire"}
CORE_LIMIT_32 = 60 * 1024  # issue 10's target: 64608 B before the kernel split, 61264 B after
# (the general frame parser, wire_parse.py, loads with the first non-plain frame). The unix
# ports keep viper machine code outside the GC heap: a board holds those bytes on top.


def _run(runtime, lib):
    env = dict(os.environ, MICROPYPATH=lib)
    proc = subprocess.run([toolchain.runtime_binary(runtime), "-X", "heapsize=4M", SCRIPT],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_core_footprint_and_lazy_feature_modules(mp_runtime, tmp_path):
    lib = str(tmp_path)
    _compile_lib(lib, toolchain.mpy_arch(mp_runtime))
    r = _run(mp_runtime, lib)
    print("\ncore code (%s): %d B; modules %s" % (mp_runtime, r["code"], r["core"]))
    assert set(r["core"]) == CORE  # no consts, tuning, _pure, wire_parse, typed_log, announce...
    assert set(_tool_core()) == CORE  # make footprint measures the same core
    assert r["log_u8"] == ["sedsnet.typed_log"]
    assert r["const"] == ["sedsnet.consts"] and r["FLOAT32"] == 1
    assert r["tuning"] == ["sedsnet.tuning"] and r["tuning_retries"] == 3
    if mp_runtime == "micropython32":
        assert r["code"] <= CORE_LIMIT_32, r["code"]


def test_router_handler_tries_default_matches_tuning_default():
    # router.py reads max_handler_retries without loading tuning.py until a tuning call
    import sys
    sys.path.insert(0, toolchain.LIB)
    from sedsnet import router, tuning
    assert router._HANDLER_TRIES == tuning._values[tuning._HANDLER_TRIES] == 3


def _tool_core():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "footprint_tool", os.path.join(toolchain.REPO, "tools", "footprint.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.CORE
