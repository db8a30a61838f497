# sedsnet node for the ESP32 (TTGO LoRa32-style wiring): serial radio on UART1 (GPIO17 TX, GPIO16 RX; UART0 is the
# REPL), SX1276 on SPI1 (GPIO5 SCK, 27 MOSI, 19 MISO, 18 CS, 14 RESET, 26 DIO0). Settings: config.json.
import micropython

micropython.alloc_emergency_exception_buf(100)

import machine  # noqa: E402

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_machine import MachineHw  # noqa: E402

node = boot(MachineHw(machine), "config.json")
del boot, MachineHw  # the builder is not needed while routing: its RAM goes back to the heap
node.run_forever()
