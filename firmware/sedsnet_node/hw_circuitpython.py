# Builds link objects from a board config on CircuitPython: busio.UART/SPI and digitalio pins by
# board name ("TX", "RFM_CS"), wrapped so the drivers see machine-style .value(v) pins and a
# plain write/readinto SPI. CircuitPython has no pin IRQs: DIO0 is left out (the driver polls).
import board
import busio
import digitalio


class CpPin:
    """digitalio pin with machine.Pin's value([v])."""

    def __init__(self, name, output, value=1):
        self.io = digitalio.DigitalInOut(getattr(board, name))
        if output:
            self.io.switch_to_output(value=bool(value))
        else:
            self.io.switch_to_input()

    def value(self, v=None):
        if v is None:
            return 1 if self.io.value else 0
        self.io.value = bool(v)
        return None


class CpSpi:
    """busio.SPI locked and configured around each call."""

    def __init__(self, spi, baudrate):
        self.spi = spi
        self.baudrate = baudrate

    def _lock(self):
        while not self.spi.try_lock():
            pass
        self.spi.configure(baudrate=self.baudrate, polarity=0, phase=0)

    def write(self, buf):
        self._lock()
        try:
            self.spi.write(buf)
        finally:
            self.spi.unlock()

    def readinto(self, buf, write=0):
        self._lock()
        try:
            self.spi.readinto(buf, write_value=write)
        finally:
            self.spi.unlock()


class CircuitPythonHw:
    def pin(self, ident):
        return ident

    def pin_out(self, ident, value=1):
        return CpPin(ident, True, value)

    def pin_in(self, ident):
        return None  # no pin IRQs on CircuitPython: drivers poll instead

    def uart(self, cfg):
        return busio.UART(getattr(board, cfg.get("tx", "TX")), getattr(board, cfg.get("rx", "RX")),
                          baudrate=cfg.get("baud", 115200), timeout=0,
                          receiver_buffer_size=cfg.get("rxbuf", 1024))

    def spi(self, cfg):
        spi = busio.SPI(getattr(board, cfg.get("sck", "SCK")), MOSI=getattr(board, cfg.get("mosi", "MOSI")),
                        MISO=getattr(board, cfg.get("miso", "MISO")))
        return CpSpi(spi, cfg.get("spi_baud", 5000000))

    def wdt(self, timeout_ms):
        try:
            import microcontroller
            from watchdog import WatchDogMode
        except ImportError:
            return None
        w = microcontroller.watchdog
        w.timeout = timeout_ms / 1000
        w.mode = WatchDogMode.RESET
        return w

    def unique_id(self):
        try:
            import microcontroller
            return microcontroller.cpu.uid
        except (ImportError, AttributeError):
            return b""
