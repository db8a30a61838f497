# What the packet-radio sides (sx127x.py, nrf24l01.py) share: the bounded TX queue of
# preallocated slots toward the radio, the completion step (counters, the next frame or back
# to RX), the TX timeout clock and the RX hand-over (on_frame or the router's IRQ-safe queue).
# The chip-specific steps stay in each driver: _start_tx() and _start_rx(). Nothing here
# allocates per packet (host_tests/dual/test_radio_queue.py proves it with heap_lock).
import time

from .link import LinkStats, too_big

from sedsnet.compat import ticks_diff as _ticks_diff, ticks_ms as _ticks_ms


class RadioQueue(LinkStats):
    """Base of a radio link side: send(frame) queues one frame of at most mtu bytes (a full
    queue drops it, counted in tx_errors); the driver's poll() calls _tx_finished(ok) when the
    chip reports the end of a transmission. step: the SPI write of a queued frame is rounded
    up to a multiple of it (1 = exact, as a dynamic-payload chip needs; a FIFO chip whose
    packet length is a register may take a few bytes more), so the write needs no new
    memoryview: one view per rounded length is made here, once."""

    def __init__(self, name, mtu, tx_queue, step, irq_pin, sleep_ms, ticks_ms, ticks_diff):
        LinkStats.__init__(self)
        self._irq_pin = irq_pin
        self._flag = False  # set by irq_handler(), taken by poll()
        self.name = name
        self.mtu = mtu
        self.on_frame = None
        self._sleep_ms = sleep_ms or getattr(time, "sleep_ms", None) or _sleep_ms
        self._ticks_ms = ticks_ms or _ticks_ms
        self._ticks_diff = ticks_diff or _ticks_diff
        self._rx = bytearray(mtu)
        self._rxmv = memoryview(self._rx)
        self._q = [bytearray(mtu) for _ in range(tx_queue)]  # TX ring of preallocated slots
        self._qlen = [0] * tx_queue
        self._qhead = 0
        self._qcount = 0
        self._tx_busy = False
        self._tx_started = 0
        self._step = step
        self._stage = bytearray(mtu)  # the frame being sent: views of it by rounded length
        mv = memoryview(self._stage)
        self._views = [mv[:min(i * step, mtu)] for i in range((mtu + step - 1) // step + 1)]
        self._queue = None  # (router method, side_id): RX goes to the IRQ-safe queue

    def queue_to(self, router, side_id):
        """Frames from poll() go to router.receive_packed_queue_from_side(side_id, ...) (the
        IRQ-safe ring), for a poll() run from a scheduled IRQ callback."""
        self._queue = (router.receive_packed_queue_from_side, side_id)

    def irq_handler(self, _pin=None):
        """The radio's IRQ edge (a packet received or sent): only sets a flag, never
        allocates; poll() does the SPI work."""
        self._flag = True

    def _idle(self):
        """True when poll() has nothing to do: an IRQ pin that has not fired, nothing in
        flight or queued. Otherwise takes the IRQ flag."""
        if self._irq_pin is not None and not self._flag and not self._tx_busy \
                and not self._qcount:
            return True
        self._flag = False
        return False

    def _put(self, frame, least):
        """Queue one frame of least..mtu bytes (MtuError otherwise); False when the queue is
        full (the frame is dropped)."""
        n = len(frame)
        if n > self.mtu or n < least:
            self.tx_errors += 1
            raise too_big(self.name, n, self.mtu)
        q = self._q
        if self._qcount == len(q):
            self.tx_errors += 1
            return False
        slot = (self._qhead + self._qcount) % len(q)
        q[slot][:n] = frame
        self._qlen[slot] = n
        self._qcount += 1
        return True

    def _head(self):
        """The next queued frame as a preallocated view (rounded up to step bytes); marks the
        transmission started. The driver writes it to the chip, with _head_len() as length."""
        self._stage[:] = self._q[self._qhead]
        self._tx_busy = True
        self._tx_started = self._ticks_ms()
        return self._views[(self._qlen[self._qhead] + self._step - 1) // self._step]

    def _head_len(self):
        return self._qlen[self._qhead]

    def _tx_late(self, limit_ms):
        return self._ticks_diff(self._ticks_ms(), self._tx_started) > limit_ms

    def _tx_finished(self, ok):
        """The chip finished (ok) or gave up on the head frame: count it, then send the next
        one or go back to receiving."""
        n = self._qlen[self._qhead]
        self._qhead = (self._qhead + 1) % len(self._q)
        self._qcount -= 1
        self._tx_busy = False
        if ok:
            self.tx_frames += 1
            self.tx_bytes += n
        else:
            self.tx_errors += 1
        if self._qcount:
            self._start_tx()
        else:
            self._start_rx()

    def _deliver(self, frame):
        """One received frame (a view of the RX buffer) to the router."""
        self.rx_frames += 1
        self.rx_bytes += len(frame)
        q = self._queue
        if q is not None:
            q[0](q[1], frame)
        elif self.on_frame is not None:
            self.on_frame(frame)

    def stats(self):
        d = LinkStats.stats(self)
        d["tx_queued"] = self._qcount
        return d


def _sleep_ms(ms):
    time.sleep(ms / 1000)
