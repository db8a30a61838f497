"""The simulator's links: every frame between two nodes passes through this host process, where
tools/linksim.py applies the link's faults (loss, duplication, reordering, corruption, latency,
jitter, bandwidth or LoRa airtime and MTU).

Radio links that name a `channel` share the air (air.py: Channel, AirSim): a frame is lost at
its receiver when another transmission on the channel overlaps it in time.

Ends: BoardUart (a virtual board's UART pty, COBS-framed as firmware/cobs.py), RefSide (a side of
a reference node process, records.py), AirPort (a virtual board's SX127x: its UdpAir sends to our
port, we send to its listen port; datagram = 6 settings bytes + payload). Hub owns the directions
(a LinkSim each) and a pump thread that delivers what is due.
"""
import os
import socket
import struct
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(os.path.dirname(TOOLS), "firmware"))
from sedsnet_node import cobs  # noqa: E402
import linksim  # noqa: E402

sys.path.insert(0, HERE)
from air import AirSim, Channel  # noqa: E402  (radio links on a shared channel)

AIR_HEADER = 6  # tools/shims/sx127x_sim.py UdpAir: settings bytes before the payload
# settings bytes before the payload of each radio's datagrams (nrf24_sim.UdpAir: 7)
AIR_HEADERS = {"lora": AIR_HEADER, "nrf24": 7}


def crc_ok(frame):
    """The frame's trailing CRC-32 matches (a canonical frame or an SDT wrapper alike)."""
    return len(frame) >= 5 and zlib.crc32(frame[:-4]) == struct.unpack_from("<I", frame, len(frame) - 4)[0]


def canonical(frame):
    """The canonical frame a link carries: itself, or the one inside a side-transport wrapper
    of kind 1 without a template id (the boards' radios use canonical/255 profiles:
    "SDT" | 01 | frame | CRC). None for kinds 2 and 3 (compact frames and chunks need the
    link's template and reassembly state: Chunks below)."""
    if frame[:3] != b"SDT":
        return frame
    return frame[4:-4] if len(frame) > 8 and frame[3] == 1 else None


_FLAG_E2E = 0x10  # FLAGS bit of an E2E-sealed frame (shared/protocol/verified-4.2.7.md "E2E")


def _with_crc(body):
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


def tamper(raw, air_header, rng):
    """A tampered copy of an E2E-sealed frame as a link carries it (radio settings bytes and
    an SDT kind-1 wrapper kept), every CRC made valid again, so only the E2E check can catch
    it: half the time one bit of the sealed body (ciphertext or tag) flipped, else the E2E flag
    cleared (a downgrade to plaintext). None when the frame is not a whole sealed one."""
    head, frame = bytes(raw[:air_header]), bytes(raw[air_header:])
    wrapped = frame[:4] == b"SDT\x01" and len(frame) > 8
    inner = frame[4:-4] if wrapped else frame
    if (frame[:3] == b"SDT" and not wrapped) or len(inner) < 12 or not inner[0] & _FLAG_E2E:
        return None
    b = bytearray(inner[:-4])
    if rng.random() < 0.5:
        i = len(b) - 1 - rng.randrange(min(24, len(b) - 4))  # the tag and the ciphertext end
        b[i] ^= 1 << rng.randrange(8)
    else:
        b[0] &= ~_FLAG_E2E & 0xFF
    out = _with_crc(b)
    if wrapped:
        out = _with_crc(b"SDT\x01" + out)
    return head + out


class Chunks:
    """Reassembles side-transport chunks (kind 3: "SDT" 03 | u32le message id | u16le index |
    u16le total | data | CRC, shared/protocol/side-transport.md) as one direction of a link
    carries them (an nRF24 link's 32-byte frames): feed() returns the whole frame (a canonical
    frame or a nested SDT frame, unwrapped by canonical()) once every chunk came, else None.
    Bounded: at most 64 messages in progress, the oldest forgotten first."""

    def __init__(self):
        self.msgs = {}

    def feed(self, frame):
        if frame[:3] != b"SDT" or len(frame) <= 16 or frame[3] != 3:
            return canonical(frame)
        mid, idx, total = struct.unpack_from("<IHH", frame, 4)
        if idx >= total:
            return None
        parts = self.msgs.get(mid)
        if parts is None or len(parts) != total:
            if len(self.msgs) >= 64:
                del self.msgs[next(iter(self.msgs))]
            parts = self.msgs[mid] = [None] * total
        parts[idx] = bytes(frame[12:-4])
        if any(p is None for p in parts):
            return None
        del self.msgs[mid]
        return canonical(b"".join(parts))


