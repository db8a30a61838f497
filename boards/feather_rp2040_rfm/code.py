# sedsnet node for the Adafruit Feather RP2040 RFM (CircuitPython): serial radio on the TX/RX
# pins, the on-board RFM95 on SPI (RFM_CS, RFM_RST; no pin IRQs in CircuitPython, so the driver
# polls). CircuitPython cannot load MicroPython .mpy files: lib/ holds .py sources, and the codec
# uses its pure-Python kernels (no viper). Settings: config.json.
try:
    import micropython

    micropython.alloc_emergency_exception_buf(100)
except (ImportError, AttributeError):  # stock CircuitPython has neither
    pass

from sedsnet_node import preload  # noqa: E402

# Every module this node runs, dependencies first (CircuitPython compiles each .py in the heap
# the node then runs in: host_tests/test_circuitpython_heap.py). Imported one by one, each
# compiles next to finished code only; left to the imports themselves, the library's .py
# compile peaks and fragments the heap into holes too small for the next module (code.py then
# needed more than 176 KB free; in this order it runs with 160 KB).
preload(("sedsnet.compat", "sedsnet.errors", "sedsnet.schema", "sedsnet._pure",
         "sedsnet._pure_frame", "sedsnet.kernels", "sedsnet.wire", "sedsnet.wire_parse",
         "sedsnet.ids", "sedsnet.recent", "sedsnet.ring", "sedsnet.isr", "sedsnet.routes",
         "sedsnet.queues", "sedsnet.engine", "sedsnet.node", "sedsnet.router_log",
         "sedsnet.router", "sedsnet.announce_codec", "sedsnet.announce_table",
         "sedsnet.rule_calls", "sedsnet.announce", "sedsnet.linkload", "sedsnet.schema_wire",
         "sedsnet.control", "sedsnet.identity",
         "sedsnet.sdt_codec", "sedsnet.sdt", "sedsnet.typed_log",
         "sedsnet_node.link", "sedsnet_node.cobs", "sedsnet_node.uart_link",
         "sedsnet_node.radio_queue",
         "sedsnet_node.sx127x", "sedsnet_node.simsensors", "sedsnet_node.mainloop",
         "sedsnet_node.config", "sedsnet_node.app", "sedsnet_node.hw_circuitpython"))

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_circuitpython import CircuitPythonHw  # noqa: E402

node = boot(CircuitPythonHw(), "config.json")
del boot, CircuitPythonHw, preload  # the builder is not needed while routing
node.run_forever()
