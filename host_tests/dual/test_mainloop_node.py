# A whole node as boards/rp2040/main.py builds it (firmware/app.py: config, schema, router,
# UART + SX127x sides, simulated sensors, main loop) on fake hardware and simulated time, in both
# runtimes: its UART carries decodable GPS/IMU frames, its radio transmits them too, and a
# COMMAND frame arriving on the UART reaches the FLIGHT_COMPUTER handler.
import struct
import sys

import cobs
import sedsnet
from linkfakes import FakeUart
from support import _HERE

sys.path.append(_HERE + "/../../tools/shims")
import sx127x_sim  # noqa: E402
import app  # noqa: E402

BOARD = _HERE + "/../../boards/rp2040/"


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t

    def sleep(self, ms):
        self.t += ms


class Hw:
    def __init__(self):
        self.air = sx127x_sim.Air()
        self.peer = sx127x_sim.SX127xSim(self.air, "peer")
        self.sim = sx127x_sim.SX127xSim(self.air, "board")
        self.uart_obj = FakeUart()

    def pin_out(self, ident, value=1):
        return sx127x_sim.SimPin(self.sim, "cs") if ident == 17 else sx127x_sim.SimPin()

    def pin_in(self, ident):
        return sx127x_sim.SimPin(self.sim, "dio0")

    def uart(self, cfg):
        return self.uart_obj

    def spi(self, cfg):
        return sx127x_sim.SimSPI(self.sim)

    def wdt(self, ms):
        return None


def _frames(data):
    out = []
    dec = cobs.CobsDecoder(1024)
    dec.feed(data, len(data), lambda n: out.append(bytes(dec.buf[:n])))
    return out


def test_node_streams_telemetry_and_takes_commands():
    clock = Clock()
    hw = Hw()
    logs = []
    loop = app.boot(hw, BOARD + "config.json", log=logs.append, clock=clock, sleep_ms=clock.sleep)
    assert [link.name for link in loop.links] == ["UART0", "LORA"], logs
    loop.run(steps=500)  # 1 s of simulated time at 2 ms per pass
    gps = sedsnet.data_type_identity("GPS_DATA")
    imu = sedsnet.data_type_identity("IMU_DATA")
    seen = {}
    for f in _frames(hw.uart_obj.tx):
        pkt = sedsnet.unpack_packet(f)
        seen[pkt.ty] = seen.get(pkt.ty, 0) + 1
        if pkt.ty == gps:
            lat, lon, alt = struct.unpack("<3f", bytes(pkt.payload))
            assert abs(lat - 32.99) < 0.01 and abs(lon + 106.975) < 0.01
    assert seen.get(gps, 0) >= 4 and seen.get(imu, 0) >= 18, seen
    assert hw.sim.tx_packets >= 20 and loop.links[1].tx_frames >= 20
    # a command from the ground
    cmd = sedsnet.make_packet(sedsnet.data_type_identity("COMMAND"), "ground",
                              [sedsnet.endpoint_identity("FLIGHT_COMPUTER")], 5,
                              b"\x01\x07\x00\x00").pack()
    hw.uart_obj.feed(b"\x00" + cobs.encode(cmd) + b"\x00")
    loop.run(steps=5)
    assert any("FLIGHT_COMPUTER got" in line and "01070000" in line for line in logs), logs
    assert loop.errors == 0, logs
