# A router side over an SX1276/77/78/79 LoRa radio (RFM95/96/98 modules) on SPI: one SEDSnet frame
# per LoRa packet (255-byte FIFO limit, explicit header, payload CRC on). The DIO0 IRQ only sets a
# flag; poll() does the SPI work, reusing preallocated buffers. RSSI/SNR of the last packet are in
# stats(). Register map: Semtech SX1276/77/78/79 datasheet, section 6.4 (LoRa mode), with the
# fixes of the SX1276/77/78/79 errata note (section 2.1: 500 kHz sensitivity; 2.3: spurious
# reception below 500 kHz), as Semtech's LoRaMac-node applies them.
#
# Hand-written rather than micropython-lib's lora-sx127x: that driver is an async-capable modem
# (lora + lora-sx127x packages, a new RxPacket whenever the length changes, machine.Pin) for
# MicroPython only; a router side here must also run on CircuitPython (busio/digitalio pins),
# take injectable sleep/ticks for the host simulator, receive into one preallocated buffer and
# keep a bounded TX queue of preallocated slots. Of the errata it applies only DETECT_OPTIMIZE
# bit 7 (cleared whatever the bandwidth) and 2.1; this one applies 2.3 in full (IF registers and
# the RX frequency offset below 62.5 kHz) and keeps bit 7 set at 500 kHz, as the note says.
from .radio_queue import RadioQueue

from sedsnet.compat import const

_REG_FIFO = const(0x00)
_REG_OP_MODE = const(0x01)
_REG_FRF_MSB = const(0x06)
_REG_PA_CONFIG = const(0x09)
_REG_OCP = const(0x0B)
_REG_LNA = const(0x0C)
_REG_FIFO_ADDR_PTR = const(0x0D)
_REG_FIFO_TX_BASE = const(0x0E)
_REG_FIFO_RX_BASE = const(0x0F)
_REG_FIFO_RX_CURRENT = const(0x10)
_REG_IRQ_FLAGS = const(0x12)
_REG_RX_NB_BYTES = const(0x13)
_REG_PKT_SNR = const(0x19)
_REG_PKT_RSSI = const(0x1A)
_REG_MODEM_CONFIG1 = const(0x1D)
_REG_MODEM_CONFIG2 = const(0x1E)
_REG_PREAMBLE_MSB = const(0x20)
_REG_PAYLOAD_LENGTH = const(0x22)
_REG_MAX_PAYLOAD = const(0x23)
_REG_MODEM_CONFIG3 = const(0x26)
_REG_IF_FREQ1 = const(0x2F)  # errata 2.3 (LoRaMac-node's REG_LR_IFFREQ1)
_REG_IF_FREQ2 = const(0x30)
_REG_DETECT_OPTIMIZE = const(0x31)
_REG_HIGH_BW_OPT1 = const(0x36)  # errata 2.1
_REG_HIGH_BW_OPT2 = const(0x3A)
_REG_DETECT_THRESHOLD = const(0x37)
_REG_SYNC_WORD = const(0x39)
_REG_DIO_MAPPING1 = const(0x40)
_REG_VERSION = const(0x42)
_REG_PA_DAC = const(0x4D)

_LONG_RANGE = const(0x80)
_MODE_SLEEP = const(0x00)
_MODE_STDBY = const(0x01)
_MODE_TX = const(0x03)
_MODE_RX_CONT = const(0x05)

_IRQ_RX_DONE = const(0x40)
_IRQ_CRC_ERR = const(0x20)
_IRQ_TX_DONE = const(0x08)

_DIO0_RX_DONE = const(0x00)
_DIO0_TX_DONE = const(0x40)

_VERSION = const(0x12)
_FIFO_SIZE = const(256)
MTU = const(255)  # one LoRa packet; larger SEDSnet frames need the chunking side profile
_TX_TIMEOUT_MS = const(5000)
_TX_STEP = const(16)  # FIFO writes rounded up to 16 bytes (RegPayloadLength is the length)

