# sedsnet node for the Adafruit Feather RP2040 RFM (CircuitPython): serial radio on the TX/RX
# pins, the on-board RFM95 on SPI (RFM_CS, RFM_RST; no pin IRQs in CircuitPython, so the driver
# polls). CircuitPython cannot load MicroPython .mpy files: lib/ holds .py sources, and the codec
# uses its pure-Python kernels (no viper). Settings: config.json.
try:
    import micropython

    micropython.alloc_emergency_exception_buf(100)
except (ImportError, AttributeError):  # stock CircuitPython has neither
    pass

import app  # noqa: E402
from hw_circuitpython import CircuitPythonHw  # noqa: E402

app.run(CircuitPythonHw(), "config.json")
