# MicroPython peer for the harness smoke test: echoes every link frame back and answers "ping"
# with its runtime name.
import sys

import stdio_link


def _ping(cmd):
    return {"impl": sys.implementation.name}


stdio_link.serve({"ping": _ping}, on_frame=stdio_link.send_frame)
