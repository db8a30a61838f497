# SX127x LoRa driver (firmware/sx127x.py) against the register-level simulator
# (tools/shims/sx127x_sim.py): init programs the datasheet registers, frames cross a simulated
# air between two radios with RSSI/SNR, CRC errors and MTU limits are counted, the TX queue drains.
import sys

from support import _HERE, Clock, raises

sys.path.append(_HERE + "/../../tools/shims")
import sx127x_sim  # noqa: E402
from sedsnet_node.link import MtuError  # noqa: E402
from sedsnet_node.sx127x import SX127x, RadioError  # noqa: E402


def _radio(air, name, dio0=False, **kw):
    sim = sx127x_sim.SX127xSim(air, name)
    cs = sx127x_sim.SimPin(sim, "cs")
    pin = sx127x_sim.SimPin(sim, "dio0") if dio0 else None
    drv = SX127x(sx127x_sim.SimSPI(sim), cs, reset=sx127x_sim.SimPin(), dio0=pin, name=name,
                 sleep_ms=lambda ms: None, **kw)
    got = []
    drv.on_frame = lambda mv: got.append(bytes(mv))
    return sim, drv.init(), got


def test_init_programs_registers():
    sim, _drv, _ = _radio(sx127x_sim.Air(), "A")
    r = sim.regs
    assert (r[6], r[7], r[8]) == (0xE4, 0xC0, 0x00)  # 915 MHz
    assert r[0x1D] == 0x72 and r[0x1E] == 0x74   # BW125 CR4/5 explicit; SF7 CRC on
    assert r[0x09] == 0xFF and r[0x4D] == 0x84   # PA_BOOST 17 dBm
    assert r[0x39] == 0x12 and r[0x26] == 0x04
    assert sim.lora and sim.mode == 5            # listening
    sim2, _, _ = _radio(sx127x_sim.Air(), "B", freq_hz=433000000, sf=12, bw_hz=125000, cr=8,
                        tx_power=20)
    r = sim2.regs
    assert (r[6], r[7], r[8]) == (0x6C, 0x40, 0x00)
    assert r[0x1E] >> 4 == 12 and r[0x1D] == 0x78
    assert r[0x26] == 0x0C and r[0x4D] == 0x87 and r[0x09] == 0xFF


def test_bad_settings_and_missing_chip():
    air = sx127x_sim.Air()
    raises(ValueError, _radio, air, "A", sf=6)
    raises(ValueError, _radio, air, "A", bw_hz=100000)
    raises(ValueError, _radio, air, "A", tx_power=21)
    sim = sx127x_sim.SX127xSim(air)
    sim.regs[0x42] = 0x00
    drv = SX127x(sx127x_sim.SimSPI(sim), sx127x_sim.SimPin(sim, "cs"), sleep_ms=lambda ms: None)
    e = raises(RadioError, drv.init)
    assert "0x00" in str(e)


def test_frames_cross_the_air_with_rssi_snr():
    air = sx127x_sim.Air()
    sa, a, got_a = _radio(air, "A")
    sb, b, got_b = _radio(air, "B", dio0=True)
    sb.rssi, sb.snr_q = -97, -10
    frames = [bytes([i]) * (1 + i * 20) for i in range(12)] + [bytes(range(255))]
    for f in frames:
        a.send(f)
        a.poll()  # TxDone -> back to RX
        assert b.poll() == 1
    assert got_b == frames and got_a == []
    st = b.stats()
    assert st["rx_frames"] == len(frames) and st["link"] == "sx127x"
    assert st["snr"] == -2.5 and st["rssi"] == -97 - 3
    assert a.stats()["tx_frames"] == len(frames)
    b.send(b"reply")
    assert b.poll() == 0
    a.poll()
    assert got_a == [b"reply"]
    assert sb.mode == 5 and sa.mode == 5


def test_mtu_crc_errors_and_mismatched_settings():
    verdicts = []
    air = sx127x_sim.Air(fault=lambda p: verdicts.pop(0) if verdicts else None)
    _, a, _ = _radio(air, "A")
    _, b, got = _radio(air, "B")
    e = raises(MtuError, a.send, bytes(256))
    assert "255" in str(e)
    verdicts.extend(["corrupt", "drop", None])
    for f in (b"one", b"two", b"three"):
        a.send(f)
        a.poll()
        b.poll()
    assert got == [b"three"]
    assert b.rx_crc_fail == 1 and b.rx_dropped == 1
    sc, c, got_c = _radio(air, "C", sf=9)
    a.send(b"four")
    a.poll()
    c.poll()
    assert got_c == [] and sc.missed == 1


def test_tx_queue_is_bounded_and_drains():
    air = sx127x_sim.Air()
    _sa, a, _ = _radio(air, "A", tx_queue=2)
    _sb, b, got = _radio(air, "B")
    # the sim finishes TX at once, so hold the first TX "on air" by not polling A
    a.send(b"1")
    a.send(b"2")
    assert a.send(b"3") == 0 and a.tx_errors == 1
    for _ in range(3):
        b.poll()  # the receiver reads each packet before the next TX overwrites its FIFO
        a.poll()
    assert got == [b"1", b"2"]
    assert a.tx_frames == 2 and a.stats()["tx_queued"] == 0