class End:
    """One end of a link: frames it emits go to hub.emit(self, frame); deliver() takes them in."""

    def __init__(self, node, side, hub):
        self.node, self.side, self.hub = node, side, hub
        self.link = None
        self.tx = self.rx = 0  # frames emitted / delivered here

    def label(self):
        return "%s.%s" % (self.node, self.side)

    def emit(self, frame):
        self.tx += 1
        self.hub.emit(self, frame)


class BoardUart(End):
    def __init__(self, node, side, hub, pty_path):
        End.__init__(self, node, side, hub)
        self.fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        import termios
        import tty
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.dec = cobs.CobsDecoder(4096)
        self.crc_failures = 0
        self._stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _frame(self, n):
        frame = bytes(self.dec.buf[:n])
        if not crc_ok(frame):
            self.crc_failures += 1  # broken as it left the board: a bug, not a link fault
        self.emit(frame)

    def _loop(self):
        import select
        while not self._stop:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                data = os.read(self.fd, 4096) if r else b""
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            if data:
                self.dec.feed(data, len(data), self._frame)

    def deliver(self, frame):
        self.rx += 1
        data = b"\x00" + cobs.encode(frame) + b"\x00"
        try:
            os.write(self.fd, data)
        except OSError:
            pass  # nobody reading: a line drops bytes

    def close(self):
        self._stop = True
        try:
            os.close(self.fd)
        except OSError:
            pass


class RefSide(End):
    def __init__(self, node, side, hub, proc, index):
        End.__init__(self, node, side, hub)
        self.proc, self.index = proc, index
        self.crc_failures = 0

    def deliver(self, frame):
        self.rx += 1
        self.proc.send_frame(self.index, frame)


class AirPort(End):
    """The hub's UDP socket for one board's radio; VBOARD_AIR of the board is
    udp:<board_port>:<self.port>. air_header: the settings bytes before the payload."""

    def __init__(self, node, side, hub, air_header=AIR_HEADER):
        End.__init__(self, node, side, hub)
        self.air_header = air_header
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.board_port = probe.getsockname()[1]
        probe.close()
        self.crc_failures = 0
        self._stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def air(self):  # frames are air_header settings bytes + the radio payload
        return "udp:%d:%d" % (self.board_port, self.port)

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data = self.sock.recv(1024)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) > self.air_header:
                if not crc_ok(data[self.air_header:]):
                    self.crc_failures += 1
                self.emit(data)

    def deliver(self, frame):
        self.rx += 1
        try:
            self.sock.sendto(frame, ("127.0.0.1", self.board_port))
        except OSError:
            pass

    def close(self):
        self._stop = True
        self.sock.close()


def _sim(link, seed, name, channel=None, dst=None):
    kw = {"seed": seed, "loss": link["loss"], "dup": link["dup"], "reorder": link["reorder"],
              "hold_ms": link["hold_ms"], "corrupt": link["corrupt"], "delay_ms": link["latency_ms"],
              "jitter_ms": link["jitter_ms"], "bytes_per_s": link["bytes_per_s"], "name": name}
    if link["type"] == "uart" and not kw["bytes_per_s"]:
        kw["bytes_per_s"] = linksim.uart_bytes_per_s(link["baud"])
    if link["type"] == "lora":
        sf, bw, cr = link["sf"], link["bw_hz"], link["cr"]
        kw["airtime"] = lambda n: linksim.lora_airtime_ms(max(0, n - AIR_HEADER), sf, bw, cr)
        kw["mtu"] = link["mtu"] + AIR_HEADER
    if link["type"] == "nrf24":
        h, kbps = AIR_HEADERS["nrf24"], link["data_rate"]
        kw["airtime"] = lambda n: linksim.nrf24_airtime_ms(min(32, max(0, n - h)), kbps)
        kw["mtu"] = link["mtu"] + h
    sim = AirSim(channel, dst, **kw) if channel is not None else linksim.LinkSim(**kw)
    sim.stats["tx_full"] = 0  # frames refused because the sender's queue was full (below)
    sim.tx_queue_ms = link["tx_queue_ms"]
    sim.stats["tampered"] = 0  # E2E-sealed frames altered with valid CRCs (Hub.emit, tamper())
    sim.tamper = link.get("tamper", 0.0)
    import random
    sim.tamper_rng = random.Random(seed * 31 + 7)
    return sim


