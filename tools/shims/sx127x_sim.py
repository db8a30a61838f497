# Register-level SX127x (LoRa mode) simulator for host tests and the virtual board: SPI
# transactions framed by chip select, FIFO with FifoAddrPtr, IRQ flags (write-one-to-clear), DIO0,
# TX to an "air" that delivers packets to other simulated radios with matching settings.
# Host-only (tools/shims); runs under CPython and the MicroPython Unix port.

_FIFO = 0x00
_OP_MODE = 0x01
_FIFO_ADDR_PTR = 0x0D
_FIFO_TX_BASE = 0x0E
_FIFO_RX_BASE = 0x0F
_FIFO_RX_CURRENT = 0x10
_IRQ_FLAGS = 0x12
_RX_NB_BYTES = 0x13
_PKT_SNR = 0x19
_PKT_RSSI = 0x1A
_MODEM_CONFIG1 = 0x1D
_MODEM_CONFIG2 = 0x1E
_PAYLOAD_LENGTH = 0x22
_DETECT_OPTIMIZE = 0x31
_SYNC_WORD = 0x39
_DIO_MAPPING1 = 0x40
_VERSION = 0x42

_MODE_SLEEP = 0
_MODE_STDBY = 1
_MODE_TX = 3
_MODE_RX_CONT = 5
_RX_OFFSET_HZ = (7810, 10420, 15620, 20830, 31250, 41670)  # errata note 2.3, BW 7.8..41.7 kHz


class SimRadio:
    """What the register simulators share (nrf24_sim.NRF24Sim too): the packet counters, the
    bus transactions and the air they sit on, which delivers what waits at each chip select."""

    def _join(self, air):
        self.tx_packets = self.rx_packets = self.missed = self.transactions = 0
        self.air = air
        if air is not None:
            air.attach(self)

    def _select(self):
        if self.air is not None:
            self.air.poll()
        self.selected = True
        self.transactions += 1


class SX127xSim(SimRadio):
    """One simulated radio. Counters: tx_packets, rx_packets, missed (arrived while not in RX)."""

    def __init__(self, air=None, name="radio", rssi=-60, snr_q=36):
        self.name = name
        self.regs = bytearray(128)
        self.fifo = bytearray(256)
        self.regs[_OP_MODE] = 0x09
        self.regs[_VERSION] = 0x12
        self.regs[_SYNC_WORD] = 0x12
        self.regs[_DETECT_OPTIMIZE] = 0xC3  # datasheet reset value: automatic IF on
        self.regs[_PAYLOAD_LENGTH] = 1
        self.rssi = rssi      # what PktRssi reports for received packets (dBm)
        self.snr_q = snr_q    # quarter dB
        self.on_dio0 = None   # callable() fired on a DIO0 rising edge
        self.selected = False
        self._addr = None
        self._wr = False
        self._join(air)

    # -- bus side ----------------------------------------------------------------------------
    def select(self):
        self._select()
        self._addr = None

    def deselect(self):
        self.selected = False
        self._addr = None

    def xfer(self, b):
        if not self.selected:
            return 0xFF
        if self._addr is None:
            self._addr = b & 0x7F
            self._wr = bool(b & 0x80)
            return 0
        addr = self._addr
        if self._wr:
            self._write(addr, b)
            out = 0
        else:
            out = self._read(addr)
        if addr != _FIFO:
            self._addr = (addr + 1) & 0x7F
        return out

    def _read(self, addr):
        if addr == _FIFO:
            ptr = self.regs[_FIFO_ADDR_PTR]
            self.regs[_FIFO_ADDR_PTR] = (ptr + 1) & 0xFF
            return self.fifo[ptr]
        return self.regs[addr]

    def _write(self, addr, b):
        regs = self.regs
        if addr == _FIFO:
            ptr = regs[_FIFO_ADDR_PTR]
            self.fifo[ptr] = b
            regs[_FIFO_ADDR_PTR] = (ptr + 1) & 0xFF
        elif addr == _IRQ_FLAGS:
            regs[_IRQ_FLAGS] &= ~b & 0xFF
        elif addr == _VERSION:
            pass
        elif addr == _OP_MODE:
            old = regs[_OP_MODE]
            if (old ^ b) & 0x80 and old & 7 != _MODE_SLEEP:
                b = (b & 0x7F) | (old & 0x80)  # LongRangeMode only changes in sleep
            regs[_OP_MODE] = b
            if b & 0x80 and b & 7 == _MODE_TX:
                self._transmit()
        else:
            regs[addr] = b

    @property
    def mode(self):
        return self.regs[_OP_MODE] & 7

    @property
    def listening(self):
        """In RX with the last packet read out (RxDone cleared). A real chip would overwrite an
        unread packet, but only after a whole packet's airtime; the sim delivers instantly, so
        it waits for the driver instead."""
        return self.lora and self.mode == _MODE_RX_CONT and not self.regs[_IRQ_FLAGS] & 0x40

    @property
    def lora(self):
        return bool(self.regs[_OP_MODE] & 0x80)

    def settings(self):
        """The channel as the air sees it: Frf (3 bytes), BW/CR, SF, sync word. A receiver
        whose automatic IF is off (errata note 2.3, below 62.5 kHz) is tuned above the channel
        by the note's offset and hears the channel itself."""
        r = self.regs
        frf = (r[6] << 16) | (r[7] << 8) | r[8]
        bw = r[_MODEM_CONFIG1] >> 4
        if self.mode == _MODE_RX_CONT and bw < 6 and not r[_DETECT_OPTIMIZE] & 0x80:
            frf -= (_RX_OFFSET_HZ[bw] * 16384 + 500000) // 1000000
        return bytes((frf >> 16, (frf >> 8) & 0xFF, frf & 0xFF, r[_MODEM_CONFIG1],
                      r[_MODEM_CONFIG2] & 0xF0, r[_SYNC_WORD]))

    def _transmit(self):
        n = self.regs[_PAYLOAD_LENGTH]
        base = self.regs[_FIFO_TX_BASE]
        payload = bytes(self.fifo[(base + i) & 0xFF] for i in range(n))
        self.tx_packets += 1
        if self.air is not None:
            self.air.transmit(self, self.settings(), payload)
        self.regs[_IRQ_FLAGS] |= 0x08  # TxDone
        self.regs[_OP_MODE] = (self.regs[_OP_MODE] & 0xF8) | _MODE_STDBY
        if self.regs[_DIO_MAPPING1] & 0xC0 == 0x40:
            self._dio0()

    # -- air side ----------------------------------------------------------------------------
    def deliver(self, settings, payload, crc_ok=True):
        """A packet on the air: received if listening with the same settings."""
        if not (self.listening and settings == self.settings()):
            self.missed += 1
            return False
        base = self.regs[_FIFO_RX_BASE]
        for i in range(len(payload)):
            self.fifo[(base + i) & 0xFF] = payload[i]
        r = self.regs
        r[_FIFO_RX_CURRENT] = base
        r[_RX_NB_BYTES] = len(payload)
        r[_PKT_SNR] = self.snr_q & 0xFF
        r[_PKT_RSSI] = max(0, min(255, self.rssi + 157))
        r[_IRQ_FLAGS] |= 0x50 | (0 if crc_ok else 0x20)  # RxDone, ValidHeader, PayloadCrcError
        self.rx_packets += 1
        if r[_DIO_MAPPING1] & 0xC0 == 0:
            self._dio0()
        return True

    def _dio0(self):
        if self.on_dio0 is not None:
            self.on_dio0()


