# sedsnet node for the Pyboard (STM32F4): serial radio on UART1 (X9 TX, X10 RX), RFM95 on SPI1 (X6 SCK, X8 MOSI,
# X7 MISO) with X5 CS, X4 RESET, X3 DIO0. Settings: config.json.
import micropython

micropython.alloc_emergency_exception_buf(100)

import machine  # noqa: E402

from sedsnet_node.app import boot  # noqa: E402
from sedsnet_node.hw_machine import MachineHw  # noqa: E402

node = boot(MachineHw(machine), "config.json")
del boot, MachineHw  # the builder is not needed while routing: its RAM goes back to the heap
node.run_forever()
