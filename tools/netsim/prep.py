"""What a real-time run prepares before its scenario starts, and how it stops fast: the
boards' images built only when stale (built), and steps that wait on child processes run side
by side (in_parallel: builds, boots, shutdowns). runner.py's Run uses both."""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import build  # noqa: E402
import vboard  # noqa: E402


def built(kind):
    """True when build/<kind> holds every module of the board's manifest, each newer than its
    source and the manifest (a second run, or a test after the demo, skips the compile)."""
    root = os.path.join(vboard.REPO, "build", kind)
    try:
        info = build.boards.board(kind)
        floor = os.path.getmtime(os.path.join(vboard.REPO, "boards", kind, "manifest.py"))
        for src, dest in build.sources(kind):
            target = os.path.join(root, dest if info["runtime"] == "circuitpython"
                                  else dest[:-3] + ".mpy")
            if os.path.getmtime(target) < max(floor, os.path.getmtime(src)):
                return False
    except (OSError, KeyError, SystemExit):
        return False
    return True


def in_parallel(fn, items):
    """fn(item) for every item, each in its own thread (they wait on child processes: the
    boards' builds and boots, the nodes' shutdown); returns the results in order, re-raising
    the first error."""
    res = [None] * len(items)
    errs = []

    def one(i):
        try:
            res[i] = fn(items[i])
        except BaseException as e:  # (SystemExit from build.py too)
            errs.append(e)

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(items))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]
    return res
