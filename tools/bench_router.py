"""Router benchmark (`make bench`): CPU time and heap per packet for log_f32 -> tx, rx -> forward
(a Relay) and rx -> deliver (a Router, Packet handler), with sides and duplicate-cache scaling,
for our library under the MicroPython Unix port in a board-sized heap (64-bit and the 32-bit
build, viper kernels and the pure path, library as .mpy), under CPython, and for the reference
sedsnet 4.2.7 under CPython doing the same work, in one run, with ratios and the issue's targets.

    python tools/bench_router.py [--smoke] [--case LABEL]... [--repeat K]
        --smoke: a few packets per case, every row; --case: only that case (a
        CASES label, e.g. "rx->forward, 1024 IDs"; repeatable), every runtime, no targets
        table: for measuring one change at a time; --repeat: K runs of every (case, runtime)
        (default 3; 1 with --smoke), interleaved

Not a test: figures depend on the machine (host_tests/test_bench.py runs --smoke so it cannot
rot). Every case is a fresh process (tools/_bench_case.py says how it measures). "pure" runs the
library without _fast.mpy, so every module takes its pure twin, as on CircuitPython.

Steadiness: on a shared machine one run's CPU time per packet moves by 30% (other processes
take caches and cores), the reference's as much as ours. So every (case, runtime) runs K times,
the K rounds interleaved (round 1 of every row, then round 2, ...: a slow minute hits every row
alike), and a row reports the MINIMUM of its K CPU times (load only ever adds time) with the
spread of the K runs ((max - min) / min). Heap bytes and collections come from round 1 (the
only round with the sampled heap pass: they do not move between runs).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIB = os.path.join(REPO, "lib")
CASE = os.path.join(HERE, "_bench_case.py")
MICROPYTHON = os.environ.get("MICROPYTHON") or os.path.join(REPO, ".venv", "bin", "micropython")
HEAP = "256K"
sys.path.insert(0, HERE)
import build  # noqa: E402


def micropython32():
    path = os.environ.get("MICROPYTHON32") or os.path.join(
        REPO, "..", "shared", "toolchain", "micropython32")
    if not os.path.exists(path):
        raise SystemExit("bench: no 32-bit MicroPython at %s (set MICROPYTHON32)" % path)
    return os.path.abspath(path)


# (label, case, sides of which one egress side is reachable (0: one plain peer side), recent IDs);
# a Relay's sides include the one frames come in on
CASES = (
    ("log_f32->tx", "log_tx", 0, 0),
    ("rx->forward", "rx_forward", 0, 0),
    ("rx->deliver", "rx_deliver", 0, 0),
    ("log_f32->tx, 1 side", "log_tx", 1, 0),
    ("log_f32->tx, 8 sides", "log_tx", 8, 0),
    ("log_f32->tx, 30 sides", "log_tx", 30, 0),
    ("rx->forward, 2 sides", "rx_forward", 2, 0),
    ("rx->forward, 8 sides", "rx_forward", 8, 0),
    ("rx->forward, 30 sides", "rx_forward", 30, 0),
    ("rx->forward, 64 IDs", "rx_forward", 0, 64),
    ("rx->forward, 1024 IDs", "rx_forward", 0, 1024),
)
RUNTIMES = ("mp64 viper", "mp64 pure", "mp32 viper", "mp32 pure", "cpython ours", "reference")


def runners(tmp):
    """runtime label -> (argv prefix, environment)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the reference shares our import name
    libs = {}
    for bits, arch in (("64", "x64"), ("32", "x86")):
        libs[bits + " viper"] = build.mpy_tree(os.path.join(tmp, arch), arch, firmware=False)
        libs[bits + " pure"] = build.mpy_tree(os.path.join(tmp, arch + "-pure"), arch,
                                              skip=("_fast.py",), firmware=False)
    out = {}
    for label in RUNTIMES[:4]:
        binary = MICROPYTHON if label.startswith("mp64") else micropython32()
        out[label] = ([binary, "-X", "heapsize=" + HEAP, CASE],
                      dict(env, MICROPYPATH=libs[label[2:]]))
    out["cpython ours"] = ([sys.executable, CASE], dict(env, PYTHONPATH=LIB))
    out["reference"] = ([sys.executable, CASE], env)
    return out


def run_case(argv, env, case, n, sides, recent, heap=True):
    """One case in a fresh process; its JSON result (us: CPU microseconds per packet). heap:
    also the sampled heap pass (bytes, gcs)."""
    proc = subprocess.run(argv + [case, str(n), str(sides), str(recent), "1" if heap else "0"],
                          env=env,
                          capture_output=True, text=True, timeout=600,
                          cwd=tempfile.gettempdir())
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if "MemoryError" in proc.stderr and not lines:  # a finding, not a harness failure
        return {"error": "MemoryError", "n": n, "done": n, "us": 0.0}
    if proc.returncode or not lines:
        raise SystemExit("bench case failed: %s %s %d %d %d (MICROPYPATH=%s)\n%s%s" % (
            " ".join(argv), case, n, sides, recent, env.get("MICROPYPATH"), proc.stdout,
            proc.stderr))
    res = json.loads(lines[-1])
    res["us"] = max(res["us"], 0.001)  # a clock tick coarser than a --smoke run
    return res


def packets(runtime, smoke):
    if smoke:
        return 20
    return 3000 if "pure" in runtime else 10000


