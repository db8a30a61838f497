# The radio sides' shared TX queue (firmware/sedsnet_node/radio_queue.py) under both drivers:
# send -> start TX -> completion -> next frame or back to RX allocates nothing (heap_lock, with a
# quiet SPI fake after a simulated init), the TX timeout is counted per driver, the SPI write is
# exact for the nRF24 (dynamic payload length) and rounded for the SX127x (RegPayloadLength),
# and the simulators' in-process Air is one class (nrf24_sim.Air subclasses sx127x_sim.Air).
import sys

from support import _HERE, Clock, micropython_only, raises

sys.path.append(_HERE + "/../../tools/shims")
import nrf24_sim  # noqa: E402
import sx127x_sim  # noqa: E402
from sedsnet_node.link import MtuError  # noqa: E402
from sedsnet_node.nrf24l01 import NRF24L01  # noqa: E402
from sedsnet_node.radio_queue import RadioQueue  # noqa: E402
from sedsnet_node.sx127x import SX127x  # noqa: E402


class _QuietSPI:
    """After init: every read gives `reg`, every command's STATUS byte is `status`; counts the
    payload bytes written in writes longer than two bytes (FIFO bursts / TX payloads)."""

    def __init__(self, flags_in_reg):
        self.status = 0x0E
        self.reg = 0
        self.burst = 0
        self.bursts = 0
        self.flags_in_reg = flags_in_reg  # the SX127x reads IRQ flags; the nRF24 gets STATUS

    def flags(self, v):
        if self.flags_in_reg:
            self.reg = v
        else:
            self.status = v

    def write(self, buf):
        n = len(buf)
        if n > 2:
            self.burst = n
            self.bursts += 1

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = self.reg

    def write_readinto(self, wbuf, rbuf):
        rbuf[0] = self.status


class _Pin:
    def __init__(self):
        self.v = 1

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v
        return None


def _nrf(clock):
    sim = nrf24_sim.NRF24Sim(nrf24_sim.Air(), "A")
    drv = NRF24L01(sx127x_sim.SimSPI(sim), sx127x_sim.SimPin(sim, "cs"), nrf24_sim.SimCE(sim),
                   sleep_ms=lambda ms: None, ticks_ms=clock).init()
    spi = _QuietSPI(False)
    spi.reg = 0x01  # FIFO_STATUS: RX FIFO empty
    drv.spi, drv.cs, drv.ce = spi, _Pin(), _Pin()
    return drv, spi


def _sx(clock):
    sim = sx127x_sim.SX127xSim(sx127x_sim.Air(), "A")
    drv = SX127x(sx127x_sim.SimSPI(sim), sx127x_sim.SimPin(sim, "cs"), reset=sx127x_sim.SimPin(),
                 sleep_ms=lambda ms: None, ticks_ms=clock).init()
    spi = _QuietSPI(True)
    drv.spi, drv.cs = spi, _Pin()
    return drv, spi


def test_both_drivers_are_radio_queues():
    clock = Clock()
    for make in (_nrf, _sx):
        drv, _spi = make(clock)
        assert isinstance(drv, RadioQueue)
        st = drv.stats()
        assert st["tx_queued"] == 0 and st["tx_frames"] == 0 and st["tx_errors"] == 0
    drv, _ = _nrf(clock)
    raises(MtuError, drv.send, b"")  # a dynamic payload has at least one byte
    raises(MtuError, drv.send, bytes(33))
    drv, _ = _sx(clock)
    raises(MtuError, drv.send, bytes(256))
    assert drv.tx_errors == 1


def test_tx_write_lengths_exact_and_rounded():
    clock = Clock()
    nrf, nspi = _nrf(clock)
    sx, sspi = _sx(clock)
    for n in (3, 17, 32):
        assert nrf.send(bytes(range(n))) == n
        assert nspi.burst == n  # W_TX_PAYLOAD clocks in exactly the payload
        nspi.status = 0x2E  # TX_DS
        nrf.poll()
        nspi.status = 0x0E
    for n, wrote in ((3, 16), (16, 16), (17, 32), (200, 208), (255, 255)):
        assert sx.send(bytes(n)) == n
        assert sspi.burst == wrote
        sspi.reg = 0x08  # TxDone
        sx.poll()
        sspi.reg = 0
    assert nrf.tx_frames == 3 and nrf.tx_bytes == 52
    assert sx.tx_frames == 5 and sx.tx_bytes == 3 + 16 + 17 + 200 + 255


