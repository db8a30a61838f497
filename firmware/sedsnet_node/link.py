# What every link driver (UART, SX127x LoRa, ...) shares: the MTU error, the frame CRC check and
# the counters a side reports. A link is a router side: send(frame) is its tx callback and
# poll() hands each received frame to on_frame(memoryview).
import struct

try:
    from binascii import crc32
except ImportError:  # a build without binascii.crc32: the router's decoder checks CRCs anyway
    crc32 = None


class MtuError(ValueError):
    """A frame does not fit a link's MTU (nothing was sent).

    nRF24L01-style links need chunking (the side-profile issue); until then they raise this.
    """


def too_big(name, n, mtu):
    return MtuError("%s: frame of %d bytes exceeds the link MTU of %d bytes" % (name, n, mtu))


def frame_crc_ok(frame):
    """True if a SEDSnet frame's trailing u32le CRC-32 matches (or no crc32 is available)."""
    n = len(frame)
    if n < 5:
        return False
    if crc32 is None:
        return True
    return crc32(frame[:n - 4]) & 0xFFFFFFFF == struct.unpack_from("<I", frame, n - 4)[0]


class LinkStats:
    """Counters shared by link drivers; stats() copies them into a dict (off the hot path)."""

    def __init__(self):
        self.rx_frames = 0
        self.rx_bytes = 0
        self.rx_dropped = 0     # malformed / truncated / oversize / bad CRC, all counted here too
        self.rx_crc_fail = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.tx_errors = 0

    def stats(self):
        d = {}
        for k in ("rx_frames", "rx_bytes", "rx_dropped", "rx_crc_fail", "tx_frames", "tx_bytes",
                  "tx_errors"):
            d[k] = getattr(self, k)
        return d
