# Freeze sedsnet and the firmware runtime into a esp32 MicroPython build:
#   make BOARD=... FROZEN_MANIFEST=/path/to/boards/esp32/manifest.py  (in ports/<port>)
# main.py, config.json and schema.json stay on the filesystem so settings change without a rebuild.
metadata(version="0.1.0", description="sedsnet telemetry node for esp32")
include("$(PORT_DIR)/boards/manifest.py")
package("sedsnet", base_path="../../lib", opt=3)
for _m in ("app", "cobs", "hw_machine", "link", "mainloop", "nrf24l01", "simsensors", "sx127x",
           "uart_link"):
    module(_m + ".py", base_path="../../firmware", opt=3)
