# sedsnet node for the Adafruit Feather RP2040 RFM (CircuitPython): serial radio on the TX/RX
# pins, the on-board RFM95 on SPI (RFM_CS, RFM_RST; no pin IRQs in CircuitPython, so the driver
# polls). CircuitPython cannot load MicroPython .mpy files: lib/ holds .py sources, and the codec
# uses its pure-Python kernels (no viper). Settings: config.json; its "preload" lists the
# library modules in the order they compile (host_tests/test_circuitpython_heap.py).
try:
    import micropython

    micropython.alloc_emergency_exception_buf(100)
except (ImportError, AttributeError):  # stock CircuitPython has neither
    pass
try:  # compile without line numbers: about 5 KB less code kept (tracebacks show no lines)
    micropython.opt_level(3)
except (NameError, AttributeError):
    pass

import gc  # noqa: E402

try:  # collect every 4 KB while booting, so that what stays is packed at the bottom of the heap
    gc.threshold(4096)
except AttributeError:
    pass
from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_circuitpython import CircuitPythonHw  # noqa: E402

node = boot(CircuitPythonHw(), "config.json")
del boot, CircuitPythonHw  # the builder is not needed while routing
try:
    gc.threshold(-1)  # routing: collect when the heap is full (MicroPython's default)
except AttributeError:
    pass
node.run_forever()
