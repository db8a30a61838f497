# Builds link objects from a board config on MicroPython ports (rp2, esp32, stm32, unix shims):
# machine.UART/SPI/Pin with the config's pin numbers or names, never blocking reads (timeout=0).


class MachineHw:
    def __init__(self, machine):
        self.machine = machine

    def pin(self, ident):
        """machine.Pin accepts ints (rp2, esp32) and names ("X5" on pyboard, "LED" on Pico)."""
        return ident

    def pin_out(self, ident, value=1):
        P = self.machine.Pin
        return P(ident, P.OUT, value=value)

    def pin_in(self, ident):
        P = self.machine.Pin
        return P(ident, P.IN)

    def uart(self, cfg):
        m = self.machine
        kw = {"baudrate": cfg.get("baud", 115200), "timeout": 0}
        if "tx" in cfg:
            kw["tx"] = m.Pin(cfg["tx"])
        if "rx" in cfg:
            kw["rx"] = m.Pin(cfg["rx"])
        if "rxbuf" in cfg:  # rp2/esp32 call it rxbuf; stm32 read_buf_len
            kw[cfg.get("rxbuf_arg", "rxbuf")] = cfg["rxbuf"]
        kw.update(cfg.get("extra", {}))
        return m.UART(cfg.get("id", 0), **kw)

    def spi(self, cfg):
        m = self.machine
        kw = {"baudrate": cfg.get("spi_baud", 5000000), "polarity": 0, "phase": 0}
        for k in ("sck", "mosi", "miso"):
            if k in cfg:
                kw[k] = m.Pin(cfg[k])
        return m.SPI(cfg.get("spi", 0), **kw)

    def wdt(self, timeout_ms):
        WDT = getattr(self.machine, "WDT", None)
        return WDT(timeout=timeout_ms) if WDT is not None else None

    def unique_id(self):
        f = getattr(self.machine, "unique_id", None)
        return f() if f is not None else b""
