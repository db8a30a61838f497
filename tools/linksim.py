"""Link faults as a reusable tool: one direction of a link that loses, duplicates, holds back,
delays, corrupts and rate-limits frames, seeded so a run repeats exactly.

Library-independent (frames are bytes, time is integer ms that the caller advances): the
reliable-delivery tests, the benchmarks and the network simulator drive it the same way.

    link = LinkSim(seed=7, loss=0.2, dup=0.05, reorder=0.1, hold_ms=300, corrupt=0.02,
                   delay_ms=20, jitter_ms=5, bytes_per_s=11520)
    link.send(now_ms, frame)
    for frame in link.due(now_ms): ...

`Duplex(a_to_b, b_to_a)` pairs two directions; `lora_airtime_ms()`, `nrf24_airtime_ms()` and
`uart_bytes_per_s()` give the rates of the radios and lines the boards use.
"""
import heapq
import math
import random

__all__ = ["Duplex", "LinkSim", "lora_airtime_ms", "nrf24_airtime_ms", "uart_bytes_per_s"]


class LinkSim:
    """One direction. Probabilities are per frame (0..1); times in ms.

    loss: the frame never arrives. dup: a second copy arrives (after its own delay).
    reorder: the frame is held back `hold_ms` more, so later frames overtake it.
    corrupt: one random bit of the frame is flipped. delay_ms + uniform(0, jitter_ms): latency.
    bytes_per_s: serialisation rate (0 = unlimited); frames queue behind each other on the wire.
    airtime(n) -> ms: a per-frame time on the medium instead of bytes_per_s (a radio).
    mtu: frames longer than this are dropped and counted (0 = no limit).
    Without `reorder` (and with jitter) arrivals keep the order they were sent in, as a UART does.
    """

    def __init__(self, seed=1, loss=0.0, dup=0.0, reorder=0.0, hold_ms=200, delay_ms=0,
                 jitter_ms=0, corrupt=0.0, bytes_per_s=0, airtime=None, mtu=0, name="link"):
        for what, p in (("loss", loss), ("dup", dup), ("reorder", reorder),
                        ("corrupt", corrupt)):
            if not 0.0 <= p <= 1.0:
                raise ValueError("%s must be a probability 0..1, not %r" % (what, p))
        for what, v in (("hold_ms", hold_ms), ("delay_ms", delay_ms), ("jitter_ms", jitter_ms),
                        ("bytes_per_s", bytes_per_s), ("mtu", mtu)):
            if v < 0:
                raise ValueError("%s must be >= 0, not %r" % (what, v))
        self.name = name
        self.loss, self.dup, self.reorder, self.corrupt = loss, dup, reorder, corrupt
        self.hold_ms, self.delay_ms, self.jitter_ms = hold_ms, delay_ms, jitter_ms
        self.bytes_per_s, self.airtime, self.mtu = bytes_per_s, airtime, mtu
        self.up = True  # a dead link (set_up(False)) loses everything sent while down
        self._rng = random.Random(seed)
        self._queue = []  # heap of (arrival_ms, order, frame)
        self._order = 0
        self._wire_free_ms = 0  # when the medium is free again (rate limit)
        self._last_arrival = 0  # keeps FIFO order for frames not chosen for reordering
        self.stats = {"sent": 0, "lost": 0, "down": 0, "oversize": 0, "duplicated": 0,
                      "reordered": 0, "corrupted": 0, "delivered": 0, "bytes_sent": 0,
                      "bytes_delivered": 0, "busy_ms": 0}

    def set_up(self, up):
        """Bring the link up or down (a flap or a cut cable); frames in flight still arrive."""
        self.up = bool(up)

    def _wire_ms(self, n):
        if self.airtime is not None:
            return self.airtime(n)
        if self.bytes_per_s:
            return n * 1000.0 / self.bytes_per_s
        return 0.0

    def send(self, now_ms, frame):
        """Put a frame on the link at now_ms. Returns False when it was dropped at once."""
        frame = bytes(frame)
        st = self.stats
        st["sent"] += 1
        st["bytes_sent"] += len(frame)
        if self.mtu and len(frame) > self.mtu:
            st["oversize"] += 1
            return False
        if not self.up:
            st["down"] += 1
            return False
        rng = self._rng
        start = max(now_ms, self._wire_free_ms)
        wire = self._wire_ms(len(frame))
        self._wire_free_ms = start + wire
        st["busy_ms"] += wire
        if rng.random() < self.loss:
            st["lost"] += 1
            return True  # it left; nobody got it
        copies = 2 if rng.random() < self.dup else 1
        if copies == 2:
            st["duplicated"] += 1
        for _ in range(copies):
            data = frame
            if self.corrupt and data and rng.random() < self.corrupt:
                bit = rng.randrange(len(data) * 8)
                b = bytearray(data)
                b[bit >> 3] ^= 1 << (bit & 7)
                data = bytes(b)
                st["corrupted"] += 1
            arrival = self._wire_free_ms + self.delay_ms
            if self.jitter_ms:
                arrival += rng.uniform(0, self.jitter_ms)
            if self.reorder and rng.random() < self.reorder:
                arrival += self.hold_ms
                st["reordered"] += 1
            else:
                arrival = max(arrival, self._last_arrival)
                self._last_arrival = arrival
            self._order += 1
            heapq.heappush(self._queue, (arrival, self._order, data))
        return True

    def due(self, now_ms):
        """The frames that have arrived by now_ms, in arrival order."""
        out = []
        q = self._queue
        while q and q[0][0] <= now_ms:
            data = heapq.heappop(q)[2]
            self.stats["delivered"] += 1
            self.stats["bytes_delivered"] += len(data)
            out.append(data)
        return out

    def next_arrival_ms(self):
        """When the next frame arrives (None when nothing is in flight): for event-driven runs."""
        return math.ceil(self._queue[0][0]) if self._queue else None

    def in_flight(self):
        return len(self._queue)

    def backlog_ms(self, now_ms):
        """How long the medium stays busy after now_ms with what was already sent (0 when it
        is free): a sender with a short TX queue drops a frame when this is too long."""
        return max(0.0, self._wire_free_ms - now_ms)

    def utilisation(self, elapsed_ms):
        """Share of elapsed_ms the medium was busy (0..1; rate-limited links only)."""
        return min(1.0, self.stats["busy_ms"] / elapsed_ms) if elapsed_ms > 0 else 0.0