class _StuckSim(sx127x_sim.SX127xSim):
    """A radio whose TxDone never comes (a dead PA, DIO0 not wired...)."""

    def _transmit(self):
        self.tx_packets += 1


class _Hw:
    def __init__(self, sim):
        self.sim = sim

    def spi(self, side):
        return sx127x_sim.SimSPI(self.sim)

    def pin_out(self, pin, value=1):
        return sx127x_sim.SimPin(self.sim, "cs") if pin == "CS" else sx127x_sim.SimPin()

    def pin_in(self, pin):
        return sx127x_sim.SimPin(self.sim, "dio0")


def test_make_link_times_a_stuck_tx_on_the_loop_clock():
    # app.build passes its clock to make_link, which hands it to the radio: a stuck TX
    # times out after 5 s of that clock (a fake one here), not of the wall clock
    from sedsnet_node import app
    clock = Clock(0)
    sim = _StuckSim(None, "A")
    link = app.make_link(_Hw(sim), {"type": "sx127x", "cs": "CS", "reset": "RST"}, clock)
    link.send(b"hello")
    link.poll()
    assert sim.tx_packets == 1 and link.tx_timeouts == 0
    clock.t = 4000
    link.poll()
    assert link.tx_timeouts == 0
    clock.t = 5001
    link.poll()
    assert link.tx_timeouts == 1 and link.tx_errors == 1 and sim.mode == 5  # back to RX


def _frf(regs):
    return (regs[6] << 16) | (regs[7] << 8) | regs[8]


class _TapAir(sx127x_sim.Air):
    """The simulated air, keeping the settings each packet went out with."""

    def __init__(self):
        sx127x_sim.Air.__init__(self)
        self.channels = []

    def transmit(self, src, settings, payload):
        self.channels.append(settings)
        sx127x_sim.Air.transmit(self, src, settings, payload)


def test_errata_registers_per_bandwidth_and_band():
    # SX1276/77/78/79 errata note: 2.1 (500 kHz: 0x36/0x3A by band) and 2.3 (below 500 kHz:
    # DETECT_OPTIMIZE bit 7 off, RegIfFreq1/2 by hand; 500 kHz: automatic IF on)
    cases = (  # freq, bw, 0x31, 0x36, 0x3A or None (left to the chip), 0x2F, 0x30
        (915000000, 125000, 0x43, 0x03, None, 0x40, 0x00),
        (868000000, 250000, 0x43, 0x03, None, 0x40, 0x00),
        (433000000, 62500, 0x43, 0x03, None, 0x40, 0x00),
        (433000000, 41700, 0x43, 0x03, None, 0x44, 0x00),
        (433000000, 7800, 0x43, 0x03, None, 0x48, 0x00),
        (915000000, 500000, 0xC3, 0x02, 0x64, None, None),
        (433000000, 500000, 0xC3, 0x02, 0x7F, None, None),
    )
    for freq, bw, det, opt1, opt2, if1, if2 in cases:
        sim, _drv, _ = _radio(sx127x_sim.Air(), "A", freq_hz=freq, bw_hz=bw)
        r = sim.regs
        got = (r[0x31], r[0x36], r[0x3A] if opt2 is not None else None,
               r[0x2F] if if1 is not None else None, r[0x30] if if2 is not None else None)
        assert got == (det, opt1, opt2, if1, if2), (freq, bw, got)
        assert r[0x37] == 0x0A  # detection threshold for SF7..12


def test_narrow_bandwidth_receives_above_the_channel_and_sends_on_it():
    # errata 2.3: below 62.5 kHz the receiver is tuned up by the note's offset (10.4 kHz:
    # 10420 Hz = 171 Frf steps at 433 MHz), the transmitter stays on the channel
    air = _TapAir()
    sa, a, _ = _radio(air, "A", freq_hz=433000000, bw_hz=10400, sf=9)
    sb, b, got = _radio(air, "B", freq_hz=433000000, bw_hz=10400, sf=9)
    channel = (433000000 * 16384 + 500000) // 1000000
    assert _frf(sa.regs) == _frf(sb.regs) == channel + 171 and sa.mode == 5
    a.send(b"narrow")
    a.poll()
    b.poll()
    assert got == [b"narrow"]
    assert air.channels[0][:3] == bytes((channel >> 16, (channel >> 8) & 0xFF, channel & 0xFF))
    assert _frf(sa.regs) == channel + 171 and sa.mode == 5  # back to RX, tuned up again
    wide, _, _ = _radio(sx127x_sim.Air(), "C", freq_hz=433000000, bw_hz=62500)
    assert _frf(wide.regs) == channel  # no offset from 62.5 kHz up
