# The RX/TX queues of a node (Engine's base): frames from IRQ callbacks (isr.IsrRing) and
# those deferred while the node was busy (ring.FrameRing) are copied into the node's work
# buffer and handled; process_*/periodic() drain them, in time or until empty.
from .compat import const
from .errors import ArgumentError, SedsError
from .kernels import copy_into
from .schema import _used, schema_bytes_used

LOCAL_TAG = const(0xFD)  # ring tag of frames the application handed in (receive_packed_queue)
_D_OVERSIZE = const(7)  # engine.D_OVERSIZE (engine imports this module, not the other way)


# builtins of the idle poll as module globals (a builtin's name is looked up in this module's
# table first, and a miss walks the whole table when it is full)
_type = type
_int = int


def check_timeout(t):
    if not isinstance(t, int) or not 0 <= t <= 0xFFFFFFFF:
        raise ArgumentError("timeout_ms must be an int 0..4294967295, not %r" % (t,))
    return t


class _Views:
    """memoryviews of buf[:n] for recurring lengths n, made once: a frame handed to a tx
    callback costs no allocation in the steady state. A miss also makes the views of the
    lengths next to n (a frame's length moves by a byte or two with its nonce and timestamp)."""

    def __init__(self, buf, limit=24):
        self.buf = buf
        self.views = {}
        self.limit = limit

    def get(self, n):
        v = self.views.get(n)
        if v is None:
            if len(self.views) > self.limit:
                self.views.clear()
            mv = memoryview(self.buf)
            for k in range(max(0, n - 3), min(len(self.buf), n + 3) + 1):
                if k not in self.views:
                    self.views[k] = mv[:k]
            v = self.views[n]
        return v


class Queues:
    """The queue half of Engine (its base class); state is set up by node.Node.__init__."""

    def process_rx_queue(self):
        """Handle every queued received frame; returns how many."""
        if self._busy:
            self._nested = True  # called from a handler or tx callback: the outer call drains
            return 0
        n = self._process_rx(-1)
        if self._nested:
            self._drain()
        return n

    def _process_rx(self, deadline):
        done = 0
        was_busy = self._busy
        self._busy = True
        try:
            for ring in self._rx_rings:  # frames from IRQ callbacks, then those deferred
                while True:
                    p = ring.first()
                    if p < 0:
                        break
                    sid = ring.tag(p)
                    n = self._work_from(ring.buf, p + ring.hdr, ring.frame_len(p))
                    ring.take(p)
                    if n < 0:  # no heap for a work buffer that long: an oversize drop
                        side = self.sides[sid] if sid < len(self.sides) else None
                        if side is not None:
                            side.drops[_D_OVERSIZE] += 1
                        else:
                            self._local_rx_dropped += 1
                    else:
                        self._ingest_queued(sid, n)
                    done += 1
                    if deadline >= 0 and self._past(deadline):
                        return done
        finally:
            self._busy = was_busy
        return done

    def _work_from(self, buf, off, n):
        """Copy a queued frame into the work buffer; its length, or -1 when the buffer had to
        grow and the heap has no block that long (the ring held it within the budget)."""
        if n > len(self._work):
            try:
                work = bytearray(n)  # rare: a queued frame longer than any before
            except MemoryError:
                return -1
            self._work = work
            self._work_views = _Views(work)
        copy_into(self._work, 0, buf, off, n)
        return n

    def _ingest_queued(self, sid, n):
        if sid == LOCAL_TAG:
            try:
                self._ingest_local(self._work, n)
            except SedsError:
                self._local_rx_dropped += 1
            return
        side = self.sides[sid] if sid < len(self.sides) else None
        if side is not None:  # (a removed side's frames are tagged dead: 0xFF)
            try:
                self._ingest(side, self._work, n)
            except SedsError:
                pass  # counted on the side

    def _process_tx(self, deadline):
        return 0

    def process_tx_queue(self):
        """Send every queued frame (log_*(queue=True), transmit_*_queue); returns how many."""
        if self._busy:
            self._nested = True
            return 0
        n = self._process_tx(-1)
        if self._nested:
            self._drain()
        return n

    def _queued(self):
        return self._isr.head != self._isr.tail or self._rx.live or self._tx.live

    def _past(self, deadline):
        d = self.now_ms() - deadline
        return d >= 0

    def process_all_queues_with_timeout(self, timeout_ms=0):
        """Discovery announcements that are due, then both queues until they are empty or
        timeout_ms has passed (0: no limit, as the reference's periodic(0) empties its
        queues). 4.2.7 announces here too, so a loop that never calls periodic() announces."""
        # (a main loop's idle call is this one call, the clock and nothing else: its checks
        # are inline and discovery is called only when something is due; 11 words of state)
        if timeout_ms or _type(timeout_ms) is not _int:  # (0, the usual, needs no check)
            check_timeout(timeout_ms)
        if self._busy:
            self._nested = True
            return 0
        q = self._rx.evicted or self._tx.evicted
        if _used[0] != self._schema_bytes or (q and not self._warned):
            self._refresh_budget()  # (the schema changed, or a first eviction to report)
        q = self.discovery
        if (q is not None and (q.changed or q.polls or self.now_ms() >= q.wake)) \
                or self.rel is not None:
            self._due()
        if self._sdt_on:  # profiled sides: reclaim chunked messages that timed out
            self._sdt_on(self)  # (sdt.expire_all)
        deadline = self.now_ms() + timeout_ms if timeout_ms > 0 else -1
        n = 0
        q = self._isr
        while q.head != q.tail or self._rx.live or self._tx.live:
            n += self._process_rx(deadline)
            n += self._process_tx(deadline)
            if deadline >= 0 and self._past(deadline):
                break
        self._nested = False
        if self._rx.want:  # after a burst that evicted or refused frames: more room, in budget
            self._rx.grow()
        if self._tx.want:  # (asked here: a call to grow() is a heap frame, 20 words of state)
            self._tx.grow()
        return n

    # the main loop's call: the same function (a wrapper would be one more call per poll)
    process_all_queues = process_all_queues_with_timeout

    def _due(self):
        # discovery announcements and hop retransmits (reliable.py) that are due, with the
        # node marked busy while they send
        self._busy = True
        try:
            if self.discovery is not None:
                self.discovery.periodic(self.now_ms())
            if self.rel is not None:
                self.rel.poll(self.now_ms())
        finally:
            self._busy = False

    def _drain(self):
        self._nested = False
        while self._queued():
            self._process_rx(-1)
            self._process_tx(-1)

    def periodic(self, timeout_ms=0):
        """Time sync's announce/request when one is due, discovery announcements that are
        due, then the queues (for up to timeout_ms; 0 = until empty)."""
        ts = self.ts
        if ts is not None and not self._busy:
            self._busy = True
            try:
                ts.poll()
            finally:
                self._busy = False
        return self.process_all_queues_with_timeout(timeout_ms)

    def periodic_no_timesync(self, timeout_ms=0):
        """periodic() without time sync's announce/request step."""
        return self.process_all_queues_with_timeout(timeout_ms)

    def poll_discovery(self):
        """Send the discovery announcements that are due (no queue processing)."""
        if self.discovery is not None:
            self.discovery.periodic(self.now_ms())

    def _refresh_budget(self):
        used = schema_bytes_used()
        self._budget.used += used - self._schema_bytes
        self._schema_bytes = used
        ev = self._rx.evicted + self._tx.evicted
        if ev and not self._warned:
            self._warned = True
            print("sedsnet: queue budget full, evicting oldest frames")
