# sedsnet node for the The virtual board (tools/vboard.py): the Unix port with tools/shims for machine; UART0 is a
# host pty, the LoRa radio a register-level simulator. Settings: config.json.
import micropython

micropython.alloc_emergency_exception_buf(100)

import machine  # noqa: E402

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_machine import MachineHw  # noqa: E402

node = boot(MachineHw(machine), "config.json")
del boot, MachineHw  # the builder is not needed while routing: its RAM goes back to the heap
node.run_forever()
