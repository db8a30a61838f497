# sedsnet node for the The virtual board (tools/vboard.py): the Unix port with tools/shims for machine; UART0 is a
# host pty, the LoRa radio a register-level simulator. Settings: config.json.
import micropython

micropython.alloc_emergency_exception_buf(100)

import machine  # noqa: E402

import app  # noqa: E402
from hw_machine import MachineHw  # noqa: E402

app.run(MachineHw(machine), "config.json")
