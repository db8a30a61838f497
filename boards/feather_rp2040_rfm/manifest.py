# CircuitPython does not use MicroPython manifests; this declares what the board needs, like the
# MicroPython boards (tools/deploy.py copies the .py sources of the whole build onto CIRCUITPY).
metadata(version="0.1.0", description="sedsnet telemetry node for the Feather RP2040 RFM")
package("sedsnet", base_path="../../lib")
for _m in ("app", "cobs", "hw_circuitpython", "link", "mainloop", "nrf24l01", "simsensors",
           "sx127x", "uart_link"):
    module(_m + ".py", base_path="../../firmware")
