# sedsnet node for the Raspberry Pi Pico (RP2040): serial radio on UART0 (GP0 TX, GP1 RX), RFM95 LoRa on SPI0
# (GP18 SCK, GP19 MOSI, GP16 MISO, GP17 CS, GP20 RESET, GP21 DIO0). Settings: config.json.
import micropython

micropython.alloc_emergency_exception_buf(100)

import machine  # noqa: E402

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_machine import MachineHw  # noqa: E402

node = boot(MachineHw(machine), "config.json")
del boot, MachineHw  # the builder is not needed while routing: its RAM goes back to the heap
node.run_forever()
