"""Board table: which mpy-cross architecture each board needs, and what it runs.

The -march values are the ones the MicroPython ports build with. CircuitPython boards get
plain .py sources: CircuitPython cannot load MicroPython .mpy files and has no native emitter.
"""

BOARDS = {
    "rp2040": {"arch": "armv6m", "runtime": "micropython", "entry": "main.py"},
    "esp32": {"arch": "xtensawin", "runtime": "micropython", "entry": "main.py"},
    "pyboard": {"arch": "armv7m", "runtime": "micropython", "entry": "main.py"},
    "feather_rp2040_rfm": {"arch": None, "runtime": "circuitpython", "entry": "code.py"},
    # The virtual board runs the Unix port on this machine: native code for the host CPU.
    "unix": {"arch": "host", "runtime": "micropython", "entry": "main.py"},
}

# The architectures `make test` proves every module compiles for.
CHECKED_ARCHS = ("armv6m", "xtensawin", "armv7m")


def board(name):
    try:
        return BOARDS[name]
    except KeyError:
        hint = " (an STM32 pyboard is BOARD=pyboard)" if name == "stm32" else ""
        raise SystemExit("unknown BOARD %r%s; known: %s" % (name, hint, ", ".join(sorted(BOARDS))))
