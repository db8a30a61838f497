# The simulator's --fast lab: every board of a scenario in ONE MicroPython process on a shared
# fake clock. Each board is built by firmware/app.py's build() (the code its main.py boots) with
# lab hardware: UARTs are byte buffers, an SX127x is tools/shims/sx127x_sim.py and an nRF24L01
# tools/shims/nrf24_sim.py, each on a lab air, the watchdog and LED are inert. fast.py runs one
# lab per board (its heap is that board's), all on the host's clock. The host (fast.py) drives it with JSON lines on stdin:
#   {"until": T, "in": [[board, side, hex, t], ...]}  -> steps every loop from the current time
#   to T (step_ms apart), delivering each input at its time; answers
#   {"t": T, "out": [[board, side, hex, t], ...], "log": [[board, line, t], ...]}
#   {"op": "stop"} ends it. A lab started with "t0" (a reboot at that simulated time) boots there. UART output is the raw bytes written (0x00 + COBS + 0x00), radio
#   output is the settings bytes (SX127x 6, nRF24 7) + payload (as each sim's UdpAir sends it).
# MicroPython only (runs under the Unix port with lib/, firmware/ and tools/shims on MICROPYPATH).
import gc
import json
import sys
from binascii import hexlify, unhexlify

from sedsnet_node import app, mainloop
import nrf24_sim
import sx127x_sim

NOW = [0]
OUT = []
LOGS = []
HANDLED = {}  # type id -> [frames the board's handlers got sealed, in clear] (key rotation)
_counter_call = mainloop.PacketCounter.__call__


def _counted(self, frame):
    """The board's handler (mainloop.PacketCounter), counting sealed and clear frames per type:
    the simulator's check that no RequireOn type is accepted in clear."""
    from sedsnet.wire import FrameHeader
    h = FrameHeader()
    h.parse(frame)
    HANDLED.setdefault(h.ty, [0, 0])[0 if h.e2e else 1] += 1
    return _counter_call(self, frame)


mainloop.PacketCounter.__call__ = _counted


def clock():
    return NOW[0]


def no_sleep(ms):
    pass


class MemUart:
    def __init__(self, board, side):
        self.board, self.side = board, side
        self.rx = bytearray()

    def write(self, buf):
        OUT.append([self.board, self.side, hexlify(bytes(buf)).decode(), NOW[0]])
        return len(buf)

    def any(self):
        return len(self.rx)

    def readinto(self, buf, n=None):
        n = min(len(buf) if n is None else n, len(self.rx))
        if n <= 0:
            return None
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def read(self, n=-1):
        data = bytes(self.rx if n < 0 else self.rx[:n])
        self.rx = self.rx[len(data):]
        return data or None


class LabAir:
    """One radio's air in the lab: what it sends goes to the host, what the host delivers waits
    in `pending` until the radio can take it (as each sim's UdpAir.ready says)."""

    def __init__(self, board, side, header=6, ready=None):
        self.board, self.side = board, side
        self.header = header
        self.ready = ready or (lambda r: r.listening)
        self.radios = []
        self.pending = []

    def attach(self, radio):
        self.radios.append(radio)

    def transmit(self, src, settings, payload):
        OUT.append([self.board, self.side, hexlify(bytes(settings) + bytes(payload)).decode(),
                    NOW[0]])
        return True  # (no ACK comes back from the host: an auto-ACK nRF24 send counts as ACKed)

    def poll(self):
        h = self.header
        while self.pending:
            for r in self.radios:
                if not self.ready(r):
                    return
            data = self.pending.pop(0)
            for r in self.radios:
                r.deliver(data[:h], data[h:])


class Wdt:
    def feed(self):
        pass


class NoPin:
    def value(self, v=None):
        return 0

    def irq(self, *a, **k):
        pass


class LabHw:
    def __init__(self, name, cfg):
        self.name = name
        self.uarts = {}
        self.airs = {}  # side name -> LabAir
        self.sims = {}  # side name -> the radio's simulator
        self.pins = {}  # pin id -> (side name, role)
        for side in cfg["sides"]:
            kind = side.get("type")
            if kind not in ("sx127x", "nrf24"):
                continue
            sname = side.get("name", kind.upper())
            if kind == "nrf24":
                air = LabAir(name, sname, 7, lambda r: len(r.rx_fifo) < 3)
                self.sims[sname] = nrf24_sim.NRF24Sim(air, name=name)
                roles = ("cs", "ce", "irq")
            else:
                air = LabAir(name, sname)
                self.sims[sname] = sx127x_sim.SX127xSim(air, name=name)
                roles = ("cs", "reset", "dio0")
            self.airs[sname] = air
            for role in roles:
                if role in side:
                    self.pins[side[role]] = (sname, role)

    def uart(self, cfg):
        u = MemUart(self.name, cfg.get("name", "UART"))
        self.uarts[u.side] = u
        return u

    def spi(self, cfg):
        return sx127x_sim.SimSPI(self.sims[cfg.get("name", cfg["type"].upper())])

    def _pin(self, ident):
        if ident not in self.pins:
            return NoPin()
        sname, role = self.pins[ident]
        sim = self.sims[sname]
        if role == "ce":
            return nrf24_sim.SimCE(sim)
        if role == "irq":
            return nrf24_sim.IrqPin(sim)
        return sx127x_sim.SimPin(sim, role)

    def pin_out(self, ident, value=1):
        return self._pin(ident)

    def pin_in(self, ident):
        return self._pin(ident)

    def wdt(self, ms):
        return Wdt()


