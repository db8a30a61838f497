# Stand-in for sedsnet.Router on boards whose library has no router module yet: the subset the
# main loop uses (add_side_packed, receive_packed_from_side, log_f32, periodic), built on the
# codec. It originates packets to every side and delivers received ones to local handlers; it
# does not forward between sides, discover, time-sync or retransmit. app.build() picks the real
# Router whenever `sedsnet.router` imports.
import struct

import sedsnet
from sedsnet import packet  # noqa: F401  (the codec, imported up front: one big load, early)
from sedsnet.wire import FrameHeader


class MiniRouter:
    def __init__(self, handlers=(), hostname="node", now_ms=None):
        self.hostname = hostname
        self.handlers = list(handlers)
        self.now_ms = now_ms
        self.sides = []
        self.rx_packets = 0
        self.rx_errors = 0
        self.tx_packets = 0
        self._eps = {}  # data type -> its schema endpoints (looked up once)
        # resolve the lazy exports now, while building, not on the first packet
        self._make = sedsnet.make_packet
        self._unpack = sedsnet.unpack_packet
        self._info = sedsnet.data_type_info
        # one preallocated header for checking received frames (unpack_packet builds a fresh
        # 256-endpoint header per call: ~2 KB of garbage); a Packet only for local handlers
        self._hdr = FrameHeader(max_endpoints=32, accept_compressed=True)

    def add_side_packed(self, name, tx, reliable_enabled=False):
        self.sides.append((name, tx))
        return len(self.sides) - 1

    def _now(self):
        if self.now_ms is not None:
            return self.now_ms()
        from sedsnet.compat import ticks_ms
        return ticks_ms()

    def log_f32(self, ty, values):
        eps = self._eps.get(ty)
        if eps is None:
            eps = self._info(ty)["endpoints"]
            self._eps[ty] = eps
        payload = struct.pack("<%df" % len(values), *values)
        frame = self._make(ty, self.hostname, eps, self._now(), payload).pack()
        for _name, tx in self.sides:
            tx(frame)
        self.tx_packets += 1

    def receive_packed_from_side(self, side_id, frame):
        """Check the frame (CRC, header); build a Packet only if a local handler wants it."""
        hdr = self._hdr
        hdr.parse(frame, -1, True)
        self.rx_packets += 1
        pkt = None
        eps = hdr.endpoints
        for ep, cb, _ in self.handlers:
            for i in range(hdr.ep_count):
                if eps[i] == ep:
                    if pkt is None:
                        pkt = self._unpack(bytes(frame))
                    cb(pkt)
                    break

    def periodic(self, timeout_ms=0):
        return 0

    def process_all_queues(self):
        return 0
