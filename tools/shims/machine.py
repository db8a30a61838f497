# machine module for the Unix port on the virtual board (tools/shims is on its path, never on a
# real board): Pin, UART over host links (vlink), SPI with an SX127x register simulator behind
# it (wired from the board's config.json), WDT, unique_id, reset/soft_reset, freq, idle.
import json
import os
import time

import vlink

_RESET = 113        # SystemExit codes the virtual board's agent turns into resets
_SOFT_RESET = 114

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_pins = {}
_watch = {}   # pin id -> callable(level): a simulator watching a pin (SPI chip select)
_hooks = []   # called from idle()/WDT.feed(): pump simulated radios
_freq = 125000000


def _service():
    for h in _hooks:
        h()


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, ident, mode=-1, pull=-1, value=None, **kw):
        self.id = ident
        self.mode = mode
        self._v = 0 if value is None else (1 if value else 0)
        self._handler = None
        _pins[ident] = self  # the newest object for an id receives simulated edges

    def init(self, mode=-1, pull=-1, value=None, **kw):
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        old = self._v
        self._v = v
        w = _watch.get(self.id)
        if w is not None and v != old:
            w(v)
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(1 - self._v)

    def irq(self, handler=None, trigger=IRQ_RISING, hard=False):
        self._handler = handler

    def fire(self):
        """Rising edge driven by a simulator (DIO0)."""
        self._v = 1
        if self._handler is not None:
            self._handler(self)
        self._v = 0

    def __repr__(self):
        return "Pin(%r)" % (self.id,)


class Signal:
    def __init__(self, pin, invert=False):
        self.pin = pin
        self.invert = invert

    def value(self, v=None):
        if v is None:
            return self.pin.value() ^ self.invert
        self.pin.value((1 if v else 0) ^ self.invert)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class UART:
    """UART(id, baudrate, ...) on a host link named UART<id> (env VBOARD_UART<id>)."""

    INV_TX = 1
    INV_RX = 2
    RTS = 4
    CTS = 8
    IRQ_RX = 1
    IRQ_RXIDLE = 2

    def __init__(self, ident, baudrate=115200, rxbuf=4096, **kw):
        self.id = ident
        self.baudrate = baudrate
        self._port = vlink.SocketPort("UART%s" % ident, rxbuf)  # (rxbuf: its receive ring)

    def init(self, baudrate=115200, **kw):
        self.baudrate = baudrate

    def deinit(self):
        self._port.close()

    def any(self):
        return self._port.any()

    def read(self, n=-1):
        return self._port.read(n)

    def readinto(self, buf, n=None):
        return self._port.readinto(buf, n)

    def write(self, data):
        return self._port.write(data)

    def irq(self, handler=None, trigger=0, hard=False):
        return None

    def flush(self):
        pass

    def txdone(self):
        return True


def _board_side_on_spi(ident):
    try:
        with open("config.json") as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        return None
    for side in cfg.get("sides", ()):
        if side.get("type") in ("sx127x", "nrf24") and side.get("spi", 0) == ident:
            return side
    return None


def _air(sim_mod=None):
    """VBOARD_AIR = "udp:LISTEN_PORT:PEER_PORT[,PEER_PORT...]" or an in-process air."""
    if sim_mod is None:
        import sx127x_sim as sim_mod
    spec = os.getenv("VBOARD_AIR")
    if spec:
        _, listen, peers = spec.split(":")
        return sim_mod.UdpAir(int(listen), [int(p) for p in peers.split(",") if p])
    return sim_mod.Air()


class SPI:
    """SPI bus; if the board config puts an SX127x on this bus, a register simulator answers."""

    MSB = 0
    LSB = 1

    def __init__(self, ident, baudrate=1000000, **kw):
        self.id = ident
        self.sim = None
        side = _board_side_on_spi(ident)
        if side is not None and side["type"] == "nrf24":  # an nRF24L01: tools/shims/nrf24_sim.py
            import nrf24_sim
            sim = self.sim = nrf24_sim.NRF24Sim(_air(nrf24_sim), side.get("name", "NRF24"))
            _watch[side.get("cs")] = lambda v: sim.deselect() if v else sim.select()
            _watch[side.get("ce")] = sim.set_ce
            irq = side.get("irq")
            sim.on_irq = lambda: _pins[irq].fire() if irq in _pins else None
            _hooks.append(sim.air.poll)
        elif side is not None:
            import sx127x_sim
            sim = sx127x_sim.SX127xSim(_air(), side.get("name", "LORA"))
            self.sim = sim
            _watch[side.get("cs")] = lambda v: sim.deselect() if v else sim.select()
            if "dio0" in side:
                dio0 = side["dio0"]
                sim.on_dio0 = lambda: _pins[dio0].fire() if dio0 in _pins else None
            if sim.air is not None:
                _hooks.append(sim.air.poll)

    def init(self, baudrate=1000000, **kw):
        pass

    def deinit(self):
        pass

    def write(self, buf):
        if self.sim is not None:
            x = self.sim.xfer
            for b in buf:
                x(b)

    def read(self, n, write=0x00):
        buf = bytearray(n)
        self.readinto(buf, write)
        return bytes(buf)

    def readinto(self, buf, write=0x00):
        x = self.sim.xfer if self.sim is not None else (lambda b: 0xFF)
        for i in range(len(buf)):
            buf[i] = x(write)

    def write_readinto(self, wbuf, rbuf):
        x = self.sim.xfer if self.sim is not None else (lambda b: 0xFF)
        for i in range(len(wbuf)):
            rbuf[i] = x(wbuf[i])


class SoftSPI(SPI):
    pass


class WDT:
    """Counts feeds (the virtual board cannot hang for real); feeding also pumps the air."""

    feeds = 0

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout

    def feed(self):
        WDT.feeds += 1
        _service()


def unique_id():
    uid = os.getenv("VBOARD_UID") or "vboard"
    return (uid.encode() + b"\x00" * 8)[:8]


def reset():
    raise SystemExit(_RESET)


def soft_reset():
    raise SystemExit(_SOFT_RESET)


def bootloader(*args):
    reset()


def reset_cause():
    return int(os.getenv("VBOARD_RESET_CAUSE") or PWRON_RESET)


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz


def idle():
    _service()
    time.sleep_ms(1)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def lightsleep(ms=0):
    time.sleep_ms(ms)


deepsleep = lightsleep
