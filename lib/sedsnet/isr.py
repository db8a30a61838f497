# The queue behind receive_packed_queue_from_side(): frames pushed from a UART IRQ or scheduler
# callback, taken by the main loop. The producer writes only `tail` and `pushed`, the consumer
# only `head` and `popped`, each with one attribute store after the bytes it covers are in
# place, so a callback that lands anywhere inside the consumer's code leaves both sides
# consistent. Pushes from several contexts (two IRQs, or the main loop and an IRQ) are
# serialised by the `pushing` flag: a push that interrupts another one is refused, never
# interleaved. A full ring, or a refused push, drops the new frame (the caller counts it); the
# buffer is preallocated and never grows (growing would race the producer). The counters wrap
# at 16 bits (they are statistics; emptiness is head == tail), so a push never allocates.
# Record: u16 length, u8 tag (side ID), frame; 0xFFFF as length (or fewer than 3 bytes left)
# sends the reader back to offset 0.
from .compat import const
from .kernels import copy_into

IHDR = const(3)
_WRAP = const(0xFFFF)
_COUNT_MASK = const(0xFFFF)
DEAD = const(0xFF)  # tag of a frame whose side was removed


class IsrRing:
    hdr = IHDR  # record header bytes (the consumer side reads rings through first/tag/take)

    def __init__(self, capacity):
        self.buf = bytearray(capacity)
        self.cap = capacity
        self.head = 0
        self.tail = 0
        self.pushed = 0
        self.popped = 0
        self.pushing = False

    # ---- producer (IRQ / scheduler callback) ----------------------------------------------
    def push(self, src, n, tag):
        """Copy src[:n] in; False (nothing written) when it does not fit now, or when this
        call interrupted another push."""
        if self.pushing:
            return False
        self.pushing = True
        ok = self._push(src, n, tag)
        self.pushing = False
        return ok

    def _push(self, src, n, tag):
        size = n + IHDR
        h = self.head  # one read: the consumer may move it on, which only frees more room
        t = self.tail
        b = self.buf
        if n >= _WRAP:
            return False
        if t >= h:
            if self.cap - t >= size:
                p = t
            elif size < h:
                p = 0
                if self.cap - t >= 2:
                    b[t] = b[t + 1] = 0xFF  # wrap marker, written before tail moves
            else:
                return False
        elif h - t > size:  # one byte always stays free: head == tail means empty
            p = t
        else:
            return False
        copy_into(b, p + IHDR, src, 0, n)
        b[p] = n & 0xFF
        b[p + 1] = n >> 8
        b[p + 2] = tag
        self.tail = p + size  # publishes the record
        self.pushed = (self.pushed + 1) & _COUNT_MASK
        return True

    # ---- consumer (main loop) -------------------------------------------------------------
    def first(self):
        """Offset of the oldest record, or -1 when empty."""
        h = self.head
        if h == self.tail:
            return -1
        b = self.buf
        if self.cap - h < IHDR or (b[h] | (b[h + 1] << 8)) == _WRAP:
            h = 0
            self.head = 0
            if h == self.tail:
                return -1
        return h

    def frame_len(self, p):
        return self.buf[p] | (self.buf[p + 1] << 8)

    def tag(self, p):
        return self.buf[p + 2]

    def take(self, p):
        self.head = p + IHDR + self.frame_len(p)
        self.popped = (self.popped + 1) & _COUNT_MASK

    def empty(self):
        return self.head == self.tail

    def live(self):
        """Frames queued (exact below 65536 of them)."""
        return (self.pushed - self.popped) & _COUNT_MASK

    def kill_tag(self, tag):
        """Mark the queued frames of one side dead (the side is being removed)."""
        p = self.head
        t = self.tail
        b = self.buf
        while p != t:
            if self.cap - p < IHDR or self.frame_len(p) == _WRAP:
                p = 0
                continue
            if b[p + 2] == tag:
                b[p + 2] = DEAD
            p += IHDR + self.frame_len(p)

    def clear(self):
        while self.first() >= 0:
            self.take(self.first())
