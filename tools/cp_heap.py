"""Where the CircuitPython Feather's heap goes (issue 10), on the 32-bit MicroPython.

    python tools/cp_heap.py [--heap KB]      the boot, phase by phase and module by module
    python tools/cp_heap.py --min LO HI      the smallest free heap (KB) code.py runs in

The table runs boards/feather_rp2040_rfm/code.py on a copy of the board's image (tools/build.py,
.py sources) under the virtual board's agent and shims (no ground station), with
sedsnet_node.preload instrumented: per module of config.json's "preload" list the bytes it kept
(after a collection; modules it imported count with it), the heap in use, free and the largest
free block; then the heap after boot and after 1500 loop passes. --heap is the free heap code.py
starts with (the agent's own use, measured, is added). --min bisects with the real check of
host_tests/test_circuitpython_heap.py (boot, 6 s of telemetry to a 4.2.7 ground station).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BOARD = "feather_rp2040_rfm"
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "host_tests"))

_START_OLD = """    gc.collect()
    for name in names:"""
_START_NEW = """    gc.collect()
    print("CPHEAP config-read")
    _mem()
    for name in names:"""
_PRELOAD_OLD = """        try:
            __import__(name)
        except ImportError:
            pass
        gc.collect()"""
_PRELOAD_NEW = """        a0 = gc.mem_alloc()
        was = name in __import__("sys").modules
        try:
            __import__(name)
        except ImportError:
            pass
        except MemoryError:
            print("CPHEAP MemoryError compiling", name)
            raise
        gc.collect()
        print("CPHEAP %s kept=%s" % (name, "loaded" if was else gc.mem_alloc() - a0))
        _mem()"""
_MEM = """

def _mem():
    import gc
    import micropython
    print("CPHEAP   alloc=%d free=%d" % (gc.mem_alloc(), gc.mem_free()))
    micropython.mem_info()
"""
_RUN = """import gc
gc.collect()
print("CPHEAP booted")
from sedsnet_node.bootinfo import _mem
_mem()
node.run(steps=1500)
gc.collect()
print("CPHEAP after 1500 loop passes")
_mem()
"""


def _image(root):
    import test_boards
    test_boards._populate(root, BOARD)
    shutil.rmtree(root + "-image", ignore_errors=True)
    path = os.path.join(root, "lib", "sedsnet_node", "bootinfo.py")
    with open(path) as f:
        text = f.read()
    if _PRELOAD_OLD not in text or _START_OLD not in text:
        raise SystemExit("sedsnet_node/bootinfo.py's preload() changed: update tools/cp_heap.py")
    with open(path, "w") as f:
        f.write(text.replace(_PRELOAD_OLD, _PRELOAD_NEW).replace(_START_OLD, _START_NEW) + _MEM)
    code = os.path.join(root, "code.py")
    with open(code) as f:
        text = f.read()
    with open(code, "w") as f:
        f.write(text.replace("node.run_forever()", _RUN))


def table(free_kb):
    import bench_router
    import test_circuitpython_heap as t
    m32 = bench_router.micropython32()
    tmp = tempfile.mkdtemp(prefix="cpheap")
    try:
        import pathlib
        agent = t._agent_heap(pathlib.Path(tmp), m32)
        root = os.path.join(tmp, BOARD)
        _image(root)
        env = dict(os.environ, MICROPYPATH=os.path.join(HERE, "shims"), VBOARD_BOARD=BOARD)
        heap = free_kb * 1024 + agent
        out = subprocess.run([m32, "-X", "heapsize=%d" % heap, t.AGENT, root, "friendly"],
                             input=b"", capture_output=True, env=env, timeout=300)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = out.stdout.decode("utf-8", "replace").replace("\x04", "\n")
    print("%d KB free for code.py (the agent keeps %d B more); figures minus the agent's" %
          (free_kb, agent))
    print("%-28s %7s %8s %8s %9s" % ("module / phase", "kept", "in use", "free", "largest"))
    print("(kept: by the module and what it imported; 'loaded': imported earlier)")
    lines = text.split("\n")
    label = kept = None
    for i, line in enumerate(lines):
        if line.startswith("CPHEAP   alloc="):
            alloc, free = re.findall(r"=(\d+)", line)
            big = ""
            for nxt in lines[i + 1:i + 6]:
                m = re.search(r"max free sz: (\d+)", nxt)
                if m:
                    big = int(m.group(1)) * 16  # 16-byte blocks on 32-bit
                    break
            print("%-28s %7s %8d %8s %9s" % (label, kept if kept is not None else "",
                                            int(alloc) - agent, free, big))
            label = kept = None
        elif line.startswith("CPHEAP "):
            m = re.match(r"CPHEAP (\S+) kept=(\S+)$", line)
            label, kept = (m.group(1), m.group(2)) if m else (line[7:].strip(), None)
            if "MemoryError" in line:
                print(line[7:])
        elif "Error" in line:
            print(line.strip())


def smallest(lo, hi):
    import pathlib
    import test_circuitpython_heap as t

    class Env:
        def setenv(self, k, v):
            os.environ[k] = v

    def runs(kb):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="cpheap"))
        try:
            t._boots_and_runs(tmp, Env(), kb * 1024)
            return True
        except AssertionError as e:
            text = str(e)
            i = text.find("Error")
            print("  %d KB: %s" % (kb, text[max(0, i - 200):i + 120].replace("\n", " | ")))
            return False
        finally:
            shutil.rmtree(str(tmp), ignore_errors=True)

    if not runs(hi):
        raise SystemExit("does not run in %d KB" % hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = runs(mid)
        print("  %d KB: %s" % (mid, "runs" if ok else "fails"))
        if ok:
            hi = mid
        else:
            lo = mid
    print("smallest free heap code.py runs in: %d KB" % hi)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heap", type=int, default=400, help="KB free for code.py (table)")
    ap.add_argument("--min", nargs=2, type=int, metavar=("LO", "HI"),
                    help="bisect the smallest KB between LO (fails) and HI (runs)")
    args = ap.parse_args()
    if args.min:
        smallest(*args.min)
    else:
        table(args.heap)


if __name__ == "__main__":
    main()
