# CircuitPython `digitalio` for the virtual board, on top of the machine shim's Pin (so the
# SX127x simulator sees chip-select edges the same way on both runtimes).
import machine


class Direction:
    INPUT = 0
    OUTPUT = 1


class Pull:
    UP = 1
    DOWN = 2


class DriveMode:
    PUSH_PULL = 0
    OPEN_DRAIN = 1


class DigitalInOut:
    def __init__(self, pin):
        self.pin = machine._pins.get(pin) or machine.Pin(pin, machine.Pin.IN)
        self.direction = Direction.INPUT
        self.pull = None

    def switch_to_output(self, value=False, drive_mode=DriveMode.PUSH_PULL):
        self.direction = Direction.OUTPUT
        self.pin.value(1 if value else 0)

    def switch_to_input(self, pull=None):
        self.direction = Direction.INPUT
        self.pull = pull

    @property
    def value(self):
        return bool(self.pin.value())

    @value.setter
    def value(self, v):
        self.pin.value(1 if v else 0)

    def deinit(self):
        pass