_BANDWIDTHS = (7800, 10400, 15600, 20800, 31250, 41700, 62500, 125000, 250000, 500000)
# errata 2.3, per bandwidth below 500 kHz: RegIfFreq1, and how far (Hz) the receiver is tuned
# above the channel while the automatic IF is off (the transmitter stays on the channel)
_IF_FREQ1 = (0x48, 0x44, 0x44, 0x44, 0x44, 0x44, 0x40, 0x40, 0x40)
_RX_OFFSET_HZ = (7810, 10420, 15620, 20830, 31250, 41670, 0, 0, 0)
_DETECT_SF7_12 = const(0x03)  # DetectionOptimize for SF7..12; bits 6-3 keep their reset 0x40
_AUTOMATIC_IF = const(0x80)
_DEBUG = const(False)


class RadioError(OSError):
    """The radio did not answer as an SX127x (wiring, reset or chip-select problem)."""


class SX127x(RadioQueue):
    """LoRa link side. spi: machine.SPI-like (write, readinto); cs, reset: output pins with
    .value(v); dio0: optional input pin with .irq(). Radio settings are keyword arguments, as in
    a board config: freq_hz, sf (7-12), bw_hz, cr (5-8 for 4/5..4/8), tx_power (2-20 dBm,
    PA_BOOST as on RFM9x), preamble, sync_word, tx_queue (frames buffered while transmitting).
    """

    def __init__(self, spi, cs, reset=None, dio0=None, name="LORA", freq_hz=915000000, sf=7,
                 bw_hz=125000, cr=5, tx_power=17, preamble=8, sync_word=0x12, tx_queue=2,
                 sleep_ms=None, ticks_ms=None, ticks_diff=None):
        RadioQueue.__init__(self, name, MTU, tx_queue, _TX_STEP, dio0, sleep_ms, ticks_ms,
                            ticks_diff)
        self.spi = spi
        self.cs = cs
        self.reset_pin = reset
        self.dio0 = dio0
        self.freq_hz = freq_hz
        self.sf = sf
        self.bw_hz = bw_hz
        self.cr = cr
        self.tx_power = tx_power
        self.preamble = preamble
        self.sync_word = sync_word
        self.rssi = 0        # dBm of the last packet
        self.snr_q = 0       # SNR of the last packet in quarter dB
        self.tx_timeouts = 0
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        self._lf = freq_hz < 525000000  # the low-frequency port has its own RSSI offset
        self._frf_tx = 0  # the channel's Frf, and the receiver's (errata 2.3 offset): init()
        self._frf_rx = 0
        self._frf = -1  # what the chip holds now

    # -- SPI register access (no allocation) -----------------------------------------------
    def _read(self, reg):
        b = self._b1
        b[0] = reg & 0x7F
        self.cs.value(0)
        try:
            self.spi.write(b)
            self.spi.readinto(b)
        finally:
            self.cs.value(1)
        return b[0]

    def _write(self, reg, value):
        b = self._b2
        b[0] = reg | 0x80
        b[1] = value
        self.cs.value(0)
        try:
            self.spi.write(b)
        finally:
            self.cs.value(1)

    def _burst(self, reg, buf, write):
        b = self._b1
        b[0] = (reg | 0x80) if write else reg
        self.cs.value(0)
        try:
            self.spi.write(b)
            if write:
                self.spi.write(buf)
            else:
                self.spi.readinto(buf)
        finally:
            self.cs.value(1)

    def _mode(self, mode):
        self._write(_REG_OP_MODE, _LONG_RANGE | mode)

    # -- setup -----------------------------------------------------------------------------
    def init(self):
        """Reset, check the chip, apply the radio settings and start receiving."""
        if self.sf < 7 or self.sf > 12:
            raise ValueError("%s: sf must be 7..12 (SF6 needs implicit headers)" % self.name)
        if self.bw_hz not in _BANDWIDTHS:
            raise ValueError("%s: bw_hz must be one of %r" % (self.name, _BANDWIDTHS))
        if self.cr < 5 or self.cr > 8:
            raise ValueError("%s: cr must be 5..8 (coding rate 4/5..4/8)" % self.name)
        if self.reset_pin is not None:
            self.reset_pin.value(0)
            self._sleep_ms(1)
            self.reset_pin.value(1)
            self._sleep_ms(6)
        self.cs.value(1)
        version = self._read(_REG_VERSION)
        if version != _VERSION:
            raise RadioError("%s: no SX127x on SPI (version 0x%02x, want 0x12)" % (self.name, version))
        self._write(_REG_OP_MODE, _MODE_SLEEP)  # LoRa mode can only be selected while asleep
        self._mode(_MODE_SLEEP)
        bw = _BANDWIDTHS.index(self.bw_hz)
        frf = (self.freq_hz * 16384 + 500000) // 1000000  # Frf = f * 2^19 / 32 MHz
        self._frf_tx = frf
        self._frf_rx = frf + (_RX_OFFSET_HZ[bw] * 16384 + 500000) // 1000000 if bw < 9 else frf
        self._frf = -1
        self._set_frf(frf)
        self._write(_REG_FIFO_TX_BASE, 0)
        self._write(_REG_FIFO_RX_BASE, 0)
        self._write(_REG_LNA, 0x23)  # max gain, HF LNA boost
        self._set_power(self.tx_power)
        self._write(_REG_MODEM_CONFIG1, (bw << 4) | ((self.cr - 4) << 1))  # explicit header
        self._write(_REG_MODEM_CONFIG2, (self.sf << 4) | 0x04)  # payload CRC on
        # symbols longer than 16 ms need LowDataRateOptimize; AGC auto on
        ldro = ((1 << self.sf) * 1000) // self.bw_hz > 16
        self._write(_REG_MODEM_CONFIG3, 0x04 | (0x08 if ldro else 0))
        self._errata(bw)
        self._write(_REG_DETECT_THRESHOLD, 0x0A)
        self._write(_REG_PREAMBLE_MSB, (self.preamble >> 8) & 0xFF)
        self._write(_REG_PREAMBLE_MSB + 1, self.preamble & 0xFF)
        self._write(_REG_MAX_PAYLOAD, 0xFF)
        self._write(_REG_SYNC_WORD, self.sync_word)
        self._write(_REG_IRQ_FLAGS, 0xFF)
        if self.dio0 is not None and hasattr(self.dio0, "irq"):
            self.dio0.irq(handler=self.irq_handler, trigger=_rising(self.dio0))
        self._start_rx()
        return self

    def _errata(self, bw):
        """The SX1276/77/78/79 errata note's register fixes for this bandwidth/frequency."""
        f = self.freq_hz
        if bw == 9:  # 500 kHz: 2.1 sensitivity optimisation; 2.3 keeps the automatic IF on
            self._write(_REG_DETECT_OPTIMIZE, 0x40 | _AUTOMATIC_IF | _DETECT_SF7_12)
            if 862000000 <= f <= 1020000000:
                self._write(_REG_HIGH_BW_OPT1, 0x02)
                self._write(_REG_HIGH_BW_OPT2, 0x64)
            elif 410000000 <= f <= 525000000:
                self._write(_REG_HIGH_BW_OPT1, 0x02)
                self._write(_REG_HIGH_BW_OPT2, 0x7F)
            else:
                self._write(_REG_HIGH_BW_OPT1, 0x03)
        else:  # 2.1: back to the reset value; 2.3: automatic IF off, IF set by hand
            self._write(_REG_HIGH_BW_OPT1, 0x03)
            self._write(_REG_DETECT_OPTIMIZE, 0x40 | _DETECT_SF7_12)
            self._write(_REG_IF_FREQ1, _IF_FREQ1[bw])
            self._write(_REG_IF_FREQ2, 0x00)

    def _set_frf(self, frf):
        # taken in when the chip next enters TX or RX (datasheet 4.1.4); a write only when the
        # errata offset makes RX and TX differ
        if frf != self._frf:
            self._frf = frf
            self._write(_REG_FRF_MSB, (frf >> 16) & 0xFF)
            self._write(_REG_FRF_MSB + 1, (frf >> 8) & 0xFF)
            self._write(_REG_FRF_MSB + 2, frf & 0xFF)

    def _set_power(self, dbm):
        if dbm < 2 or dbm > 20:
            raise ValueError("%s: tx_power must be 2..20 dBm (PA_BOOST)" % self.name)
        if dbm > 17:  # +20 dBm needs the high-power DAC and more over-current headroom
            self._write(_REG_PA_DAC, 0x87)
            self._write(_REG_OCP, 0x20 | 17)  # 140 mA
            self._write(_REG_PA_CONFIG, 0x80 | 0x70 | (dbm - 5))
        else:
            self._write(_REG_PA_DAC, 0x84)
            self._write(_REG_OCP, 0x20 | 11)  # 100 mA
            self._write(_REG_PA_CONFIG, 0x80 | 0x70 | (dbm - 2))

    def _start_rx(self):
        self._set_frf(self._frf_rx)
        self._write(_REG_DIO_MAPPING1, _DIO0_RX_DONE)
        self._mode(_MODE_RX_CONT)

    # -- transmit --------------------------------------------------------------------------
    def send(self, frame):
        """Router tx callback: queue one frame for the air. MtuError over 255 bytes; a full
        queue drops the frame (counted in tx_errors) rather than block the main loop."""
        if not self._put(frame, 0):
            return 0
        if not self._tx_busy:
            if self.dio0 is None or self._flag:
                self.poll()  # a packet may wait in the FIFO: deliver it before TX reuses it
            else:
                self._start_tx()
        return len(frame)

    def _start_tx(self):
        self._mode(_MODE_STDBY)
        self._set_frf(self._frf_tx)
        self._write(_REG_FIFO_ADDR_PTR, 0)
        self._burst(_REG_FIFO, self._head(), True)
        self._write(_REG_PAYLOAD_LENGTH, self._head_len())
        self._write(_REG_DIO_MAPPING1, _DIO0_TX_DONE)
        self._mode(_MODE_TX)

    def _tx_finished(self, ok):
        if not ok:
            self.tx_timeouts += 1
        RadioQueue._tx_finished(self, ok)

    # -- receive ---------------------------------------------------------------------------
    def poll(self):
        """Finish a transmission or collect a received packet; return frames delivered (0/1)."""
        if self._idle():  # DIO0 (rising edge: RxDone or TxDone) has not fired
            return 0
        flags = self._read(_REG_IRQ_FLAGS)
        got = 0
        if flags & _IRQ_RX_DONE and not self._tx_busy:
            got = self._receive(flags)  # clears the flags once the FIFO is read out
        elif flags:
            self._write(_REG_IRQ_FLAGS, flags)  # write-one-to-clear
        if self._tx_busy:
            if flags & _IRQ_TX_DONE:
                self._tx_finished(True)
            elif self._tx_late(_TX_TIMEOUT_MS):
                self._tx_finished(False)
        elif self._qcount:
            self._start_tx()
        return got

    def _receive(self, flags):
        if flags & _IRQ_CRC_ERR:
            self._write(_REG_IRQ_FLAGS, flags)
            self.rx_crc_fail += 1
            self.rx_dropped += 1
            return 0
        n = self._read(_REG_RX_NB_BYTES)
        self._write(_REG_FIFO_ADDR_PTR, self._read(_REG_FIFO_RX_CURRENT))
        frame = self._rxmv[:n]
        self._burst(_REG_FIFO, frame, False)
        # clear RxDone only now: the packet is out of the FIFO before the next may land there,
        # and before on_frame (the router may transmit, which re-enters poll)
        self._write(_REG_IRQ_FLAGS, flags)
        snr = self._read(_REG_PKT_SNR)
        self.snr_q = snr - 256 if snr > 127 else snr
        rssi = self._read(_REG_PKT_RSSI) - (164 if self._lf else 157)
        if self.snr_q < 0:
            rssi += self.snr_q // 4
        self.rssi = rssi
        if n == 0:
            self.rx_dropped += 1
            return 0
        if _DEBUG:
            print("sx127x rx", n, rssi, self.snr_q)
        self._deliver(frame)
        return 1

    def stats(self):
        d = RadioQueue.stats(self)
        d["link"] = "sx127x"
        d["rssi"] = self.rssi
        d["snr"] = self.snr_q / 4
        d["tx_timeouts"] = self.tx_timeouts
        return d

    def sleep(self):
        self._mode(_MODE_SLEEP)


def _rising(pin):
    return getattr(pin, "IRQ_RISING", 1)
