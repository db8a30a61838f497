# unix: the parts this board runs. `make deploy BOARD=unix` copies exactly these (as .mpy);
# `make firmware BOARD=unix` freezes them (FROZEN_MANIFEST=this file), with the port's own.
# main.py, config.json and schema.json stay on the filesystem: settings change without a rebuild.
include("$(PORT_DIR)/variants/standard/manifest.py")
include("../../packages/sedsnet/manifest.py")
include("../../packages/sedsnet-viper/manifest.py")
include("../../packages/sedsnet-discovery/manifest.py")
include("../../packages/sedsnet-timesync/manifest.py")
include("../../packages/sedsnet-node/manifest.py")
include("../../packages/sedsnet-node-machine/manifest.py")
include("../../packages/sedsnet-node-uart/manifest.py")
include("../../packages/sedsnet-node-sx127x/manifest.py")
include("../../packages/sedsnet-node-nrf24/manifest.py")
include("../../packages/sedsnet-node-simsensors/manifest.py")