def router_drops(st):
    """The router's drops by reason: its sides' counters, the queues' evictions and the
    application queue's refusals (export_runtime_stats)."""
    out = {}
    for side in st["sides"]:
        for k, v in side["drops"].items():
            if v:
                out[k] = out.get(k, 0) + v
    for k in ("rx_evicted", "tx_evicted", "local_rx_dropped"):
        if st["queues"][k]:
            out[k] = st["queues"][k]
    return out


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    step = spec.get("step_ms", 2)
    NOW[0] = spec.get("t0", 0)  # a board rebooted at T (fast.py): its clock runs on from T
    boards = {}
    order = []
    for b in spec["boards"]:
        hw = LabHw(b["name"], b["config"])
        name = b["name"]

        def log(line, name=name):
            LOGS.append([name, line, NOW[0]])
        loop = app.build(b["config"], hw, log=log, clock=clock, sleep_ms=no_sleep,
                         schema_dir=b["dir"] + "/")[1]
        log("sedsnet: %s up, sides: %s" % (b["config"]["hostname"],
                                            ", ".join(l.name for l in loop.links)))
        boards[name] = (hw, loop)
        order.append(name)
    sys.stdout.write(json.dumps({"ready": order}) + "\n")
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        msg = json.loads(line)
        if msg.get("op") == "stop":
            return
        if msg.get("op") == "heap":  # the live heap (after a collection): flat in a soak
            gc.collect()
            d = {"live": gc.mem_alloc(), "free": gc.mem_free(), "tables": {}, "drops": {}}
            for name in order:  # the router's tables and queues (export_memory_layout_json)
                router = boards[name][1].router
                lay = json.loads(router.export_memory_layout_json())
                for k, v in lay.items():
                    if k.endswith("_used") or k.endswith("_len"):
                        d["tables"][k] = v
                d["drops"] = router_drops(router.export_runtime_stats())
            sys.stdout.write(json.dumps(d) + "\n")
            continue
        if msg.get("op") == "e2e_key":  # a key rotation (netevents.py): the new key, live
            import sedsnet
            sedsnet.register_e2e_key(msg["key_id"], unhexlify(msg["key"]))
            sys.stdout.write('{"ok": true}\n')
            continue
        if msg.get("op") == "e2e":  # E2E counters: E2E drops, failed opens, handler frames
            d = {"e2e_drops": 0, "open_failures": 0,
                 "handled": {str(k): v for k, v in HANDLED.items()}}
            for name in order:
                for side in boards[name][1].router.export_runtime_stats()["sides"]:
                    d["e2e_drops"] += side["drops"].get("e2e", 0)
            if "sedsnet.e2e" in sys.modules:
                d["open_failures"] = sys.modules["sedsnet.e2e"].stats()["open_failures"]
            sys.stdout.write(json.dumps(d) + "\n")
            continue
        if msg.get("op") == "radios":  # diagnostics: each simulated radio's counters
            d = {}
            for name in order:
                hw = boards[name][0]
                for sname, sim in hw.sims.items():
                    d[name if len(hw.sims) == 1 else name + "." + sname] = {
                        "tx": sim.tx_packets, "rx": sim.rx_packets, "missed": sim.missed,
                        "pending": len(hw.airs[sname].pending), "kind": type(sim).__name__,
                        "listening": bool(sim.listening)}
            sys.stdout.write(json.dumps(d) + "\n")
            continue
        until = msg["until"]
        inputs = sorted(msg.get("in", ()), key=lambda x: x[3])
        k = 0
        t = NOW[0]
        while t < until:
            t += step
            if t > until:
                t = until
            NOW[0] = t
            while k < len(inputs) and inputs[k][3] <= t:
                name, side, data, _at = inputs[k]
                k += 1
                hw = boards[name][0]
                raw = unhexlify(data)
                if side in hw.uarts:
                    hw.uarts[side].rx.extend(raw)
                elif side in hw.airs:
                    hw.airs[side].pending.append(raw)
            for name in order:
                hw, loop = boards[name]
                for air in hw.airs.values():  # the air raises DIO0 / IRQ (the vboard's hook)
                    air.poll()
                loop.step()
        out = {"t": NOW[0], "out": OUT[:], "log": LOGS[:]}
        del OUT[:]
        del LOGS[:]
        sys.stdout.write(json.dumps(out) + "\n")


main(sys.argv[1])
