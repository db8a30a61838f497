"""Memory: the rp2040 firmware (router + UART side + SX127x LoRa side, its config and schema, the
simulated GPS/IMU) runs 10 minutes of simulated time in an RP2040-sized heap, 128 KiB of data,
with gc.mem_free() stable. Time is injected (a fake clock advanced by the loop's idle sleep), so
the run takes seconds, not minutes. A ground station (a second Router,
host_tests/dual/groundpeer.py) on the UART and on the LoRa air announces GROUND_STATION, so the
board's router sends its telemetry to both sides (Fanout, from the board config); the ground's
UART also returns every 10th frame and a LoRa reflector returns packets (the board drops its own
frames as duplicates), so both receive paths run at volume too.

The Unix port cannot freeze modules, so the code sits in the heap as .mpy bytecode (over 100 KB
on this 64-bit host, less under the 32-bit build; a board built with boards/rp2040/manifest.py
has it in flash). It runs under both MicroPython runtimes (mp_runtime in conftest.py:
micropython32 required in CI, skipped elsewhere when missing), the .mpy files compiled for each
one's native code. As in
test_router_memory.py, the run gets a heap of the measured code size + 128 KiB: what an RP2040
with frozen code has. Only the builder (app.py, dropped by boot()) stays a charge on the 128 KiB.
(Loaded from .mpy files, as `make deploy` copies them, code and data do not fit 128 KiB.)

Figures printed (pytest -s): code size, live data heap after gc.collect() per simulated minute,
its high-water mark, and the lowest free heap seen between collections."""
import json
import os
import subprocess

import toolchain

DATA_HEAP = 128 * 1024
# The RP2040 is 32-bit: the 32-bit runtime gets the board's 128 KiB. On the 64-bit Unix port every
# object is up to twice as big (the same run keeps 90 KB live there against 53 KB on 32-bit,
# after side profiles came), so it gets the same share of its own word size: a check that the
# 64-bit build does not leak, not a board figure.
DATA_HEAP_64 = 160 * 1024
SIM_MINUTES = 10

SCRIPT = r"""
import gc, sys, json
gc.collect()
start_alloc = gc.mem_alloc()
# every module the run uses, as frozen into a board's flash (the library first, as boot() does);
# app.py, the builder, is left out: boot() drops it, so until then it is a charge on the data
import sedsnet.router, sedsnet.announce, sedsnet.packet, sedsnet.sdt, sedsnet.sdt_reassembly
import sedsnet_node.mainloop, sedsnet_node.uart_link, sedsnet_node.sx127x, sedsnet_node.simsensors
import sx127x_sim
from groundpeer import GroundPeer
gc.collect()
code_alloc = gc.mem_alloc() - start_alloc
if sys.argv[2] == "0":
    print("@@CODE %d" % code_alloc)
    sys.exit(0)
from sedsnet_node import app

REPO = sys.argv[1]
BOARD = REPO + "/boards/rp2040/"


class Clock:
    def __init__(self):
        self.t = 0
    def __call__(self):
        return self.t
    def sleep(self, ms):
        self.t += ms


class Counter:
    feeds = 0
    def feed(self):
        self.feeds += 1
    def value(self, v=None):
        return 0


class Reflector:
    # a radio on the simulated air that sends some packets back to the board later
    def __init__(self):
        self.queue = []
        self.board = None
        self.seen = 0
    def deliver(self, settings, payload, crc_ok=True):
        self.seen += 1
        if self.seen % 10 == 0 and len(self.queue) < 2:
            self.queue.append((settings, payload))
    def flush(self):
        while self.queue:
            s, p = self.queue.pop(0)
            self.board.deliver(s, p)


class Hw:
    def __init__(self, clock, ground):
        self.clock = clock
        self.air = sx127x_sim.Air()
        self.reflector = Reflector()
        self.air.attach(self.reflector)
        self.sim = None
        # the ground's UART also returns every 10th frame the board writes (its own, dropped
        # as duplicates): the board's receive path runs at volume too
        self.uart_obj = ground.uart(echo_every=10)
        self.wdt_obj = Counter()
        self._sim()  # test scaffolding first, so it does not fragment the board's heap
        ground.lora(self.air, self.sim)
    def _sim(self):
        if self.sim is None:
            self.sim = sx127x_sim.SX127xSim(self.air, "board")
            self.reflector.board = self.sim
        return self.sim
    def pin_out(self, ident, value=1):
        if ident == 17:
            return sx127x_sim.SimPin(self._sim(), "cs")
        return sx127x_sim.SimPin()
    def pin_in(self, ident):
        return sx127x_sim.SimPin(self._sim(), "dio0")
    def uart(self, cfg):
        return self.uart_obj
    def spi(self, cfg):
        return sx127x_sim.SimSPI(self._sim())
    def wdt(self, ms):
        return self.wdt_obj


clock = Clock()
ground = GroundPeer(clock)  # a ground station on the UART and on the air (a second Router)
hw = Hw(clock, ground)
logs = []


def log(msg):
    if len(logs) < 5:
        logs.append(msg)


# exactly what boards/rp2040/main.py does: boot() builds the node and drops the builder
loop = app.boot(hw, BOARD + "config.json", log=log, clock=clock, sleep_ms=clock.sleep)
del app
router = loop.router
loop.status_ms = 0
loop.idle_ms = 10
gc.collect()
base_free = gc.mem_free()
n_min = int(sys.argv[2])
minutes = [0] * (2 * n_min)  # preallocated: the measurement itself must not grow the heap
low_free = base_free
for minute in range(n_min):
    for second in range(60):
        for _ in range(100):         # 100 passes x 10 ms idle = 1 simulated second
            loop.run(steps=1)
            ground.poll()
        hw.reflector.flush()
        f = gc.mem_free()
        if f < low_free:
            low_free = f
    gc.collect()
    minutes[2 * minute] = gc.mem_free()
    minutes[2 * minute + 1] = gc.mem_alloc()
st = loop.status()
print("@@RESULT " + json.dumps({
    "heap_total": gc.mem_free() + gc.mem_alloc(), "base_free": base_free, "minutes": minutes,
    "code": code_alloc,
    "low_free": low_free, "sim_ms": clock.t, "loops": loop.loops, "errors": loop.errors,
    "uart": st["UART0"], "lora": st["LORA"], "wdt_feeds": hw.wdt_obj.feeds,
    "samples": [st["samples_gps"], st["samples_imu"]], "router": type(router).__name__,
    "drops": loop.rx_drops, "ground": ground.packets, "logs": logs[:5]}))
"""


