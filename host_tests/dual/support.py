# Helpers shared by the dual-runtime tests; must import under CPython and MicroPython alike.
import json
import sys

_HERE = (__file__.rpartition("/")[0] or ".") if "/" in __file__ else "."
VECTORS_DIR = _HERE + "/../vectors"


def load_vectors(area_file):
    """The case list of one golden-vector file (copied from shared/protocol/vectors)."""
    with open(VECTORS_DIR + "/" + area_file) as f:
        return json.load(f)["cases"]


def case(area_file, name):
    for c in load_vectors(area_file):
        if c["case"] == name:
            return c
    raise KeyError(name)


def unhex(text):
    return bytes.fromhex(text)


def raises(exc_class, func, *args, **kwargs):
    """Call func and return the exception it raised; fail if it raised nothing or another kind."""
    try:
        func(*args, **kwargs)
    except exc_class as e:
        return e
    except Exception as e:  # a wrong exception type is a failure, with its name in the message
        raise AssertionError("expected %s, got %s: %s" % (exc_class.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing was raised" % exc_class.__name__)


class Clock:
    """The fake millisecond clock tests pass as a node's now_ms (one for every test): calling
    it gives `t`; a test sets `t` or lets a main loop sleep(ms). With wrap > 0 it counts
    modulo wrap, as ticks_ms does (2**30 on MicroPython)."""

    def __init__(self, t=1000, wrap=0):
        self.t = t
        self.wrap = wrap

    def __call__(self):
        return self.t % self.wrap if self.wrap else self.t

    def sleep(self, ms):
        self.t += ms


IS_MICROPYTHON = sys.implementation.name == "micropython"


class Tally:
    """A tx that allocates nothing: counts frames and sums their lengths and CRC bytes."""

    def __init__(self):
        self.n = self.sig = 0

    def __call__(self, frame):
        self.n += 1
        self.sig += len(frame) + frame[-1] + frame[-4]

    def expect(self, frames):
        return [len(frames), sum(len(f) + f[-1] + f[-4] for f in frames)]


class Skip(Exception):
    """Raised by skip(): the case cannot run on this runtime. The harness reports it as SKIPPED
    (pytest.skip under CPython, `@@END SKIP name reason` from mprun.py under MicroPython),
    never as passed."""


def skip(reason):
    """Stop the current case as skipped, with the reason; use instead of an early `return`."""
    raise Skip(reason)


def micropython_only(reason):
    """Decorator: the case needs MicroPython (heap_lock, viper, ...), so the collector makes
    no [cpython] item for it. Under MicroPython the function is returned unchanged (it has no
    settable function attributes); under CPython it is tagged and, if called anyway, skips."""
    def deco(func):
        if IS_MICROPYTHON:
            return func

        def wrapper(*args, **kwargs):
            skip("MicroPython only: " + reason)
        wrapper.__name__ = func.__name__
        wrapper.__doc__ = func.__doc__
        wrapper.micropython_only = reason
        wrapper.__wrapped__ = func
        return wrapper
    return deco


class Reach:
    """Stand-in for announce.Announcer: endpoint reachability per side, set by the test."""

    def __init__(self, table):
        self.table = table
        self.routes = len(table)  # live announcers (engine reads it as has_routes())

    def reachable(self, side_id, endpoint):
        return endpoint in self.table.get(side_id, ())

    def reach_mask(self, endpoint):
        m = 0
        for sid in self.table:
            if endpoint in self.table[sid]:
                m |= 1 << sid
        return m

    def has_routes(self):
        return bool(self.table)

    def rank(self, src, cands, endpoint, routes, ty=-1):
        return cands  # no boards: every candidate is as near as the others

    def periodic(self, now_ms):
        pass

    def memory_bytes(self):
        return 0
