# Register-level nRF24L01(+) simulator for host tests and the virtual board, as sx127x_sim.py is
# for the SX127x: SPI commands framed by chip select (STATUS shifted out first), registers,
# 3-deep RX/TX FIFOs with dynamic payload length, CE edges, the active-low IRQ, auto-ACK with
# retransmits (MAX_RT when nobody acks), and an "air" (in-process or UDP) between radios on the
# same channel, data rate and address. Host-only (tools/shims); CPython and MicroPython Unix.
import sx127x_sim  # its Air and UdpAir, with this radio's delivery and header

_CONFIG = 0x00
_EN_AA = 0x01
_SETUP_RETR = 0x04
_RF_CH = 0x05
_RF_SETUP = 0x06
_STATUS = 0x07
_RX_ADDR_P0 = 0x0A
_TX_ADDR = 0x10
_FIFO_STATUS = 0x17
_FEATURE = 0x1D
_WIDE = (_RX_ADDR_P0, 0x0B, _TX_ADDR)  # 5-byte registers


class NRF24Sim(sx127x_sim.SimRadio):
    """One simulated radio. Counters: tx_packets, rx_packets, missed (not listening / FIFO
    full / other settings), acked (auto-ACKed transmissions)."""

    def __init__(self, air=None, name="radio", present=True):
        self.name = name
        self.regs = bytearray(0x20)
        self.wide = {r: bytearray(b"\xe7" * 5) for r in _WIDE}
        self.regs[_CONFIG] = 0x08
        self.regs[0x03] = 0x03 if present else 0x00
        self.present = present
        self.rx_fifo = []
        self.tx_fifo = []
        self.inbox = []  # payloads on the air towards us while the RX FIFO was full
        self.ce = 0
        self.on_irq = None  # callable(level) on IRQ pin changes (active low)
        self.selected = False
        self._cmd = None
        self._pos = 0
        self._buf = None
        self.acked = 0
        self._join(air)

    # -- bus side --------------------------------------------------------------------------
    def select(self):
        self._select()
        while self.inbox and len(self.rx_fifo) < 3:  # payloads that waited for FIFO room
            self._take(self.inbox.pop(0))
        self._cmd = None

    def deselect(self):
        if self.selected and self._cmd is not None and self._cmd & 0xEF == 0xA0 \
                and self._buf is not None:
            if len(self.tx_fifo) < 3 and 0 < len(self._buf) <= 32:
                self.tx_fifo.append(bytes(self._buf))
            self._buf = None
        self.selected = False
        self._cmd = None

    def xfer(self, b):
        if not self.selected or not self.present:
            return 0xFF if not self.present else 0
        if self._cmd is None:
            self._cmd = b
            self._pos = 0
            self._command(b)
            return self.status()
        cmd = self._cmd
        pos = self._pos
        self._pos += 1
        if cmd < 0x20:  # R_REGISTER
            reg = cmd & 0x1F
            if reg in self.wide:
                return self.wide[reg][pos] if pos < 5 else 0
            return self._reg(reg)
        if cmd < 0x40:  # W_REGISTER
            self._write(cmd & 0x1F, pos, b)
            return 0
        if cmd == 0x60:  # R_RX_PL_WID
            return len(self.rx_fifo[0]) if self.rx_fifo else 0
        if cmd == 0x61:  # R_RX_PAYLOAD
            if not self.rx_fifo:
                return 0
            p = self.rx_fifo[0]
            out = p[pos] if pos < len(p) else 0
            if pos == len(p) - 1:
                self.rx_fifo.pop(0)
            return out
        if cmd in (0xA0, 0xB0):  # W_TX_PAYLOAD (NOACK)
            self._buf.append(b)
            return 0
        return 0

    def _command(self, cmd):
        if cmd in (0xA0, 0xB0):
            self._buf = bytearray()
        elif cmd == 0xE1:
            self.tx_fifo = []
        elif cmd == 0xE2:
            self.rx_fifo = []

    def status(self):
        s = self.regs[_STATUS] & 0x70
        s |= 0x0E if not self.rx_fifo else 0x00  # RX_P_NO: 7 = empty, else pipe 0
        if len(self.tx_fifo) >= 3:
            s |= 0x01
        return s

    def _reg(self, reg):
        if reg == _STATUS:
            return self.status()
        if reg == _FIFO_STATUS:
            v = 0x01 if not self.rx_fifo else (0x02 if len(self.rx_fifo) >= 3 else 0)
            v |= 0x10 if not self.tx_fifo else (0x20 if len(self.tx_fifo) >= 3 else 0)
            return v
        return self.regs[reg]

    def _write(self, reg, pos, b):
        if reg in self.wide:
            if pos < 5:
                self.wide[reg][pos] = b
            return
        if pos:
            return
        if reg == _STATUS:
            self.regs[_STATUS] &= ~(b & 0x70) & 0xFF  # write-one-to-clear
            self._irq_line()
        elif reg != _FIFO_STATUS:
            self.regs[reg] = b

    # -- CE and the air --------------------------------------------------------------------
    def set_ce(self, v):
        rising = v and not self.ce
        self.ce = 1 if v else 0
        if rising and self.powered and not self.regs[_CONFIG] & 0x01:
            while self.tx_fifo:
                self._transmit(self.tx_fifo.pop(0))
                if self.regs[_STATUS] & 0x10:  # MAX_RT stops the FIFO until cleared
                    break

    @property
    def powered(self):
        return bool(self.regs[_CONFIG] & 0x02)

    @property
    def listening(self):
        return self.powered and self.regs[_CONFIG] & 0x01 and self.ce

    def settings(self):
        r = self.regs
        return bytes((r[_RF_CH], r[_RF_SETUP] & 0x28)) + bytes(self.wide[_TX_ADDR])

    def _rx_settings(self):
        r = self.regs
        return bytes((r[_RF_CH], r[_RF_SETUP] & 0x28)) + bytes(self.wide[_RX_ADDR_P0])

    def _transmit(self, payload):
        self.tx_packets += 1
        want_ack = self.regs[_EN_AA] & 0x01
        tries = 1 + (self.regs[_SETUP_RETR] & 0x0F if want_ack else 0)
        ok = False
        for _ in range(tries):
            got = self.air.transmit(self, self.settings(), payload) if self.air else False
            if not want_ack or got:
                ok = True
                break
        if want_ack and ok:
            self.acked += 1
        self.regs[_STATUS] |= 0x20 if ok else 0x10
        self._irq_line()

    def deliver(self, settings, payload):
        """A payload on the air: taken if listening with the same settings. The sim sends
        instantly, so a payload that finds the RX FIFO full waits (as if still in the air)
        until the driver next selects the chip; more than 32 waiting are lost."""
        if not (self.listening and settings == self._rx_settings()):
            self.missed += 1
            return False
        if len(self.rx_fifo) < 3:
            self._take(bytes(payload))
        elif len(self.inbox) < 32:
            self.inbox.append(bytes(payload))
        else:
            self.missed += 1
            return False
        return True

    def _take(self, payload):
        self.rx_fifo.append(payload)
        self.rx_packets += 1
        self.regs[_STATUS] |= 0x40
        self._irq_line()

    def _irq_line(self):
        mask = ~self.regs[_CONFIG] & 0x70  # CONFIG MASK_* bits hide sources from the pin
        if self.on_irq is not None and self.regs[_STATUS] & mask:
            self.on_irq()


