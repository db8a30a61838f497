# Per-side TX load meters: 4.2.7's "adaptive" link statistics, which its default route
# choice between equal discovered paths weighs (paths.adaptive; docs/router-interop.md
# section 9). Each meter wraps its side's tx once (no core hook): every frame the side sends
# successfully is one sample of bytes over the call's duration. Loaded by the Announcer.
from .compat import const

_WINDOW_MS = const(1000)


class Meter:
    """One side's meter; the arithmetic (integer, saturating at 0) is 4.2.7's, quirks
    included: a window that starts at time 0 counts as no window (usage 0)."""

    def __init__(self, node, side):
        # the user's clock unchecked (bound once): the frame being sent already read it
        # through the node's checked clock, and this runs for every frame
        self.now = getattr(node, "_clock", None) or node.now_ms
        self.user_tx = side.tx
        self.packets = side.packet_side  # tx gets Packet objects: count their wire size
        self.est = self.peak = self.start = self.wbytes = 0
        self.last = self.count = self.peak_use = 0
        side.tx = self.tx

    def tx(self, data):
        # (11 words of call state at most, or it is a heap block on every frame: few locals)
        t0 = self.now()
        self.user_tx(data)  # a raise is a failed send: no sample (as 4.2.7)
        now = self.now()
        n = data.wire_size() if self.packets else len(data)
        t0 = now - t0
        t0 = n * 1000 // (t0 if t0 > 1 else 1)  # bytes per second of this send
        if self.est == 0:  # (inline, not a method call: this runs per frame)
            self.est = t0
        elif t0 >= self.est:
            self.est = (self.est * 3 + t0 * 5) // 8
        else:
            self.est = (self.est * 7 + t0) // 8
        if t0 > self.peak:
            self.peak = t0
        self.last = now
        self.count += 1
        if self.start == 0 or now - self.start > _WINDOW_MS:
            self.start = now
            self.wbytes = n
        else:
            self.wbytes += n
        if self.start:
            t0 = now - self.start
            t0 = self.wbytes * 1000 // (t0 if t0 > 1 else 1)
            if t0 > self.peak_use:
                self.peak_use = t0

    def usage(self, now):
        if self.start == 0:
            return 0
        d = now - self.start
        return self.wbytes * 1000 // (d if d > 1 else 1)

    def weight(self, now):
        """Headroom (capacity - usage in the current 1 s window), at least 1."""
        cap = self.peak if self.peak > self.est else self.est
        h = (cap if cap > 1 else 1) - self.usage(now)
        return h if h > 1 else 1

    def snapshot(self, now):
        """export_runtime_stats()["sides"][i]["adaptive"], 4.2.7's keys."""
        est = self.est if self.est > 1 else 1
        peak = self.peak if self.peak > est else est
        u = self.usage(now)
        head = peak - u if peak > u else 0
        return {"auto_balancing_enabled": True, "estimated_capacity_bps": est,
                "peak_capacity_bps": peak, "current_usage_bps": u,
                "peak_usage_bps": self.peak_use if self.peak_use > u else u,
                "available_headroom_bps": head, "effective_weight": head if head > 1 else 1,
                "last_observed_ms": self.last, "sample_count": self.count}
