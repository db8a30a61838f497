# The router's RX and TX queues: frames stored packed, back to back, in one preallocated byte
# ring each (no object per queued frame). A record is a 4-byte header (u16 length, u8 tag,
# u8 priority) and the frame; a record never wraps (a length of 0xFFFF, or fewer than 4 bytes
# left at the end, sends the reader back to offset 0). Records taken out of the middle (the
# TX queue sends by priority) are marked dead and their space comes back when the head
# passes them. Growth (up to what the shared QueueBudget allows) allocates, so it happens only
# where the caller allows it (pushes from the main loop, grow() after processing). The queue
# fed from IRQ callbacks is isr.IsrRing, not this.
from .compat import const
from .kernels import copy_into

HDR = const(4)
_WRAP = const(0xFFFF)
DEAD = const(0xFF)  # tag of a record already taken


class QueueBudget:
    """One byte budget shared by a node's queues, ID cache and feature state (the reference's
    max_queue_budget). Fixed parts are reserved up front; rings take() when they grow."""

    def __init__(self, total):
        self.total = total
        self.used = 0

    def take(self, n):
        if self.used + n > self.total:
            return False
        self.used += n
        return True

    def give(self, n):
        self.used -= n


class FrameRing:
    hdr = HDR  # record header bytes (as isr.IsrRing's: the engine drains both alike)

    def __init__(self, capacity, budget, grow_step=2):
        if not budget.take(capacity):
            capacity = max(0, budget.total - budget.used)
            budget.take(capacity)
        self.buf = bytearray(capacity)
        self.cap = capacity
        self.budget = budget
        self.grow_step = grow_step  # int or float >= 1 (node.py checks it)
        self.head = 0  # oldest record
        self.tail = 0  # where the next record goes
        self.records = 0  # records between head and tail, dead ones included
        self.live = 0
        self.bytes = 0  # frame bytes of live records
        self.evicted = 0  # live records dropped to make room
        self.want = 0  # largest record that did not fit since the last grow()

    def _len(self, p):
        b = self.buf
        return b[p] | (b[p + 1] << 8)

    def _wrap(self, p):
        # where the record at or after offset p really starts
        if self.cap - p < HDR or self._len(p) == _WRAP:
            return 0
        return p

    def _room(self, size):
        """Offset where a record of size bytes fits now, or -1."""
        if self.records == 0:
            self.head = self.tail = 0
            return 0 if size <= self.cap else -1
        h = self.head = self._wrap(self.head)  # (head may still sit on an old wrap marker)
        t = self.tail
        if t > h or (t == h and self.records == 0):
            if self.cap - t >= size:
                return t
            return 0 if size <= h else -1
        return t if h - t >= size else -1

    def push(self, src, n, tag, prio=0, soff=0, grow=False):
        """Queue src[soff:soff+n] (a frame); grows the ring first when grow is set (it
        allocates), then evicts the oldest records if needed. False if the frame can never
        fit (counted by the caller)."""
        p = self.reserve(n, grow)
        if p < 0:
            return False
        copy_into(self.buf, p + HDR, src, soff, n)
        self.commit(p, n, tag, prio)
        return True

    def reserve(self, n, grow=False):
        """Make room for an n-byte frame; returns where its record goes (write the frame at
        the returned offset + HDR, then commit()), or -1 if it can never fit. grow: try to
        enlarge the ring inside the budget before evicting anything."""
        size = n + HDR
        self._skip_dead()
        if n >= _WRAP:
            return -1
        p = self._room(size) if size <= self.cap else -1
        if p < 0 and grow:
            self.want = size
            if self.grow():
                p = self._room(size)
        if size > self.cap:
            if size > self.want:
                self.want = size
            return -1
        while p < 0:
            if size > self.want:
                self.want = size
            self._drop_head(True)
            p = self._room(size)
        return p

    def commit(self, p, n, tag, prio):
        b = self.buf
        t = self.tail
        if p == 0 and self.records and t != 0 and self.cap - t >= 2:
            b[t] = b[t + 1] = 0xFF  # wrap marker at the old tail
        b[p] = n & 0xFF
        b[p + 1] = n >> 8
        b[p + 2] = tag
        b[p + 3] = prio
        self.tail = p + HDR + n
        self.records += 1
        self.live += 1
        self.bytes += n

    def _drop_head(self, evict):
        p = self._wrap(self.head)
        n = self._len(p)
        if self.buf[p + 2] != DEAD:
            self.live -= 1
            self.bytes -= n
            if evict:
                self.evicted += 1
        self.records -= 1
        self.head = p + HDR + n
        if self.records == 0:
            self.head = self.tail = 0

    def _skip_dead(self):
        while self.records and self.buf[self._wrap(self.head) + 2] == DEAD:
            self._drop_head(False)

    def first(self):
        """Offset of the oldest live record, or -1."""
        self._skip_dead()
        return self._wrap(self.head) if self.records else -1

    def best(self):
        """Offset of the oldest record among those with the highest priority, or -1."""
        self._skip_dead()
        if not self.records:
            return -1
        b = self.buf
        p = self._wrap(self.head)
        found = -1
        top = -1
        for _ in range(self.records):
            if b[p + 2] != DEAD and b[p + 3] > top:
                top = b[p + 3]
                found = p
            p = p + HDR + self._len(p)
            if p != self.tail:
                p = self._wrap(p)
        return found

    def frame_len(self, p):
        return self._len(p)

    def tag(self, p):
        return self.buf[p + 2]

    def take(self, p):
        """Mark the record at p as taken (its frame bytes stay readable until the next push)."""
        self.buf[p + 2] = DEAD
        self.live -= 1
        self.bytes -= self._len(p)

    def clear(self):
        self.head = self.tail = self.records = self.live = self.bytes = 0

    def kill_tag(self, tag):
        """Take (drop) every queued record with this tag (a removed side's frames)."""
        if not self.records:
            return
        b = self.buf
        p = self._wrap(self.head)
        for _ in range(self.records):
            if b[p + 2] == tag:
                self.take(p)
            p = p + HDR + self._len(p)
            if p != self.tail:
                p = self._wrap(p)

    def grow(self):
        """Enlarge the ring if a frame was refused or evictions happened since the last call,
        as far as the budget allows. Allocates: call from the main loop, never from an IRQ.
        Returns True if the ring grew."""
        if not self.want:
            return False
        new = int(self.cap * self.grow_step)  # (a float step must not make a float size)
        if new < self.cap + self.want:
            new = self.cap + self.want
        if not self.budget.take(new - self.cap):
            new = self.cap + max(0, self.budget.total - self.budget.used)
            if new <= self.cap or not self.budget.take(new - self.cap):
                self.want = 0
                return False
        try:
            nb = bytearray(new)
        except MemoryError:
            self.budget.give(new - self.cap)
            self.want = 0
            return False
        # copy the live records in order to the start of the new buffer
        q = 0
        live = self.live
        for _ in range(live):
            p = self.first()
            n = self._len(p)
            copy_into(nb, q, self.buf, p, HDR + n)
            q += HDR + n
            self._drop_head(False)
        self.buf = nb
        self.cap = new
        self.head = 0
        self.tail = q
        self.records = self.live = live
        self.bytes = 0
        p = 0
        for _ in range(live):
            self.bytes += self._len(p)
            p += HDR + self._len(p)
        self.want = 0
        return True
