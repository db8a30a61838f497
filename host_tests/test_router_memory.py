"""Memory: a 2-side Router routes 100k packets in a 48 KiB data heap without MemoryError, with
0 bytes allocated per forwarded packet and 0 per log_f32 -> tx callback (heap_lock).

The Unix port cannot freeze modules, so the library's code sits in the heap as .mpy bytecode
(about 110 KB on this 64-bit host; on a board it is frozen into flash by the board's
manifest.py). The run therefore gets a heap of exactly the measured code size + 48 KiB: what a
board with frozen code and 48 KiB of free heap has. Figures print with pytest -s."""
import json
import os
import subprocess

import toolchain

DATA_HEAP = 48 * 1024
PACKETS = 100000
SCRIPT = os.path.join(toolchain.REPO, "tools", "router_heap_run.py")


def _compile_lib(dest):
    out_dir = os.path.join(dest, "sedsnet")
    os.makedirs(out_dir)
    src = os.path.join(toolchain.LIB, "sedsnet")
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            subprocess.run([toolchain.mpy_cross(), "-march=x64", "-o",
                            os.path.join(out_dir, name[:-3] + ".mpy"), os.path.join(src, name)],
                           check=True)


def _run(lib, heap, packets):
    env = dict(os.environ, MICROPYPATH=lib)
    proc = subprocess.run([toolchain.micropython(), "-X", "heapsize=%d" % heap, SCRIPT,
                           str(packets)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_side_router_routes_100k_packets_in_48k(tmp_path):
    lib = str(tmp_path)
    _compile_lib(lib)
    code = _run(lib, 4 * 1024 * 1024, 0)["code"]
    r = _run(lib, code + DATA_HEAP, PACKETS)
    print("\nrouter heap run: code %d B (.mpy in RAM), data heap %d B; live after gc: start %d B,"
          " high-water %d B, end %d B; raw high-water %d B of %d; %.2f B allocated per routed "
          "packet; %d forwarded" % (
              code, DATA_HEAP, r["heap_base"] - code, r["live_high"] - code,
              r["heap_end"] - code, r["heap_high"], code + DATA_HEAP, r["bytes_per_packet"],
              r["forwarded"]))
    assert r["kernels"] == "viper"
    assert r["forwarded"] >= PACKETS  # + the router's own log_f32 telemetry
    assert r["bytes_per_packet"] <= 1.0  # target 64; what remains is periodic()'s share
    assert r["locked_ok"]
    assert all(v == 0 for v in r["drops"].values()), r["drops"]
    assert r["live_high"] - r["heap_base"] < 4096  # queues, ID cache and discovery state
    assert r["heap_end"] - r["heap_base"] < 4096
