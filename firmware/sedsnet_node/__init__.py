# sedsnet_node: the board runtime of sedsnet for MicroPython (a board config -> router, link
# sides, sensors, main loop). It requires the `sedsnet` library of the same release; a board's
# main.py is `from sedsnet_node.app import boot` (see boards/README.md).
#
# MIN_MICROPYTHON: the .mpy files `make deploy` builds come from mpy-cross 1.29 (.mpy v6.3),
# which MicroPython loads from 1.23 on; the viper kernels need the native emitter, which every
# rp2/esp32/stm32 firmware has. CircuitPython gets .py sources (no .mpy, no viper).
MIN_MICROPYTHON = (1, 23, 0)
MIN_CIRCUITPYTHON = (9, 0, 0)


def __getattr__(name):
    # check_runtime, kernels, banner, preload: boot-time helpers, in bootinfo.py (app.boot
    # drops it once they have run). `from sedsnet_node import x` on MicroPython asks here
    # before it imports submodule x: a raise would end that import, so import it here.
    boot = name in ("check_runtime", "kernels", "banner", "preload")
    if not boot and (not name or "." in name or name.startswith("__")):
        raise AttributeError(name)
    try:
        mod = __import__("sedsnet_node." + ("bootinfo" if boot else name), None, None, ("_",))
    except ImportError as e:
        if ("sedsnet_node.%s'" % name) not in str(e) and name not in str(e):
            raise
        raise AttributeError("module 'sedsnet_node' has no attribute '%s'" % name)
    return getattr(mod, name) if boot else mod