class Hub:
    """All links of a run. observe(link, src_end, frame, now_ms) sees every emitted frame (before
    faults) and arrive(link, dst_end, frame, now_ms) every delivered one."""

    def __init__(self, seed=1, observe=None, arrive=None, now_ms=None):
        self.seed = seed
        self.observe, self.arrive = observe, arrive
        self.lock = threading.Lock()
        self.routes = {}  # end -> [(LinkSim, dst end)]
        self.links = {}  # name -> {"spec", "dirs": [(src, dst, sim)], "ends"}
        self.channels = {}  # name -> Channel of the radio links naming it
        self.t0 = time.monotonic()
        if now_ms is not None:  # --fast: the simulated clock
            self.now_ms = now_ms
        self._stop = False
        self._thread = None

    def now_ms(self):
        return (time.monotonic() - self.t0) * 1000.0

    def add_link(self, spec, ends):
        dirs = []
        n = len(self.links)
        ch = spec.get("channel")
        if ch is not None:
            if ch not in self.channels:
                self.channels[ch] = Channel(ch, spec.get("capture_db"), spec.get("levels_db"),
                                            spec.get("half_duplex", False))
            ch = self.channels[ch]
            ch.levels.update(spec.get("levels_db") or {})  # (one more link on the channel)
        for i, src in enumerate(ends):
            src.link = spec["name"]
            for j, dst in enumerate(ends):
                if i != j:
                    sim = _sim(spec, self.seed * 7919 + n * 101 + i * 11 + j,
                               "%s:%s->%s" % (spec["name"], src.label(), dst.label()), ch,
                               dst)
                    dirs.append((src, dst, sim))
                    self.routes.setdefault(src, []).append((sim, dst))
        self.links[spec["name"]] = {"spec": spec, "dirs": dirs, "ends": ends}

    def set_up(self, name, up):
        with self.lock:
            for _s, _d, sim in self.links[name]["dirs"]:
                sim.set_up(up)

    def emit(self, src, frame):
        with self.lock:
            now = self.now_ms()
            if self.observe:
                self.observe(src.link, src, frame, now)
            tx = None  # the sender's transmission on a shared channel (one for all receivers)
            for sim, _dst in self.routes.get(src, ()):
                # The board's radio shim sends at once, a real one takes the airtime: a sender
                # whose medium is busy for more than tx_queue_ms ahead drops the frame, as a
                # driver with a short TX queue does (instead of an ever-growing backlog).
                if sim.tx_queue_ms and sim.backlog_ms(now) > sim.tx_queue_ms:
                    sim.stats["tx_full"] += 1
                    continue
                out = frame
                if sim.tamper and sim.tamper_rng.random() < sim.tamper:
                    bad = tamper(frame, getattr(src, "air_header", 0), sim.tamper_rng)
                    if bad is not None:
                        sim.stats["tampered"] += 1
                        out = bad
                if not isinstance(sim, AirSim):
                    sim.send(now, out)
                    continue
                if tx is None:
                    before = sim._wire_free_ms
                    start = max(now, before)
                    end = start + sim._wire_ms(len(out))
                    if sim.up and not (sim.mtu and len(out) > sim.mtu):  # it goes on the air
                        tx = sim.channel.transmit(src, start, end)
                sim.send_on_air(now, out, tx)

    def pump(self):
        with self.lock:
            now = self.now_ms()
            due = [(dst, f) for (_s, dst, sim) in
                   (d for l in self.links.values() for d in l["dirs"]) for f in sim.due(now)]
        for dst, f in due:
            if self.arrive:
                self.arrive(dst.link, dst, f, now)
            dst.deliver(f)

    def start(self):
        def loop():
            while not self._stop:
                self.pump()
                time.sleep(0.001)
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop = True
        if self._thread:
            self._thread.join(2)
