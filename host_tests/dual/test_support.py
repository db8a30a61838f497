# The helpers the dual tests share (support.py), checked on every runtime.
from support import Clock


def test_the_shared_clock_counts_sleeps_and_wraps():
    c = Clock()
    assert c() == 1000  # the default start: above 0, as most tests want
    c.sleep(250)
    c.t += 5
    assert c() == 1255
    z = Clock(0)
    z.sleep(7)
    assert (z(), z.t) == (7, 7)
    w = Clock(2 ** 30 - 3, wrap=2 ** 30)  # ticks_ms on MicroPython wraps at 2**30
    assert w() == 2 ** 30 - 3
    w.sleep(5)
    assert w() == 2 and w.t == 2 ** 30 + 2
