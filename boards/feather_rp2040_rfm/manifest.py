# The Feather RP2040 RFM under CircuitPython: what `make deploy` copies (as .py sources)
# onto CIRCUITPY. CircuitPython does not freeze MicroPython manifests; the parts are
# the same, minus the viper kernels (no native emitter) and with CircuitPython's hw.
include("../../packages/sedsnet/manifest.py")
include("../../packages/sedsnet-discovery/manifest.py")
include("../../packages/sedsnet-timesync/manifest.py")
include("../../packages/sedsnet-node/manifest.py")
include("../../packages/sedsnet-node-circuitpython/manifest.py")
include("../../packages/sedsnet-node-uart/manifest.py")
include("../../packages/sedsnet-node-sx127x/manifest.py")
include("../../packages/sedsnet-node-nrf24/manifest.py")
include("../../packages/sedsnet-node-simsensors/manifest.py")
