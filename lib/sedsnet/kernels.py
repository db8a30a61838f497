# The hot kernels (CRC-32, packet ID, nonce step, ID-cache search, buffer copy; the header scan
# and log packer of _fast_frame.py / _pure_frame.py), chosen once for every module: the viper
# ones of _fast.py where the runtime runs viper code (MicroPython
# with the native emitter and a .mpy of the board's arch, or its .py), else their pure-Python
# twins of _pure.py (CPython, CircuitPython, builds without viper, a _fast.mpy the firmware
# cannot load). KIND says which ("viper" or "pure"), WHY why; firmware prints both at boot.
# A library without _fast.py / _fast.mpy takes the pure path (tools/bench_router.py does).
try:
    from ._fast import copy_into, crc32_check, crc32_write, nonce_next, pid_into, recent_seen
    from ._fast_frame import hdr_scan, log_pack
    key_into = pid_into  # the duplicate-cache key is the packet ID itself
    KIND = "viper"
    WHY = "sedsnet._fast loaded"
except (ImportError, SyntaxError, ValueError, AttributeError) as e:
    from ._pure import (copy_into, crc32_check, crc32_write, key_into, nonce_next, pid_into,
                        recent_seen)
    from ._pure_frame import hdr_scan, log_pack
    KIND = "pure"
    WHY = "sedsnet._fast not usable (%s: %s)" % (type(e).__name__, e)
    # (the pure duplicate key is a CRC over the ID's fields: ids.write_dup_key)
