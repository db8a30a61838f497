# A whole node as boards/rp2040/main.py builds it (firmware/app.py: config, schema, router,
# UART + SX127x sides, simulated sensors, main loop) on fake hardware and simulated time, in both
# runtimes, with a ground station (a second Router, groundpeer.py) on its UART and on the LoRa
# air. The board's router learns from the ground's announcements that GROUND_STATION is behind
# both sides, and its GPS/IMU telemetry reaches the ground over both (the board config routes its
# own packets Fanout); a COMMAND frame arriving on the UART reaches the FLIGHT_COMPUTER handler; a
# frame the router refuses is a counted drop, not a fault.
import sys

import sedsnet
from groundpeer import GroundPeer
from linkfakes import crc_frame
from support import Clock, _HERE

sys.path.append(_HERE + "/../../tools/shims")
import sx127x_sim  # noqa: E402
from sedsnet_node import app  # noqa: E402

BOARD = _HERE + "/../../boards/rp2040/"


class Hw:
    def __init__(self, ground):
        self.air = sx127x_sim.Air()
        self.sim = sx127x_sim.SX127xSim(self.air, "board")
        self.uart_obj = ground.uart()
        self.ground_radio = ground.lora(self.air, self.sim)

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


def _run(loop, ground, steps):
    for _ in range(steps):
        loop.run(steps=1)
        ground.poll()


def _side_stats(router, name):
    for side in router.export_runtime_stats()["sides"]:
        if side["side_name"] == name:
            return side
    raise AssertionError("no side " + name)


def test_node_streams_telemetry_and_takes_commands():
    clock = Clock(0)
    gps = sedsnet.data_type_identity("GPS_DATA")
    imu = sedsnet.data_type_identity("IMU_DATA")
    ground = GroundPeer(clock, gps_type=gps)
    hw = Hw(ground)
    logs = []
    loop = app.boot(hw, BOARD + "config.json", log=logs.append, clock=clock, sleep_ms=clock.sleep)
    assert [link.name for link in loop.links] == ["UART0", "LORA"], logs
    _run(loop, ground, 500)  # 1 s of simulated time at 2 ms per pass
    # the first samples (t=0) leave before the ground's announcement is heard: they go nowhere
    assert ground.by_type.get(gps, 0) >= 4 and ground.by_type.get(imu, 0) >= 18, ground.by_type
    lat, lon, _alt = ground.gps
    assert abs(lat - 32.99) < 0.01 and abs(lon + 106.975) < 0.01
    # every packet went out on both sides; the ground kept one copy of each
    uart = _side_stats(ground.router, "UART")
    lora = _side_stats(ground.router, "LORA")
    assert uart["local_delivery_packets"] >= 22 and lora["rx_packets"] >= 22, (uart, lora)
    assert lora["drops"]["duplicate"] + uart["drops"]["duplicate"] >= 22, (uart, lora)
    assert hw.sim.tx_packets >= 22 and loop.links[1].tx_frames >= 22
    # a command from the ground, packed by hand (not by the ground's router)
    cmd = sedsnet.make_packet(sedsnet.data_type_identity("COMMAND"), "ground",
                              [sedsnet.endpoint_identity("FLIGHT_COMPUTER")], 5,
                              b"\x01\x07\x00\x00").pack()
    hw.uart_obj.ground_tx(cmd)
    _run(loop, ground, 5)
    assert any("FLIGHT_COMPUTER got" in line and "01070000" in line for line in logs), logs
    # a frame with a good link CRC that is no SEDSnet frame: dropped and counted, no fault
    hw.uart_obj.ground_tx(crc_frame(b"\x00not a frame"))
    _run(loop, ground, 5)
    assert loop.rx_drops == 1 and loop.errors == 0, logs
    assert sum(_side_stats(loop.router, "UART0")["drops"].values()) == 1
    _run(loop, ground, 50)
    assert loop.errors == 0 and loop.handler_errors == 0, logs
