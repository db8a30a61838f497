# Two nodes built by firmware/app.py from configs with an "nrf24" side (firmware/nrf24l01.py on
# the register simulator tools/shims/nrf24_sim.py, one simulated air): the side is added with a
# side profile (ipv6_like, max_frame_bytes 32 by default), the rocket's GPS/IMU telemetry
# reaches the ground board's GROUND_STATION handler in chunks of at most 32 bytes.
import sys

from support import Clock, _HERE

sys.path.append(_HERE + "/../../tools/shims")
import nrf24_sim  # noqa: E402
from sedsnet_node import app  # noqa: E402
from sx127x_sim import SimPin, SimSPI  # noqa: E402

BOARD = _HERE + "/../../boards/rp2040/"


class Hw:
    def __init__(self, air, name, sizes):
        self.sim = nrf24_sim.NRF24Sim(air, name)
        self.sizes = sizes

    def pin_out(self, ident, value=1):
        if ident == 5:
            return SimPin(self.sim, "cs")
        if ident == 6:
            return nrf24_sim.SimCE(self.sim)
        return SimPin()

    def pin_in(self, ident):
        return nrf24_sim.IrqPin(self.sim)

    def spi(self, cfg):
        spi = SimSPI(self.sim)
        sizes = self.sizes
        write = spi.write

        def counted(buf):  # payload sizes the driver writes (W_TX_PAYLOAD)
            if len(buf) > 1:
                sizes.append(len(buf))
            write(buf)
        spi.write = counted
        return spi

    def wdt(self, ms):
        return None


def _cfg(host, sensors, handlers, **side):
    s = {"name": "NRF", "type": "nrf24", "spi": 0, "cs": 5, "ce": 6, "irq": 7, "channel": 90}
    s.update(side)
    return {"hostname": host, "schema": "schema.json", "handlers": handlers,
            "router": {"max_queue_budget": 16384}, "sides": [s],
            "sensors": sensors, "loop": {"idle_ms": 5, "periodic_ms": 5}}


def test_boards_talk_over_nrf24_with_a_profiled_side():
    clock = Clock(0)
    air = nrf24_sim.Air()
    sizes = []
    logs = []
    rocket_cfg = _cfg("rocket", [{"name": "gps", "type": "GPS_DATA", "kind": "sim_gps",
                                  "period_ms": 100},
                                 {"name": "imu", "type": "IMU_DATA", "kind": "sim_imu",
                                  "period_ms": 100}], [], auto_ack=True)
    ground_cfg = _cfg("ground", [], ["GROUND_STATION"], auto_ack=True)
    r_router, r_loop = app.build(rocket_cfg, Hw(air, "rocket", sizes), log=logs.append,
                                 clock=clock, sleep_ms=clock.sleep, schema_dir=BOARD)
    _g_router, g_loop = app.build(ground_cfg, Hw(air, "ground", []), log=logs.append,
                                 clock=clock, sleep_ms=clock.sleep, schema_dir=BOARD)
    for _ in range(400):  # 2 s of simulated time
        r_loop.run(steps=1)
        g_loop.run(steps=1)
    st = r_router.export_runtime_stats()["sides"][0]
    assert st["side_transport_profile"] == "ipv6_like" and st["max_frame_bytes"] == 32
    # (GPS_DATA's canonical frame is 32-33 bytes with its hashed type ID; 4.2.7 chunks a frame
    # over max_frame_bytes as it is, without trying the compact form first: so all chunks)
    assert st["side_transport_chunk_frames"] > 0
    assert sizes and max(sizes) <= 32
    counter = g_loop.router  # the ground's GROUND_STATION PacketCounter saw the telemetry
    gs = next(iter(counter.export_runtime_stats()["sides"]))
    assert gs["local_delivery_packets"] >= 20, gs["local_delivery_packets"]
    assert gs["drops"]["decode"] == 0
    assert r_loop.links[0].tx_lost == 0
