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


IS_MICROPYTHON = sys.implementation.name == "micropython"