class Duplex:
    """Both directions of one link: a_to_b and b_to_a are LinkSims (the same faults each way
    unless two are given)."""

    def __init__(self, a_to_b=None, b_to_a=None, **faults):
        seed = faults.pop("seed", 1)
        self.a_to_b = a_to_b or LinkSim(seed=seed, **faults)
        self.b_to_a = b_to_a or LinkSim(seed=seed + 1000003, **faults)

    def set_up(self, up):
        self.a_to_b.set_up(up)
        self.b_to_a.set_up(up)


def lora_airtime_ms(n, sf=7, bw_hz=125000, cr=5, preamble=8, explicit_header=True, crc=True,
                    low_dr_optimize=None):
    """Time on air of an n-byte LoRa payload (Semtech AN1200.13 / SX1276 datasheet 4.1.1.7).
    cr is the denominator 5..8 of the coding rate 4/cr."""
    if not 6 <= sf <= 12 or not 5 <= cr <= 8:
        raise ValueError("sf 6..12 and cr 5..8")
    t_sym = (1 << sf) * 1000.0 / bw_hz
    if low_dr_optimize is None:
        low_dr_optimize = t_sym > 16.0
    de = 1 if low_dr_optimize else 0
    ih = 0 if explicit_header else 1
    num = 8 * n - 4 * sf + 28 + (16 if crc else 0) - 20 * ih
    payload_symbols = 8 + max(math.ceil(num / (4.0 * (sf - 2 * de))) * cr, 0)
    return (preamble + 4.25) * t_sym + payload_symbols * t_sym


def nrf24_airtime_ms(n, kbps=250, address=5, crc=2, settle_us=130):
    """Time on air of an n-byte nRF24L01 payload with dynamic payload length (Enhanced
    ShockBurst, nRF24L01+ Product Specification 7.3): preamble 1 byte, address, 9-bit packet
    control field, payload, CRC, at 250/1000/2000 kbps, plus the TX settling time (130 us)."""
    if kbps not in (250, 1000, 2000):
        raise ValueError("kbps must be 250, 1000 or 2000")
    if not 0 <= n <= 32:
        raise ValueError("an nRF24 payload is 0..32 bytes")
    bits = 8 * (1 + address + n + crc) + 9
    return bits / float(kbps) + settle_us / 1000.0


def uart_bytes_per_s(baud, bits_per_byte=10):
    """Bytes per second of a UART at `baud` (8N1: 10 bits per byte)."""
    return baud / float(bits_per_byte)
