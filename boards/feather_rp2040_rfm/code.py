# sedsnet node for the Adafruit Feather RP2040 RFM (CircuitPython): serial radio on the TX/RX
# pins, the on-board RFM95 on SPI (RFM_CS, RFM_RST; no pin IRQs in CircuitPython, so the driver
# polls). CircuitPython cannot load MicroPython .mpy files: lib/ holds .py sources, and the codec
# uses its pure-Python kernels (no viper). Settings: config.json.
try:
    import micropython

    micropython.alloc_emergency_exception_buf(100)
except (ImportError, AttributeError):  # stock CircuitPython has neither
    pass

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_circuitpython import CircuitPythonHw  # noqa: E402

node = boot(CircuitPythonHw(), "config.json")
del boot, CircuitPythonHw  # the builder is not needed while routing
node.run_forever()