def measure(smoke, cases=CASES, repeat=3):
    """{(label, runtime): round 1's result with "us" the minimum over the rounds and "runs"
    every round's us}."""
    tmp = tempfile.mkdtemp(prefix="bench-")
    try:
        run = runners(tmp)
        res = {}
        for k in range(repeat):
            for label, case, sides, recent in cases:
                for rt in RUNTIMES:
                    r = run_case(run[rt][0], run[rt][1], case, packets(rt, smoke), sides,
                                 recent, k == 0)
                    if r["done"] < r["n"]:
                        raise SystemExit("bench: %s under %s sent %d of %d packets"
                                         % (label, rt, r["done"], r["n"]))
                    first = res.setdefault((label, rt), dict(r, runs=[]))
                    if "error" not in r:
                        first["runs"].append(r["us"])
                        first["us"] = min(first["runs"])
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(res, cases=CASES):
    runs = max(len(r.get("runs", ())) for r in res.values())
    print("router bench: GPS packets (3 x f32, 2 endpoints); MicroPython in a %s heap, library "
          "as .mpy; CPU time per packet, collections inside the clock" % HEAP)
    print("us/pkt: the minimum of %d interleaved runs (spread: (max - min) / min of them); "
          "x ref = reference us / our us (speed vs 4.2.7); x pure = pure us / our us (same "
          "word size); B/pkt: heap allocated per packet; GC: collections per 1000 packets"
          % runs)
    for label, _case, _s, _r in cases:
        ref = res[(label, "reference")]["us"]
        print("\n### %s" % label)
        print("%-14s %9s %7s %9s %9s %7s %7s %7s" % ("runtime", "us/pkt", "spread", "pkt/s",
                                                      "B/pkt", "GC/1k", "x ref", "x pure"))
        for rt in RUNTIMES:
            r = res[(label, rt)]
            if "error" in r:
                print("%-14s %9s (in the %s heap)" % (rt, r["error"], HEAP))
                continue
            pure = res.get((label, rt[:4] + " pure")) if rt.startswith("mp") else None
            if pure is not None and "error" in pure:
                pure = None
            b = r.get("bytes")
            us = r["runs"]
            print("%-14s %9.1f %6.0f%% %9.0f %9s %7s %7.2f %7s" % (
                rt, r["us"], 100.0 * (max(us) - min(us)) / min(us), 1e6 / r["us"],
                "-" if b is None else "%.0f" % b,
                "-" if "gcs" not in r else "%.0f" % (1000.0 * r["gcs"] / r["n"]),
                ref / r["us"], "-" if pure is None else "%.2f" % (pure["us"] / r["us"])))
    return targets(res) if cases is CASES else []


def targets(res):
    """The issue's targets beside the measured figures; returns the rows (what, got, ok)."""
    rows = []

    def failed(*keys):
        return [res[k]["error"] for k in keys if "error" in res[k]]

    for label, goal in (("log_f32->tx", 0.3), ("rx->forward", 0.5), ("rx->deliver", 0.3)):
        what = "64-bit port (viper) vs reference, %s >= %.1fx" % (label, goal)
        err = failed((label, "mp64 viper"))
        if err:
            rows.append((what, err[0], False))
            continue
        got = res[(label, "reference")]["us"] / res[(label, "mp64 viper")]["us"]
        rows.append((what, "%.2fx" % got, got >= goal))
    paths = ("log_f32->tx", "rx->forward", "rx->deliver")
    for rt, limit in (("mp64 pure", 0.4), ("mp32 pure", 1.0)):
        what = "%s <= %.1f KB/packet (worst of the 3 paths)" % (rt, limit)
        err = failed(*[(p, rt) for p in paths])
        if err:
            rows.append((what, err[0], False))
            continue
        worst = max(res[(p, rt)]["bytes"] or 0 for p in paths)
        rows.append((what, "%.2f KB" % (worst / 1024.0), worst <= limit * 1024))
    what = "mp64 pure >= 20k log_f32->tx/s"
    err = failed(("log_f32->tx", "mp64 pure"))
    if err:
        rows.append((what, err[0], False))
    else:
        rate = 1e6 / res[("log_f32->tx", "mp64 pure")]["us"]
        rows.append((what, "%.0f/s" % rate, rate >= 20000))
    print("\n### targets (issue 10)")
    for what, got, ok in rows:
        print("%-58s %12s  %s" % (what, got, "PASS" if ok else "MISS"))
    return rows


def pick_cases(argv):
    """The CASES named by --case options (all of them when there is none)."""
    want = [argv[i + 1] for i in range(len(argv) - 1) if argv[i] == "--case"]
    if not want:
        return CASES
    by_label = {c[0]: c for c in CASES}
    missing = [w for w in want if w not in by_label]
    if missing:
        raise SystemExit("bench: no case %s; cases: %s" % (
            ", ".join(repr(m) for m in missing), ", ".join(repr(c[0]) for c in CASES)))
    return tuple(by_label[w] for w in want)


def main(argv):
    smoke = "--smoke" in argv
    cases = pick_cases(argv)
    repeat = 1 if smoke else 3
    if "--repeat" in argv:
        repeat = int(argv[argv.index("--repeat") + 1])
    t0 = time.time()
    report(measure(smoke, cases, repeat), cases)
    print("(%.1f s%s)" % (time.time() - t0, ", smoke: 20 packets per case" if smoke else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
