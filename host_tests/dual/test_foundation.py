# Foundation checks that run under both runtimes: the package imports lazily, errors form one
# family, constants carry the reference's wire codes, and the tick helpers are wrap-safe.
import sys

import sedsnet
from sedsnet import compat, errors
from support import IS_MICROPYTHON, raises


def test_runtime_is_the_one_claimed():
    assert (sys.implementation.name == "micropython") == IS_MICROPYTHON
    assert not hasattr(compat, "IS_MICROPYTHON")  # dead (issue 11): support.py says it


def test_error_family():
    for cls in (errors.DecodeError, errors.CompressedFrameError, errors.UnknownTypeError,
                errors.SchemaError, errors.ArgumentError, errors.PermissionDenied,
                errors.BudgetError):
        assert issubclass(cls, errors.SedsError)
    assert issubclass(errors.CompressedFrameError, errors.DecodeError)
    e = raises(errors.SedsError, _raise_decode)
    assert "short buffer" in str(e)


def _raise_decode():
    raise errors.DecodeError("short buffer")


def test_lazy_exports_and_unknown_name():
    assert sedsnet.SedsError is errors.SedsError
    # reference wire codes (not the seed's "0 = UInt8")
    assert (sedsnet.FLOAT64, sedsnet.FLOAT32, sedsnet.UINT8, sedsnet.BINARY) == (0, 1, 2, 14)
    assert sedsnet.SEDSNET_DISCOVERY_ADDRESS == 17
    raises(AttributeError, getattr, sedsnet, "no_such_name")


def test_ticks_diff_is_wrap_safe():
    a = compat.ticks_ms()
    later = compat.ticks_add(a, 5000)
    assert compat.ticks_diff(later, a) == 5000
    assert compat.ticks_diff(a, later) == -5000


def test_monotonic_ms_never_goes_back():
    clock = compat.MonotonicMs(start_ms=100)
    first = clock()
    second = clock()
    assert 100 <= first <= second
