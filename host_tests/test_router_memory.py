"""Memory: a 2-side Router routes 100k packets in a 48 KiB data heap without MemoryError, with
0 bytes allocated per forwarded packet and 0 per log_f32 -> tx callback (heap_lock).

The Unix port cannot freeze modules, so the library's code sits in the heap as .mpy bytecode
(about 105 KB on this 64-bit host, less under the 32-bit build; on a board it is frozen into
flash by the board's manifest.py). The run script sets 48 KiB aside as one block, loads the
code, fills every hole the loader left with ballast and frees the block: the router starts with
exactly 48 KiB of contiguous free heap, what a board with frozen code and 48 KiB free has.
It runs under both MicroPython runtimes (mp_runtime in conftest.py: micropython32 required in
CI, skipped elsewhere when missing), the .mpy files compiled for each one's native code.
Figures print with pytest -s."""
import json
import os
import subprocess

import toolchain

DATA_HEAP = 48 * 1024
LOADER_ROOM = 96 * 1024  # the .mpy loader's temporaries (about 64 KB), ballast afterwards
PACKETS = 100000
SCRIPT = os.path.join(toolchain.REPO, "tools", "router_heap_run.py")


def _compile_lib(dest, arch):
    out_dir = os.path.join(dest, "sedsnet")
    os.makedirs(out_dir)
    src = os.path.join(toolchain.LIB, "sedsnet")
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            # -s: the module's name as on a board (sedsnet/x.py), not this checkout's path,
            # which the .mpy would carry into the heap (figures must not depend on where the
            # clone lives)
            subprocess.run([toolchain.mpy_cross(), "-march=" + arch, "-o",
                            os.path.join(out_dir, name[:-3] + ".mpy"), "-s", "sedsnet/" + name,
                            os.path.join(src, name)], check=True)


def _run(runtime, lib, heap, packets, data=0):
    env = dict(os.environ, MICROPYPATH=lib)
    proc = subprocess.run([toolchain.runtime_binary(runtime), "-X", "heapsize=%d" % heap, SCRIPT,
                           str(packets), str(data)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_side_router_routes_100k_packets_in_48k(mp_runtime, tmp_path):
    lib = str(tmp_path)
    _compile_lib(lib, toolchain.mpy_arch(mp_runtime))
    code = _run(mp_runtime, lib, 4 * 1024 * 1024, 0)["code"]
    r = _run(mp_runtime, lib, code + LOADER_ROOM + DATA_HEAP, PACKETS, DATA_HEAP)
    data = r["outside"]  # mem_alloc() of code + ballast: data figures are counted above it
    print("\nrouter heap run (%s): code %d B (.mpy in RAM), contiguous data heap %d B free at"
          " start;"
          " data live after gc: start %d B, high-water %d B, end %d B; raw data high-water %d B;"
          " %.2f B allocated per routed packet; %d forwarded" % (
              mp_runtime, code, r["data_free"], r["heap_base"] - data, r["live_high"] - data,
              r["heap_end"] - data, r["heap_high"] - data, r["bytes_per_packet"],
              r["forwarded"]))
    assert DATA_HEAP - 256 <= r["data_free"] <= DATA_HEAP + 1024  # the emulation holds
    assert r["kernels"] == "viper"
    assert r["forwarded"] >= PACKETS  # + the router's own log_f32 telemetry
    assert r["bytes_per_packet"] <= 1.0  # target 64; what remains is periodic()'s share
    assert r["locked_ok"]
    assert all(v == 0 for v in r["drops"].values()), r["drops"]
    assert r["live_high"] - r["heap_base"] < 4096  # queues, ID cache and discovery state
    assert r["heap_end"] - r["heap_base"] < 4096
