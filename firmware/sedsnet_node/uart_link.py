# A router side over a UART: each SEDSnet frame travels as 0x00 + COBS(frame) + 0x00, so a
# receiver resynchronises at the next 0x00 after line noise or a partial frame; the frame's own
# CRC-32 rejects corruption COBS cannot see. Reads never block and never allocate per frame.
from .cobs import CobsDecoder, encode_into, max_encoded_len
from .link import LinkStats, frame_crc_ok, too_big

from sedsnet.compat import const

_DEFAULT_MTU = const(512)
_DEFAULT_CHUNK = const(64)
_MAX_CHUNKS_PER_POLL = const(16)  # bounded work per poll; the UART's rxbuf holds the rest


class UartLink(LinkStats):
    """COBS-framed link over `uart` (machine.UART, busio.UART or any object with write/readinto).

    The UART's own rx buffer (machine.UART(..., rxbuf=N)) is the preallocated ring the hardware
    fills; poll() drains it in chunks into one scratch buffer and decodes in place. Frames longer
    than `mtu` are dropped on receive and refused with MtuError on send. With check_crc (the
    default) a frame whose trailing CRC-32 is wrong is counted in rx_crc_fail and not delivered.
    """

    def __init__(self, uart, name="UART", mtu=_DEFAULT_MTU, chunk=_DEFAULT_CHUNK, check_crc=True):
        LinkStats.__init__(self)
        self.uart = uart
        self.name = name
        self.mtu = mtu
        self.on_frame = None  # callable(memoryview) set by the owner (usually the main loop)
        self.check_crc = check_crc
        self._dec = CobsDecoder(mtu)
        self._frame = memoryview(self._dec.buf)
        self._chunk = bytearray(chunk)
        self._tx = bytearray(max_encoded_len(mtu) + 2)
        self._txmv = memoryview(self._tx)
        self._pending = False  # set by the optional RX IRQ; poll() clears it
        self._got = self._got_frame  # bound once, not per chunk
        # MicroPython UART: any() + readinto(buf, n); CircuitPython busio.UART: in_waiting
        self._any = getattr(uart, "any", None)
        self._cp = self._any is None and hasattr(uart, "in_waiting")

    # -- transmit ---------------------------------------------------------------------------
    def send(self, frame):
        """Router tx callback: write one frame. MtuError if it does not fit (nothing sent)."""
        n = len(frame)
        if n > self.mtu:
            self.tx_errors += 1
            raise too_big(self.name, n, self.mtu)
        tx = self._tx
        tx[0] = 0  # leading delimiter: ends any noise the receiver is stuck in
        end = encode_into(frame, n, tx, 1)
        tx[end] = 0
        self.uart.write(self._txmv[:end + 1])
        self.tx_frames += 1
        self.tx_bytes += n
        return n

    # -- receive ----------------------------------------------------------------------------
    def _got_frame(self, n):
        frame = self._frame[:n]
        if self.check_crc and not frame_crc_ok(frame):
            self.rx_crc_fail += 1
            self.rx_dropped += 1
            return
        self.rx_frames += 1
        self.rx_bytes += n
        cb = self.on_frame
        if cb is not None:
            cb(frame)

    def poll(self):
        """Drain what the UART has (bounded), deliver whole frames; return bytes read."""
        self._pending = False
        uart = self.uart
        chunk = self._chunk
        size = len(chunk)
        dec = self._dec
        before = dec.truncated + dec.oversize
        total = 0
        for _ in range(_MAX_CHUNKS_PER_POLL):
            if self._any is not None:
                avail = self._any()
                if not avail:
                    break
                k = uart.readinto(chunk, avail if avail < size else size)
            elif self._cp:
                if not uart.in_waiting:
                    break
                k = uart.readinto(chunk)
            else:
                k = uart.readinto(chunk)
            if not k:
                break
            total += k
            dec.feed(chunk, k, self._got)
            if k < size:
                break
        bad = dec.truncated + dec.oversize - before
        if bad:
            self.rx_dropped += bad
        return total

    def irq_handler(self, _uart=None):
        """For uart.irq(handler=link.irq_handler, ...): only sets a flag, never allocates."""
        self._pending = True

    @property
    def pending(self):
        return self._pending

    def stats(self):
        d = LinkStats.stats(self)
        d["rx_truncated"] = self._dec.truncated
        d["rx_oversize"] = self._dec.oversize
        d["link"] = "uart"
        return d
