# CircuitPython does not use MicroPython manifests; this lists what tools/deploy.py copies (as .py
# sources) so the board's contents are declared in one place, like the MicroPython boards.
metadata(version="0.1.0", description="sedsnet telemetry node for the Feather RP2040 RFM")
package("sedsnet", base_path="../../lib")
for _m in ("app", "cobs", "hw_circuitpython", "link", "mainloop", "simsensors", "sx127x", "uart_link"):
    module(_m + ".py", base_path="../../firmware")
