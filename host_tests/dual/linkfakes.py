# Fakes and helpers shared by the firmware link tests (both runtimes): a UART that plays back
# bytes in scripted chunks, a deterministic PRNG, and SEDSnet-shaped frames with a valid CRC-32.
import struct
from binascii import crc32


class Rng:
    """xorshift32: the same sequence under CPython and MicroPython."""

    def __init__(self, seed=12345):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))


def crc_frame(body):
    """body + u32le CRC-32 (the SEDSnet frame trailer)."""
    return bytes(body) + struct.pack("<I", crc32(bytes(body)) & 0xFFFFFFFF)


class FakeUart:
    """machine.UART-like: any(), readinto(buf, n), write(); rx arrives in scripted chunk sizes."""

    def __init__(self, rng=None, max_chunk=0):
        self.rx = bytearray()
        self.tx = bytearray()
        self.rng = rng
        self.max_chunk = max_chunk  # 0: everything at once; else random 1..max_chunk per call

    def feed(self, data):
        self.rx.extend(data)

    def any(self):
        if not self.rx:
            return 0
        if self.max_chunk and self.rng:
            return min(len(self.rx), 1 + self.rng.below(self.max_chunk))
        return len(self.rx)

    def readinto(self, buf, n=None):
        if n is None:
            n = len(buf)
        n = min(n, len(self.rx), len(buf))
        if not n:
            return None
        buf[:n] = self.rx[:n]
        self.rx[:n] = b""
        return n

    def write(self, data):
        self.tx.extend(data)
        return len(data)


class FakeBusioUart(FakeUart):
    """CircuitPython busio.UART-like: in_waiting, readinto(buf), no any()."""

    any = None

    @property
    def in_waiting(self):
        return len(self.rx)

    def readinto(self, buf):
        return FakeUart.readinto(self, buf, len(buf))
