# A router side over an nRF24L01(+) 2.4 GHz radio on SPI: one frame per radio payload of at most
# 32 bytes (dynamic payload length), so the side is added with a chunking side profile
# (add_side_packed_profile(max_frame_bytes=32)). Auto-ACK with retransmits, or none, as the
# config says. The IRQ pin (active low) only sets a flag; poll() does the SPI work with
# preallocated buffers. Register map: Nordic nRF24L01+ Product Specification v1.0, section 9.
from .radio_queue import RadioQueue

from sedsnet.compat import const

_R_REGISTER = const(0x00)
_W_REGISTER = const(0x20)
_R_RX_PAYLOAD = const(0x61)
_W_TX_PAYLOAD = const(0xA0)
_W_TX_PAYLOAD_NOACK = const(0xB0)
_R_RX_PL_WID = const(0x60)
_FLUSH_TX = const(0xE1)
_FLUSH_RX = const(0xE2)
_NOP = const(0xFF)

_CONFIG = const(0x00)
_EN_AA = const(0x01)
_EN_RXADDR = const(0x02)
_SETUP_AW = const(0x03)
_SETUP_RETR = const(0x04)
_RF_CH = const(0x05)
_RF_SETUP = const(0x06)
_STATUS = const(0x07)
_RX_ADDR_P0 = const(0x0A)
_TX_ADDR = const(0x10)
_FIFO_STATUS = const(0x17)
_DYNPD = const(0x1C)
_FEATURE = const(0x1D)

_EN_CRC = const(0x08)
_CRCO = const(0x04)
_PWR_UP = const(0x02)
_PRIM_RX = const(0x01)
_RX_DR = const(0x40)
_TX_DS = const(0x20)
_MAX_RT = const(0x10)
_RX_EMPTY = const(0x01)

MTU = const(32)  # one radio payload; SEDSnet frames are chunked to it by the side profile
_TX_TIMEOUT_MS = const(100)  # 15 retries x 4000 us is 60 ms; past this the chip is stuck
_RATES = {250: 0x20, 1000: 0x00, 2000: 0x08}  # kbit/s -> RF_SETUP RF_DR_LOW / RF_DR_HIGH
_POWERS = {-18: 0, -12: 1, -6: 2, 0: 3}  # dBm -> RF_SETUP RF_PWR
_DEBUG = const(False)


class RadioError(OSError):
    """The radio did not answer as an nRF24L01 (wiring, power or chip-select problem)."""


