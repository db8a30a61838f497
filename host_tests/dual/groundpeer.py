# A ground station for firmware tests (both runtimes, and the memory run): a second sedsnet
# Router ("ground", handler on GROUND_STATION) that reaches a board through a fake UART and the
# simulated LoRa air. It announces itself as any 4.2.7 peer does, which is what makes the board's
# router send its telemetry there. Lean on purpose: in the memory run it shares the board's heap.
import struct

from sedsnet_node import cobs
import sedsnet


class GroundPeer:
    """Counts what reaches GROUND_STATION (by type, plus the last GPS fix); .router is the
    ground's Router. Call poll() once per board loop pass: the ground's periodic work and its
    radio's deferred transmissions."""

    def __init__(self, clock, hostname="ground", gps_type=None):
        self.by_type = {}
        self.packets = 0
        self.gps_type = gps_type
        self.gps = None
        self.radio = None
        gs = sedsnet.endpoint_identity("GROUND_STATION")
        self.router = sedsnet.Router(handlers=[(gs, self._got, None)], hostname=hostname,
                                     now_ms=clock, max_queue_budget=8192)

    def _got(self, pkt):
        self.packets += 1
        self.by_type[pkt.ty] = self.by_type.get(pkt.ty, 0) + 1
        if pkt.ty == self.gps_type:
            self.gps = struct.unpack("<3f", bytes(pkt.payload))

    def uart(self, size=2048, echo_every=0):
        """A machine.UART stand-in to give the board, wired to a new ground side."""
        u = GroundUart(size, echo_every)
        u.side = self.router.add_side_packed("UART", u.ground_tx)
        u.receive = self.router.receive_packed_from_side
        return u

    def lora(self, air, board_sim):
        """A ground radio on `air` for a board whose simulated SX127x is board_sim."""
        self.radio = GroundRadio(air, board_sim)
        # the board's SX127x side is profiled (firmware/app.py: canonical, 255-byte frames)
        self.radio.side = self.router.add_side_packed_profile("LORA", self.radio.ground_tx,
                                                              profile="canonical",
                                                              max_frame_bytes=255)
        self.radio.receive = self.router.receive_packed_from_side
        return self.radio

    def poll(self):
        self.router.periodic(0)
        if self.radio is not None:
            self.radio.flush()


class GroundUart:
    """machine.UART-like (any, readinto, write) between a board and the ground: what the board
    writes is COBS-decoded into the ground's router; the ground's frames come back COBS-framed.
    echo_every=N also returns every Nth board frame as it was (the board's router must drop its
    own frames as duplicates). One linear receive buffer, no per-frame allocation."""

    def __init__(self, size, echo_every):
        self.rx = bytearray(size)
        self.r = self.w = 0  # read and write offsets into rx
        self.echo_every = echo_every
        self.writes = self.tx_bytes = self.overflow = 0
        self.side = -1
        self.receive = None
        self._dec = cobs.CobsDecoder(1024)
        self._frame = memoryview(self._dec.buf)
        self._got = self._got_frame

    # -- the board's end ----------------------------------------------------------------------
    def any(self):
        return self.w - self.r

    def readinto(self, buf, k=None):
        n = self.w - self.r
        k = min(n, len(buf) if k is None else k)
        if not k:
            return None
        buf[:k] = memoryview(self.rx)[self.r:self.r + k]
        self.r += k
        if self.r == self.w:
            self.r = self.w = 0
        return k

    def write(self, data):
        n = len(data)
        self.writes += 1
        self.tx_bytes += n
        if self.echo_every and self.writes % self.echo_every == 0 and self._room(n):
            self.rx[self.w:self.w + n] = data
            self.w += n
        self._dec.feed(data, n, self._got)
        return n

    # -- the ground's end ---------------------------------------------------------------------
    def _got_frame(self, n):
        self.receive(self.side, self._frame[:n])

    def ground_tx(self, frame):
        n = len(frame)
        if not self._room(cobs.max_encoded_len(n) + 2):
            self.overflow += 1
            return
        rx = self.rx
        rx[self.w] = 0
        end = cobs.encode_into(frame, n, rx, self.w + 1)
        rx[end] = 0
        self.w = end + 1

    def _room(self, n):
        return self.w + n <= len(self.rx)


class GroundRadio:
    """The ground's LoRa radio on a sx127x_sim Air: what it hears goes to the ground's router.
    Its own frames wait (a small ring) until the board's radio listens, and go one per poll:
    the simulated air is instantaneous, a real radio's airtime would keep them apart from each
    other and from the board's transmissions."""

    def __init__(self, air, board_sim, slots=4):
        self.board = board_sim
        self.settings = None  # learned from the first packet heard (same channel as the board)
        self.slots = [bytearray(255) for _ in range(slots)]
        self.views = [memoryview(b) for b in self.slots]
        self.lens = [0] * slots
        self.head = 0
        self.count = 0
        self.sent = 0
        self.dropped = 0
        self.side = -1
        self.receive = None
        air.attach(self)

    def deliver(self, settings, payload, crc_ok=True):
        self.settings = settings
        if crc_ok:
            self.receive(self.side, payload)

    def ground_tx(self, frame):
        n = len(frame)
        if self.settings is None or self.count == len(self.slots) or n > 255:
            self.dropped += 1
            return
        i = (self.head + self.count) % len(self.slots)
        self.slots[i][:n] = frame
        self.lens[i] = n
        self.count += 1

    def flush(self):
        board = self.board
        if not self.count or not board.listening:  # listening: in RX, the last packet read out
            return
        i = self.head
        board.deliver(self.settings, self.views[i][:self.lens[i]])
        self.sent += 1
        self.head = (i + 1) % len(self.slots)
        self.count -= 1