class SimCE:
    """machine.Pin-like CE line of a simulator."""

    def __init__(self, sim):
        self.sim = sim
        self._v = 0

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = 1 if v else 0
        self.sim.set_ce(self._v)
        return None


class IrqPin:
    """The radio's IRQ line as the driver sees a machine.Pin: irq(handler) to arm, fired by
    the sim on an IRQ (active low, so the driver asks for IRQ_FALLING)."""
    IRQ_FALLING = 2

    def __init__(self, sim):
        self.handler = None
        sim.on_irq = self._fire

    def irq(self, handler=None, trigger=2):
        self.handler = handler

    def _fire(self):
        if self.handler is not None:
            self.handler(self)


class Air(sx127x_sim.Air):
    """In-process 2.4 GHz medium (sx127x_sim's): fault(payload) may return "drop" per payload
    (a dropped payload is not ACKed either); the chip's CRC hides a "corrupt" one's damage, so
    it arrives intact."""

    def deliver(self, radio, settings, payload, verdict):
        return radio.deliver(settings, payload)


class UdpAir(sx127x_sim.UdpAir):
    """Loopback UDP medium for separate processes (sx127x_sim's): datagram = 7 settings bytes
    + payload. A datagram cannot be ACKed, so auto-ACK transmissions count as ACKed."""

    HEADER = 7
    MIN = 8  # an nRF24 payload has at least one byte
    MAX = 64

    def ready(self, radio):
        return len(radio.rx_fifo) < 3  # the RX FIFO holds 3 payloads