class NRF24L01(RadioQueue):
    """nRF24L01 link side. spi: machine.SPI-like (write, readinto, write_readinto); cs, ce:
    output pins with .value(v); irq: optional input pin with .irq() (active low). Settings as
    in a board config: channel (0-125), data_rate (250, 1000, 2000 kbit/s), power (-18, -12,
    -6, 0 dBm), address (5 bytes, the same on every node of the link), auto_ack (hardware
    ACKs and retransmits: one peer only), retries (0-15), retry_delay_us (250-4000),
    tx_queue (payloads buffered while transmitting)."""

    def __init__(self, spi, cs, ce, irq=None, name="NRF24", channel=76, data_rate=250,
                 power=0, address=b"SEDSN", auto_ack=False, retries=5, retry_delay_us=1500,
                 tx_queue=8, sleep_ms=None, ticks_ms=None, ticks_diff=None):
        RadioQueue.__init__(self, name, MTU, tx_queue, 1, irq, sleep_ms, ticks_ms, ticks_diff)
        self.spi = spi
        self.cs = cs
        self.ce = ce
        self.irq = irq
        self.channel = channel
        self.data_rate = data_rate
        self.power = power
        self.address = bytes(address)
        self.auto_ack = bool(auto_ack)
        self.retries = retries
        self.retry_delay_us = retry_delay_us
        self.tx_lost = 0  # auto-ACK: retransmits exhausted (MAX_RT)
        self._cmd = bytearray(1)
        self._st = bytearray(1)
        self._b1 = bytearray(1)  # one register byte: no memoryview slice per access

    # -- SPI (no allocation) ---------------------------------------------------------------
    def _command(self, cmd, buf=None, write=False):
        """One transaction: command byte (STATUS comes back), then buf written or read."""
        c = self._cmd
        c[0] = cmd
        self.cs.value(0)
        try:
            self.spi.write_readinto(c, self._st)
            if buf is not None:
                if write:
                    self.spi.write(buf)
                else:
                    self.spi.readinto(buf, _NOP)
        finally:
            self.cs.value(1)
        return self._st[0]

    def _read(self, reg):
        b = self._b1
        self._command(_R_REGISTER | reg, b)
        return b[0]

    def _write(self, reg, value):
        b = self._b1
        b[0] = value
        self._command(_W_REGISTER | reg, b, True)

    # -- setup -----------------------------------------------------------------------------
    def init(self):
        """Power up, check the chip, apply the settings and start receiving."""
        if self.data_rate not in _RATES:
            raise ValueError("%s: data_rate must be 250, 1000 or 2000 kbit/s" % self.name)
        if self.power not in _POWERS:
            raise ValueError("%s: power must be -18, -12, -6 or 0 dBm" % self.name)
        if not 0 <= self.channel <= 125:
            raise ValueError("%s: channel must be 0..125" % self.name)
        if len(self.address) != 5:
            raise ValueError("%s: address must be 5 bytes" % self.name)
        if not 0 <= self.retries <= 15 or not 250 <= self.retry_delay_us <= 4000:
            raise ValueError("%s: retries 0..15, retry_delay_us 250..4000" % self.name)
        self.ce.value(0)
        self.cs.value(1)
        self._sleep_ms(5)  # power-on reset (the chip needs 100 ms after VDD; boards wait)
        self._write(_SETUP_AW, 0x03)  # 5-byte addresses; read back to find the chip
        if self._read(_SETUP_AW) != 0x03:
            raise RadioError("%s: no nRF24L01 on SPI (SETUP_AW read back 0x%02x)"
                             % (self.name, self._read(_SETUP_AW)))
        self._write(_CONFIG, _EN_CRC | _CRCO)  # 2-byte CRC, powered down while set up
        self._write(_RF_CH, self.channel)
        self._write(_RF_SETUP, _RATES[self.data_rate] | (_POWERS[self.power] << 1))
        if self.auto_ack:
            self._write(_EN_AA, 0x01)
            self._write(_SETUP_RETR, ((self.retry_delay_us // 250 - 1) << 4) | self.retries)
        else:
            self._write(_EN_AA, 0x00)
            self._write(_SETUP_RETR, 0x00)
        self._write(_EN_RXADDR, 0x01)  # pipe 0: the link address (and the ACKs when on)
        self._command(_W_REGISTER | _RX_ADDR_P0, self.address, True)
        self._command(_W_REGISTER | _TX_ADDR, self.address, True)
        self._write(_FEATURE, 0x05)  # dynamic payload length, NOACK payloads allowed
        self._write(_DYNPD, 0x01)
        self._command(_FLUSH_TX)
        self._command(_FLUSH_RX)
        self._write(_STATUS, _RX_DR | _TX_DS | _MAX_RT)
        if self.irq is not None and hasattr(self.irq, "irq"):
            self.irq.irq(handler=self.irq_handler, trigger=getattr(self.irq, "IRQ_FALLING", 2))
        self._start_rx()
        return self

    def _start_rx(self):
        self._write(_CONFIG, _EN_CRC | _CRCO | _PWR_UP | _PRIM_RX)
        self.ce.value(1)

    # -- transmit --------------------------------------------------------------------------
    def send(self, frame):
        """Router tx callback: queue one payload (<= 32 bytes). MtuError when longer (use a
        side profile with max_frame_bytes=32); a full queue drops it (tx_errors)."""
        if not self._put(frame, 1):
            return 0
        self.poll()  # finishes a TX that is done, reads waiting payloads, starts the next TX
        return len(frame)

    def _start_tx(self):
        self.ce.value(0)
        self._write(_CONFIG, _EN_CRC | _CRCO | _PWR_UP)  # PRIM_RX off: PTX
        self._command(_W_TX_PAYLOAD if self.auto_ack else _W_TX_PAYLOAD_NOACK, self._head(),
                      True)  # dynamic payload length: the bytes clocked in (step 1: exact)
        self.ce.value(1)  # a CE pulse of >= 10 us starts the packet; low again in poll()

    def _tx_finished(self, ok):
        self.ce.value(0)
        if not ok:
            self._command(_FLUSH_TX)
            self.tx_lost += 1
        RadioQueue._tx_finished(self, ok)

    # -- receive ---------------------------------------------------------------------------
    def poll(self):
        """Finish a transmission and hand over received payloads; returns how many."""
        if self._idle():  # the IRQ (falling edge: RX_DR, TX_DS or MAX_RT) has not fired
            return 0
        status = self._command(_NOP)
        got = 0
        if status & _RX_DR or not self._read(_FIFO_STATUS) & _RX_EMPTY:
            got = self._receive()
        if self._tx_busy:
            if status & _TX_DS:
                self._write(_STATUS, _TX_DS)
                self._tx_finished(True)
            elif status & _MAX_RT:
                self._write(_STATUS, _MAX_RT)
                self._tx_finished(False)
            elif self._tx_late(_TX_TIMEOUT_MS):
                self._tx_finished(False)
        elif self._qcount:
            self._start_tx()
        return got

    def _receive(self):
        got = 0
        b = self._b1
        while True:
            self._command(_R_RX_PL_WID, b)
            n = b[0]
            if n == 0 or n > MTU:  # a corrupt width: the datasheet says flush the RX FIFO
                self._command(_FLUSH_RX)
                self.rx_dropped += 1
                break
            frame = self._rxmv[:n]
            self._command(_R_RX_PAYLOAD, frame)
            got += 1
            if _DEBUG:
                print("nrf24 rx", n)
            self._deliver(frame)
            if self._read(_FIFO_STATUS) & _RX_EMPTY:
                break
        self._write(_STATUS, _RX_DR)
        return got

    def stats(self):
        d = RadioQueue.stats(self)
        d["link"] = "nrf24l01"
        d["tx_lost"] = self.tx_lost
        return d

    def sleep(self):
        self.ce.value(0)
        self._write(_CONFIG, _EN_CRC | _CRCO)
