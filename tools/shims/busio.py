# CircuitPython `busio` for the virtual board: UART over the same host links as machine.UART
# (board.TX/RX -> link UART0), SPI with try_lock/configure in front of the machine SPI shim.
import machine
import vlink


class UART:
    def __init__(self, tx=None, rx=None, baudrate=9600, timeout=1, receiver_buffer_size=64, **kw):
        self.baudrate = baudrate
        self.timeout = timeout
        # CircuitPython keeps the receive ring in the GC heap (ringbuf_alloc): the port's
        # buffer is that ring
        self._port = vlink.SocketPort("UART0", receiver_buffer_size)

    @property
    def in_waiting(self):
        return self._port.any()

    def read(self, n=None):
        return self._port.read(-1 if n is None else n)

    def readinto(self, buf):
        return self._port.readinto(buf)

    def write(self, data):
        return self._port.write(data)

    def reset_input_buffer(self):
        while self._port.read(4096):
            pass

    def deinit(self):
        self._port.close()


class SPI:
    def __init__(self, clock, MOSI=None, MISO=None, **kw):
        self._spi = machine.SPI(0)
        self._locked = False

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def configure(self, baudrate=100000, polarity=0, phase=0, bits=8):
        pass

    def write(self, buf, start=0, end=None):
        self._spi.write(memoryview(buf)[start:end if end is not None else len(buf)])

    def readinto(self, buf, start=0, end=None, write_value=0):
        self._spi.readinto(memoryview(buf)[start:end if end is not None else len(buf)], write_value)

    def deinit(self):
        pass
