# nRF24L01 driver (firmware/nrf24l01.py) against the register-level simulator
# (tools/shims/nrf24_sim.py): init programs the registers, 32-byte payloads cross the air, auto-ACK
# retransmits and MAX_RT, MTU errors, the IRQ flag, and two Routers joined over the radio by a
# side profile with max_frame_bytes=32 (GPS and a 200-byte payload, chunked and reassembled).
import struct
import sys

from support import _HERE, raises

sys.path.append(_HERE + "/../../tools/shims")
import nrf24_sim  # noqa: E402
from sedsnet_node.link import MtuError  # noqa: E402
from sedsnet_node.nrf24l01 import NRF24L01, RadioError  # noqa: E402
from sx127x_sim import SimPin, SimSPI  # noqa: E402


def _radio(air, name, irq=False, **kw):
    sim = nrf24_sim.NRF24Sim(air, name)
    pin = nrf24_sim.IrqPin(sim) if irq else None
    drv = NRF24L01(SimSPI(sim), SimPin(sim, "cs"), nrf24_sim.SimCE(sim), irq=pin, name=name,
                   sleep_ms=lambda ms: None, **kw)
    got = []
    drv.on_frame = lambda mv: got.append(bytes(mv))
    return sim, drv.init(), got


def test_init_programs_registers():
    sim, _drv, _ = _radio(nrf24_sim.Air(), "A", channel=100, data_rate=250, power=-6,
                         address=b"ABCDE")
    r = sim.regs
    assert r[0x00] == 0x0F  # CRC 2 bytes, powered up, PRX
    assert r[0x05] == 100 and r[0x06] == 0x20 | (2 << 1)
    assert r[0x01] == 0 and r[0x04] == 0  # auto-ACK off by default
    assert r[0x1D] == 0x05 and r[0x1C] == 0x01  # dynamic payloads
    assert bytes(sim.wide[0x0A]) == bytes(sim.wide[0x10]) == b"ABCDE"
    assert sim.listening
    sim2, _, _ = _radio(nrf24_sim.Air(), "B", auto_ack=True, retries=15, retry_delay_us=500)
    assert sim2.regs[0x01] == 0x01 and sim2.regs[0x04] == 0x1F
    assert sim2.regs[0x06] == 0x20 | 0x06


def test_bad_settings_and_missing_chip():
    air = nrf24_sim.Air()
    raises(ValueError, _radio, air, "A", data_rate=500)
    raises(ValueError, _radio, air, "A", power=3)
    raises(ValueError, _radio, air, "A", channel=126)
    raises(ValueError, _radio, air, "A", address=b"AB")
    sim = nrf24_sim.NRF24Sim(air, present=False)
    drv = NRF24L01(SimSPI(sim), SimPin(sim, "cs"), nrf24_sim.SimCE(sim),
                   sleep_ms=lambda ms: None)
    e = raises(RadioError, drv.init)
    assert "nRF24L01" in str(e)


def test_payloads_cross_the_air_and_mtu():
    air = nrf24_sim.Air()
    _sa, a, _got_a = _radio(air, "A")
    _sb, b, got_b = _radio(air, "B", irq=True)
    frames = [bytes([i]) * (1 + i * 3) for i in range(11)]  # 1..31 bytes
    frames.append(bytes(range(32)))
    for f in frames:
        a.send(f)
        a.poll()
        b.poll()
    for _ in range(4):
        a.poll()
        b.poll()
    assert got_b == frames
    assert a.tx_frames == len(frames) and b.rx_frames == len(frames)
    raises(MtuError, a.send, bytes(33))
    assert a.tx_errors == 1
    other = nrf24_sim.Air()
    _, c, _got_c = _radio(other, "C", channel=5)
    _, d, got_d = _radio(other, "D", channel=6)
    c.send(b"hello")
    c.poll()
    d.poll()
    assert got_d == [] and c.tx_frames == 1  # no ACK asked: sent into the void


def test_auto_ack_and_max_rt():
    air = nrf24_sim.Air()
    sa, a, _ = _radio(air, "A", auto_ack=True, retries=3)
    a.send(b"nobody")
    a.poll()
    assert a.tx_lost == 1 and a.tx_frames == 0 and sa.tx_packets == 1
    assert air.sent == 4  # the first try and 3 retransmits
    _sb, b, got_b = _radio(air, "B", auto_ack=True)
    a.send(b"somebody")
    a.poll()
    b.poll()
    assert got_b == [b"somebody"] and a.tx_frames == 1 and sa.acked == 1


def test_burst_waits_for_fifo_room():
    air = nrf24_sim.Air()
    _, a, _ = _radio(air, "A")
    sb, b, got_b = _radio(air, "B")
    for i in range(10):
        a.send(bytes([i]) * 20)
    a.poll()
    for _ in range(5):
        b.poll()
    assert got_b == [bytes([i]) * 20 for i in range(10)]
    assert sb.missed == 0


def test_routers_over_nrf24_with_a_chunking_profile():
    import sedsnet
    from sedsnet.router import Router
    if not sedsnet.data_type_exists(0x3201):
        sedsnet.register_endpoint(0x3210, "NRF_EP")
        sedsnet.register_data_type(0x3201, "NRF_GPS", True, 3, 1, 0, [0x3210])
        sedsnet.register_data_type(0x3202, "NRF_BLOB", False, 0, 2, 0, [0x3210])
    t = [1000]
    air = nrf24_sim.Air()
    _, ra, _ = _radio(air, "A", auto_ack=True)
    _, rb, _ = _radio(air, "B", irq=True, auto_ack=True)
    got = []
    a = Router(hostname="rocket", now_ms=lambda: t[0])
    sa = a.add_side_packed_profile("NRF", ra.send, profile="ipv6_like", max_frame_bytes=32)
    ra.on_frame = lambda f: a.receive_packed_from_side(sa, f)
    b = Router(hostname="ground", now_ms=lambda: t[0],
               handlers=[(0x3210, lambda p: got.append(bytes(p.payload)), None)])
    sb = b.add_side_packed_profile("NRF", rb.send, profile="ipv6_like", max_frame_bytes=32)
    rb.queue_to(b, sb)  # the IRQ-safe receive queue, drained by process_all_queues

    def pump():
        for _ in range(6):
            ra.poll()
            rb.poll()
            b.process_all_queues()
            a.process_all_queues()

    a.periodic(0)
    b.periodic(0)
    pump()
    blob = bytes((i * 5) & 0xFF for i in range(200))
    for i in range(3):
        t[0] += 20
        a.log_f32(0x3201, [1.0 + i, 2.0, 3.0])
        pump()
    a.log_bytes(0x3202, blob)
    pump()
    assert got == [struct.pack("<3f", 1.0 + i, 2.0, 3.0) for i in range(3)] + [blob]
    assert ra.tx_errors == 0 and ra.tx_lost == 0
    st = b.export_runtime_stats()["sides"][0]
    assert st["drops"]["decode"] == 0 and st["drops"]["isr_full"] == 0
    assert a.export_runtime_stats()["sides"][0]["side_transport_chunk_frames"] > 13
