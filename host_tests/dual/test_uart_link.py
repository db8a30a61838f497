# UART link side (firmware/uart_link.py): frames round-trip through COBS over a fake UART; under
# injected line noise, truncated frames and flipped bits every intact frame is recovered in order
# and no corrupt frame is delivered; oversize frames are refused on send and dropped on receive.
from sedsnet_node import cobs
from sedsnet_node.link import MtuError
from linkfakes import FakeBusioUart, FakeUart, Rng, crc_frame
from support import raises
from sedsnet_node.uart_link import UartLink


def _collect(link):
    got = []
    link.on_frame = lambda mv: got.append(bytes(mv))
    return got


def _drain(link, limit=100000):
    for _ in range(limit):
        if not link.poll():
            return


def test_send_then_receive_round_trip():
    a = FakeUart()
    link = UartLink(a, name="UART0", mtu=300)
    frames = [crc_frame(b"x" * n) for n in (1, 10, 200, 296)]
    for f in frames:
        link.send(f)
    assert link.tx_frames == 4
    wire = bytes(a.tx)
    assert wire[0] == 0 and wire[-1] == 0
    b = FakeUart(Rng(5), max_chunk=9)
    b.feed(wire)
    rx = UartLink(b, mtu=300)
    got = _collect(rx)
    _drain(rx)
    assert got == frames
    assert rx.rx_frames == 4 and rx.rx_dropped == 0


def test_busio_style_uart():
    a = FakeUart()
    UartLink(a).send(crc_frame(b"circuit"))
    b = FakeBusioUart()
    b.feed(bytes(a.tx))
    rx = UartLink(b)
    got = _collect(rx)
    _drain(rx)
    assert got == [crc_frame(b"circuit")]


def test_noise_truncation_and_bit_flips():
    rng = Rng(2024)
    intact = []
    wire = bytearray()
    corrupt = 0
    for i in range(300):
        frame = crc_frame(rng.bytes(4 + rng.below(250)))
        enc = bytearray(b"\x00" + cobs.encode(frame) + b"\x00")
        kind = rng.below(6)
        if kind == 0:  # random line noise (zeros included) before the frame
            wire.extend(rng.bytes(1 + rng.below(40)))
        elif kind == 1:  # a frame cut short, then the next frame starts
            wire.extend(enc[:1 + rng.below(len(enc) - 2)])
            corrupt += 1
            continue
        elif kind == 2:  # a flipped bit inside the body
            pos = 1 + rng.below(len(enc) - 2)
            enc[pos] ^= 1 << rng.below(8)
            wire.extend(enc)
            corrupt += 1
            continue
        wire.extend(enc)
        intact.append(frame)
    uart = FakeUart(Rng(99), max_chunk=50)
    uart.feed(wire)
    link = UartLink(uart, mtu=300)
    got = _collect(link)
    _drain(link)
    assert got == intact
    assert corrupt > 50 and len(intact) > 150
    assert link.rx_dropped > 0 and link.rx_crc_fail > 0
    st = link.stats()
    assert st["rx_frames"] == len(intact) and st["link"] == "uart"


def test_mtu_bounds():
    a = FakeUart()
    link = UartLink(a, name="UART0", mtu=64)
    e = raises(MtuError, link.send, bytes(65))
    assert "UART0" in str(e) and "64" in str(e)
    assert a.tx == bytearray() and link.tx_errors == 1
    big = UartLink(FakeUart(), mtu=200)
    big.send(crc_frame(bytes(150)))
    big.send(crc_frame(b"ok"))
    b = FakeUart()
    b.feed(bytes(big.uart.tx))
    small = UartLink(b, mtu=64)
    got = _collect(small)
    _drain(small)
    assert got == [crc_frame(b"ok")]
    assert small.stats()["rx_oversize"] == 1


def test_irq_handler_only_sets_a_flag():
    link = UartLink(FakeUart())
    assert not link.pending
    link.irq_handler(None)
    assert link.pending
    link.poll()
    assert not link.pending