class SimSPI:
    """machine.SPI-like front of a simulator: write/readinto/write_readinto, byte by byte."""

    def __init__(self, sim):
        self.sim = sim

    def write(self, buf):
        x = self.sim.xfer
        for b in buf:
            x(b)

    def readinto(self, buf, write=0x00):
        x = self.sim.xfer
        for i in range(len(buf)):
            buf[i] = x(write)

    def write_readinto(self, wbuf, rbuf):
        x = self.sim.xfer
        for i in range(len(wbuf)):
            rbuf[i] = x(wbuf[i])


class SimPin:
    """machine.Pin-like: role "cs" frames SPI transactions, "dio0" takes the DIO0 IRQ."""

    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, sim=None, role=None, value=1):
        self.sim = sim
        self.role = role
        self._v = value
        self._handler = None
        if role == "dio0" and sim is not None:
            sim.on_dio0 = self._fire

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if self.role == "cs" and self.sim is not None and v != self._v:
            if v:
                self.sim.deselect()
            else:
                self.sim.select()
        self._v = v
        return None

    def irq(self, handler=None, trigger=IRQ_RISING, hard=False):
        self._handler = handler

    def _fire(self):
        if self._handler is not None:
            self._handler(self)


class Air:
    """In-process radio medium. fault(payload) may return "drop" or "corrupt" per packet.
    transmit() says whether any radio took the packet (the nRF24 sim's ACK: nrf24_sim.Air)."""

    def __init__(self, fault=None):
        self.radios = []
        self.fault = fault
        self.sent = 0

    def attach(self, radio):
        self.radios.append(radio)

    def poll(self):
        pass

    def transmit(self, src, settings, payload):
        self.sent += 1
        verdict = self.fault(payload) if self.fault else None
        if verdict == "drop":
            return False
        got = False
        for r in self.radios:
            if r is not src and self.deliver(r, settings, payload, verdict):
                got = True
        return got

    def deliver(self, radio, settings, payload, verdict):
        return radio.deliver(settings, payload, crc_ok=verdict != "corrupt")


class UdpAir:
    """Loopback UDP medium for separate processes: datagram = HEADER settings bytes + payload.
    The nRF24 simulator uses it too (nrf24_sim.UdpAir: its header, size and readiness)."""

    HEADER = 6  # SX127xSim.settings()
    MIN = 6  # shortest datagram taken (an empty payload is a packet on LoRa)
    MAX = 300

    def __init__(self, listen_port, peer_ports, host="127.0.0.1"):
        import socket
        self._s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._s.bind(socket.getaddrinfo(host, listen_port)[0][-1])
        self._s.setblocking(False)
        self._peers = [socket.getaddrinfo(host, p)[0][-1] for p in peer_ports]
        self.radios = []
        self.sent = 0

    def attach(self, radio):
        self.radios.append(radio)

    def ready(self, radio):
        """The radio can take a packet now. An SX127x: listening with the last one read out."""
        return radio.listening

    def transmit(self, src, settings, payload):
        self.sent += 1
        for p in self._peers:
            try:
                self._s.sendto(settings + payload, p)
            except OSError:
                pass
        return True  # (a datagram cannot be ACKed: an nRF24 auto-ACK send counts as ACKed)

    def poll(self):
        # datagrams wait in the socket while a radio is busy transmitting (a crude stand-in for
        # airtime: the sim transmits instantly, so "during our TX" is only a few SPI writes)
        for _ in range(8):
            for r in self.radios:  # each delivery may leave the radio busy: wait for it again
                if not self.ready(r):
                    return
            try:
                data = self._s.recv(self.MAX)
            except OSError:
                return
            if len(data) < self.MIN:
                continue
            h = self.HEADER
            for r in self.radios:
                r.deliver(data[:h], data[h:])