def _locked(steps):
    """Run each step with the heap locked (any allocation raises MemoryError)."""
    import micropython
    micropython.heap_lock()
    try:
        for step in steps:
            step()
    finally:
        micropython.heap_unlock()


def _tx_steps(drv, frames, spi, done, idle, late_ms, clock):
    """Queue every frame (the first starts at once), let each poll finish one with the chip's
    `done` flags, then send one more that never finishes: after late_ms it has timed out."""

    def send_all():
        for f in frames:
            drv.send(f)

    def finish_all():
        spi.flags(done)
        for _ in frames:
            drv.poll()
        spi.flags(idle)

    def stuck():
        drv.send(frames[0])
        clock.t += late_ms + 1
        drv.poll()
    return (send_all, finish_all, stuck)


@micropython_only("heap_lock exists only under MicroPython")
def test_nrf24_tx_path_does_not_allocate():
    clock = Clock()
    drv, spi = _nrf(clock)
    frames = (bytes(range(20)), memoryview(bytearray(32)), b"x")
    _locked(_tx_steps(drv, frames, spi, 0x2E, 0x0E, 100, clock))  # TX_DS; 100 ms timeout
    assert not drv._tx_busy
    assert drv.tx_frames == 3 and drv.tx_bytes == 53
    assert drv.tx_lost == 1 and drv.tx_errors == 1 and drv.stats()["tx_queued"] == 0


@micropython_only("heap_lock exists only under MicroPython")
def test_sx127x_tx_path_does_not_allocate():
    clock = Clock()
    drv, spi = _sx(clock)
    frames = (bytes(100), memoryview(bytearray(255)))  # the second waits in the 2-slot queue
    _locked(_tx_steps(drv, frames, spi, 0x08, 0, 5000, clock))  # TxDone; 5 s timeout
    assert not drv._tx_busy
    assert drv.tx_frames == 2 and drv.tx_bytes == 355
    assert drv.tx_timeouts == 1 and drv.tx_errors == 1 and drv.stats()["tx_queued"] == 0


def test_sim_airs_are_one_medium():
    assert issubclass(nrf24_sim.Air, sx127x_sim.Air)
    verdicts = ["corrupt", "drop"]
    air = nrf24_sim.Air(fault=lambda p: verdicts.pop(0) if verdicts else None)
    a = nrf24_sim.NRF24Sim(air, "A")
    b = nrf24_sim.NRF24Sim(air, "B")
    drv_b = NRF24L01(sx127x_sim.SimSPI(b), sx127x_sim.SimPin(b, "cs"), nrf24_sim.SimCE(b),
                     sleep_ms=lambda ms: None).init()
    got = []
    drv_b.on_frame = lambda mv: got.append(bytes(mv))
    assert air.transmit(a, b.settings(), b"hi") is True  # "corrupt": the nRF24 CRC hides it
    assert air.transmit(a, b.settings(), b"no") is False  # dropped: nobody takes (or ACKs) it
    assert air.transmit(a, b"other", b"no") is False  # other settings: missed
    drv_b.poll()
    assert got == [b"hi"] and air.sent == 3
    lora = sx127x_sim.Air(fault=lambda p: "corrupt")
    sa = sx127x_sim.SX127xSim(lora, "A")
    sb = sx127x_sim.SX127xSim(lora, "B")
    drv = SX127x(sx127x_sim.SimSPI(sb), sx127x_sim.SimPin(sb, "cs"), reset=sx127x_sim.SimPin(),
                 sleep_ms=lambda ms: None).init()
    assert lora.transmit(sa, sb.settings(), b"x") is True
    drv.poll()
    assert drv.rx_crc_fail == 1 and drv.rx_frames == 0
