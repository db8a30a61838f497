"""Radio links on a shared channel (a scenario link's "channel"): links.Hub books each
transmission on its Channel and AirSim, one direction of such a link, keeps back what
collided. See Channel for the model."""
import heapq
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import linksim  # noqa: E402


class Channel:
    """One radio channel (a frequency, a LoRa SF/BW or an nRF24 channel) shared by the links
    that name it. The model, ALOHA: every radio on the channel hears every transmitter on it;
    a transmission occupies the air from its start (when the sender's own earlier frames are
    done) for its airtime (linksim's LoRa / nRF24 model, the settings bytes left out); a frame
    is lost at a receiver when another transmission on the channel, from another sender,
    overlaps it in time (both are, at every receiver hearing both; a sender does not hear its
    own transmission, so two radios alone on a channel still hear each other, as the links
    without a channel do, unless half_duplex: a radio that is transmitting hears nothing).
    Without capture_db that is all (no capture effect); with it, a frame whose sender's level
    (levels: node -> dB, 0 unless given; one level at every receiver) is at least capture_db
    above every other overlapping one survives (the receiver locks onto the stronger signal).
    Lost frames are counted per link direction as `collisions`; their airtime still counts
    as busy."""

    KEEP_MS = 10000  # transmissions kept this long after they end (a frame's latest arrival)

    def __init__(self, name, capture_db=None, levels=None, half_duplex=False):
        self.name = name
        self.half_duplex = half_duplex
        self.capture_db = capture_db
        self.levels = levels or {}
        self.txs = []  # [start_ms, end_ms, sender end], in the order they were booked
        self.collisions = 0

    def transmit(self, src, start, end):
        tx = [start, end, src]
        self.txs.append(tx)
        if len(self.txs) > 64 and self.txs[0][1] < start - self.KEEP_MS:
            self.txs = [t for t in self.txs if t[1] >= start - self.KEEP_MS]
        return tx

    def collided(self, tx, dst=None):
        """True when another sender's transmission overlapped tx at receiver dst (an End)."""
        s, e, src = tx
        mine = self.levels.get(src.node, 0.0)
        for t in self.txs:
            if t[2] is not src and t[0] < e and s < t[1]:
                if t[2] is dst:
                    if self.half_duplex:
                        return True  # dst was transmitting: deaf
                elif self.capture_db is None:
                    return True  # no capture effect
                elif mine - self.levels.get(t[2].node, 0.0) < self.capture_db:
                    return True
        return False


class AirSim(linksim.LinkSim):
    """One direction of a radio link on a shared Channel: what the LinkSim delivers is kept
    back and counted as a collision when its transmission overlapped another (Channel)."""

    def __init__(self, channel, dst=None, **kw):
        linksim.LinkSim.__init__(self, **kw)
        self.channel, self.dst = channel, dst
        self.stats["collisions"] = 0
        self._tags = {}  # queue order -> the transmission of that copy

    def send_on_air(self, now_ms, frame, tx):
        """send() with the copies it queues tagged with tx (the sender's transmission)."""
        first = self._order
        ok = self.send(now_ms, frame)
        for _arr, order, _data in self._queue:
            if order > first:
                self._tags[order] = tx
        return ok

    def due(self, now_ms):
        out = []
        q = self._queue
        st = self.stats
        while q and q[0][0] <= now_ms:
            _arr, order, data = heapq.heappop(q)
            tx = self._tags.pop(order, None)
            if tx is not None and self.channel.collided(tx, self.dst):
                st["collisions"] += 1
                self.channel.collisions += 1
                continue
            st["delivered"] += 1
            st["bytes_delivered"] += len(data)
            out.append(data)
        return out
