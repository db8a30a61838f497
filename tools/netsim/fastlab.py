# The simulator's --fast lab: every board of a scenario in ONE MicroPython process on a shared
# fake clock. Each board is built by firmware/app.py's build() (the code its main.py boots) with
# lab hardware: UARTs are byte buffers, the SX127x is tools/shims/sx127x_sim.py on a lab air,
# the watchdog and LED are inert. The host (fast.py) drives it with JSON lines on stdin:
#   {"until": T, "in": [[board, side, hex, t], ...]}  -> steps every loop from the current time
#   to T (step_ms apart), delivering each input at its time; answers
#   {"t": T, "out": [[board, side, hex, t], ...], "log": [[board, line], ...]}
#   {"op": "stop"} ends it. UART output is the raw bytes written (0x00 + COBS + 0x00), radio
#   output is 6 settings bytes + payload (as UdpAir sends it).
# MicroPython only (runs under the Unix port with lib/, firmware/ and tools/shims on MICROPYPATH).
import json
import sys
from binascii import hexlify, unhexlify

import app
import sx127x_sim

NOW = [0]
OUT = []
LOGS = []


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
    def __init__(self, board, side):
        self.board, self.side = board, side
        self.radios = []
        self.pending = []

    def attach(self, radio):
        self.radios.append(radio)

    def transmit(self, src, settings, payload):
        OUT.append([self.board, self.side, hexlify(bytes(settings) + bytes(payload)).decode(),
                    NOW[0]])

    def poll(self):
        while self.pending:
            for r in self.radios:
                if not r.listening:
                    return
            data = self.pending.pop(0)
            for r in self.radios:
                r.deliver(data[:6], data[6:])


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
        self.airs = {}
        self.roles = {}
        self.radio_side = None
        for side in cfg["sides"]:
            if side.get("type") == "sx127x":
                sname = side.get("name", "SX127X")
                self.radio_side = sname
                self.air = LabAir(name, sname)
                self.airs[sname] = self.air
                self.sim = sx127x_sim.SX127xSim(self.air, name=name)
                for role in ("cs", "reset", "dio0"):
                    if role in side:
                        self.roles[side[role]] = role

    def uart(self, cfg):
        u = MemUart(self.name, cfg.get("name", "UART"))
        self.uarts[u.side] = u
        return u

    def spi(self, cfg):
        return sx127x_sim.SimSPI(self.sim)

    def _pin(self, ident):
        role = self.roles.get(ident)
        if role is not None and self.radio_side is not None:
            return sx127x_sim.SimPin(self.sim, role)
        return NoPin()

    def pin_out(self, ident, value=1):
        return self._pin(ident)

    def pin_in(self, ident):
        return self._pin(ident)

    def wdt(self, ms):
        return Wdt()


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    step = spec.get("step_ms", 2)
    boards = {}
    order = []
    for b in spec["boards"]:
        hw = LabHw(b["name"], b["config"])
        name = b["name"]

        def log(line, name=name):
            LOGS.append([name, line])
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
        if msg.get("op") == "radios":  # diagnostics: each simulated radio's counters
            d = {}
            for name in order:
                hw = boards[name][0]
                if hw.radio_side is not None:
                    sim = hw.sim
                    d[name] = {"tx": sim.tx_packets, "rx": sim.rx_packets, "missed": sim.missed,
                               "pending": len(hw.air.pending), "listening": sim.listening}
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
                if hw.radio_side is not None:  # the air raises DIO0 (the vboard's shim hook)
                    hw.air.poll()
                loop.step()
        out = {"t": NOW[0], "out": OUT[:], "log": LOGS[:]}
        del OUT[:]
        del LOGS[:]
        sys.stdout.write(json.dumps(out) + "\n")


main(sys.argv[1])
