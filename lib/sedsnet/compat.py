# The one place where CPython, MicroPython and CircuitPython differ: const, the native/viper
# decorators and millisecond ticks. Everything else imports these names from here.
import time

try:
    import micropython

    const = micropython.const
except ImportError:  # CPython (and tools on the host)
    micropython = None

    def const(value):
        return value


if hasattr(time, "ticks_ms"):  # MicroPython
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
else:
    try:  # CircuitPython keeps ticks in supervisor; its ticks wrap at 2**29
        import supervisor

        _PERIOD = 1 << 29

        def ticks_ms():
            return supervisor.ticks_ms()

    except ImportError:  # CPython: a monotonic clock that never wraps in practice
        _PERIOD = 1 << 62

        def ticks_ms():
            return time.monotonic_ns() // 1000000 % _PERIOD

    _HALF = _PERIOD // 2

    def ticks_diff(a, b):
        return ((a - b + _HALF) % _PERIOD) - _HALF

    def ticks_add(a, delta):
        return (a + delta) % _PERIOD


class MonotonicMs:
    """Unwrapped milliseconds since construction, built on wrapping ticks.

    Call at least once per half tick period (days on every port) so no wrap is missed.
    """

    def __init__(self, start_ms=0):
        self._last = ticks_ms()
        self._total = start_ms

    def __call__(self):
        now = ticks_ms()
        self._total += ticks_diff(now, self._last)
        self._last = now
        return self._total