def _compile_tree(dest, arch):
    """.mpy files as on a board (compiling .py on a 128k heap would measure the compiler).
    A module mpy-cross refuses is left out, as the board build would fail loudly instead; the
    codec then falls back to its pure-Python kernels. Returns the names left out."""
    skipped = []
    jobs = [(os.path.join(toolchain.LIB, "sedsnet"), os.path.join(dest, "sedsnet")),
            (os.path.join(toolchain.FIRMWARE, "sedsnet_node"), os.path.join(dest, "sedsnet_node")),
            (os.path.join(toolchain.REPO, "tools", "shims"), dest),
            (os.path.join(toolchain.HOST_TESTS, "dual"), dest)]
    for src_dir, out_dir in jobs:
        os.makedirs(out_dir, exist_ok=True)
        for name in sorted(os.listdir(src_dir)):
            if not name.endswith(".py") or name in ("machine.py", "_vboard_agent.py"):
                continue
            if src_dir.endswith("dual") and name != "groundpeer.py":
                continue
            cmd = [toolchain.mpy_cross(), "-o", os.path.join(out_dir, name[:-3] + ".mpy"),
                   os.path.join(src_dir, name)]
            if arch:  # the runtime's native code, as the board's image carries armv6m
                cmd.insert(1, "-march=" + arch)
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                skipped.append(name)
    return skipped


def _run(runtime, lib, cwd, script, heap, minutes):
    env = dict(os.environ)
    env["MICROPYPATH"] = lib
    proc = subprocess.run([toolchain.runtime_binary(runtime), "-X", "heapsize=%d" % heap, script,
                           toolchain.REPO, str(minutes)], capture_output=True, text=True,
                          timeout=170, env=env, cwd=cwd)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@")]
    assert line, out
    return line[0]


def test_rp2040_firmware_ten_simulated_minutes_in_128k(mp_runtime, tmp_path):
    script = tmp_path / "memrun.py"
    script.write_text(SCRIPT)
    lib = tmp_path / "lib"
    skipped = _compile_tree(str(lib), toolchain.mpy_arch(mp_runtime))
    assert not set(skipped) - {"_fast.py"}, skipped
    code = int(_run(mp_runtime, str(lib), str(tmp_path), str(script), 4 * 1024 * 1024,
                    0).split()[1])
    data_heap = DATA_HEAP if mp_runtime == "micropython32" else DATA_HEAP_64
    r = json.loads(_run(mp_runtime, str(lib), str(tmp_path), str(script), code + data_heap,
                        SIM_MINUTES)[9:])
    code = r["code"]  # as measured in this heap (within a GC block or two of the first run)
    used = [u - code for u in r["minutes"][1::2]]  # live data heap
    if skipped:
        print("\n(mpy-cross refused %s: measured with the pure-Python kernels)" % skipped)
    print("\nmemory (%s: code %d bytes as .mpy in RAM + data heap %d, router %s): live data "
          "after gc per simulated minute: %s; high-water %d bytes; lowest free between "
          "collections %d bytes; %d loops, %d UART frames out, %d in, %d LoRa out, %d in; ground got %d"
          % (mp_runtime, code, data_heap, r["router"], used, max(used), r["low_free"],
             r["loops"], r["uart"]["tx_frames"], r["uart"]["rx_frames"], r["lora"]["tx_frames"],
             r["lora"]["rx_frames"], r["ground"]))
    assert r["sim_ms"] >= SIM_MINUTES * 60000
    assert r["errors"] == 0 and r["drops"] == 0, r["logs"]
    # ~5 GPS/s and 20 IMU/s for 10 minutes, all sent on both sides, some received back; the
    # ground keeps one copy of each (minus the first samples, sent before it was heard)
    assert r["samples"][0] >= 2900 and r["samples"][1] >= 11900, r
    assert r["uart"]["tx_frames"] >= 14000 and r["uart"]["rx_frames"] >= 1000, r
    assert r["lora"]["tx_frames"] >= 14000 and r["lora"]["rx_frames"] >= 100, r
    assert r["ground"] >= 14000, r
    assert r["wdt_feeds"] == r["loops"]
    # stable: the live heap does not grow after the first simulated minute (256 bytes slack)
    assert max(used[1:]) - used[1] <= 256, used
    assert used[-1] <= used[1] + 256, used
