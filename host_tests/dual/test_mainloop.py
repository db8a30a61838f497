# Main loop (firmware/mainloop.py) with a fake router, fake clock, fake WDT/LED and a UART link:
# frames reach the router with their side id, sensors run on their own periods, the watchdog is
# fed every pass, and exceptions from handlers, sensors and links are counted without stopping;
# a frame the router refuses (SedsError) is a counted drop.
from sedsnet_node import cobs
from sedsnet.errors import DecodeError
from linkfakes import FakeUart, crc_frame
from support import Clock
from sedsnet_node.mainloop import MainLoop, Sensor
from sedsnet_node.uart_link import UartLink


class FakeRouter:
    def __init__(self):
        self.received = []
        self.logged = []
        self.periodic_calls = 0
        self.fail_periodic = 0
        self.fail_receive = None  # an exception to raise from receive_packed_from_side
        self.nested = None  # called with (side_id, frame) inside receive_packed_from_side

    def receive_packed_from_side(self, side_id, frame):
        if self.fail_receive is not None:
            raise self.fail_receive
        self.received.append((side_id, bytes(frame)))
        if self.nested is not None:
            self.nested(side_id, frame)

    def log_f32(self, ty, values):
        self.logged.append((ty, list(values)))

    def log_bytes(self, ty, data):  # a Sensor's float32 bytes (mainloop.Sensor.emit)
        import struct
        self.logged.append((ty, [struct.unpack_from("<f", data, i)[0]
                                 for i in range(0, len(data), 4)]))

    def periodic(self, timeout_ms):
        self.periodic_calls += 1
        if self.fail_periodic:
            self.fail_periodic -= 1
            raise RuntimeError("user handler error")


class Counter:
    def __init__(self):
        self.feeds = 0
        self.values = []

    def feed(self):
        self.feeds += 1

    def value(self, v):
        self.values.append(v)


def _loop(router, clock, **kw):
    logs = []
    wdt = Counter()
    led = Counter()
    loop = MainLoop(router, clock=clock, sleep_ms=clock.sleep, wdt=wdt, led=led,
                    log=logs.append, **kw)
    return loop, wdt, led, logs


def test_frames_sensors_watchdog_led():
    router = FakeRouter()
    clock = Clock()
    loop, wdt, led, _ = _loop(router, clock, idle_ms=10)
    uart = FakeUart()
    loop.add_link(UartLink(uart, name="UART0"), 3)
    vals = [1.0, 2.0, 3.0]
    loop.add_sensor(Sensor("gps", 100, 200, lambda: vals))
    loop.add_sensor(Sensor("imu", 101, 50, lambda: [0.5] * 6))
    uart.feed(b"\x00" + cobs.encode(crc_frame(b"abc")) + b"\x00")
    loop.run(steps=100)  # 1000 ms of simulated time
    assert router.received == [(3, crc_frame(b"abc"))]
    gps = [v for t, v in router.logged if t == 100]
    imu = [v for t, v in router.logged if t == 101]
    assert len(gps) == 5 and len(imu) == 20
    assert gps[0] == vals
    assert wdt.feeds == 100 and router.periodic_calls == 100
    assert led.values == [1, 0]  # heartbeat: toggles every 500 ms
    st = loop.status()
    assert st["UART0"]["rx_frames"] == 1 and st["samples_imu"] == 20


def test_exceptions_are_counted_and_the_loop_continues():
    router = FakeRouter()
    router.fail_periodic = 3
    clock = Clock()
    loop, wdt, _, logs = _loop(router, clock)
    uart = FakeUart()
    loop.add_link(UartLink(uart, name="UART0"), 1)

    def broken():
        raise OSError(5)
    loop.add_sensor(Sensor("bad", 100, 10, broken))
    router.fail_receive = ValueError("handler blew up")
    uart.feed(b"\x00" + cobs.encode(crc_frame(b"x")) + b"\x00")
    loop.run(steps=50)
    assert loop.handler_errors == 3 and loop.rx_errors == 1
    assert loop.sensor_errors >= 4
    assert wdt.feeds == 50 and loop.loops == 50
    assert "handler blew up" in "\n".join(logs) and "user handler error" in "\n".join(logs)
    n_logs = len(logs)
    loop.run(steps=2000)
    assert len(logs) < n_logs + 30  # rate-limited


def test_frames_the_router_refuses_are_drops_not_faults():
    router = FakeRouter()
    router.fail_receive = DecodeError("bad frame")
    clock = Clock()
    loop, _, _, logs = _loop(router, clock)
    uart = FakeUart()
    loop.add_link(UartLink(uart, name="UART0"), 2)
    for body in (b"a", b"b", b"c"):
        uart.feed(b"\x00" + cobs.encode(crc_frame(body)) + b"\x00")
    loop.run(steps=5)
    assert loop.rx_drops == 3 and loop.errors == 0 and loop.rx_errors == 0
    assert len([line for line in logs if "bad frame" in line]) == 1  # the first one only
    assert "drops=3" in loop.status_line() and loop.status()["rx_drops"] == 3


class BufferLink:
    """A link that hands over views of its one receive buffer, as UartLink and SX127x do."""

    name = "RADIO"
    mtu = 16
    on_frame = None

    def __init__(self):
        self.buf = bytearray(16)

    def poll(self):
        pass


def test_a_frame_survives_a_nested_receive_into_the_same_buffer():
    # the router transmits while it routes a frame; a radio polled from inside that send
    # receives the next packet into the same buffer and hands it over (nested)
    router = FakeRouter()
    loop, _, _, _ = _loop(router, Clock())
    link = loop.add_link(BufferLink(), 4)
    view = memoryview(link.buf)
    seen = []

    def nested(side_id, frame):
        if len(seen) == 0:
            seen.append(frame)
            link.buf[:5] = b"later"
            link.on_frame(view[:5])  # the nested frame: passed on as it is
        else:
            seen.append(frame)
    router.nested = nested
    link.buf[:5] = b"first"
    link.on_frame(view[:5])
    assert bytes(seen[0]) == b"first"  # the outer frame was copied out of the link's buffer
    assert router.received == [(4, b"first"), (4, b"later")]
    assert seen[1] is not seen[0] and bytes(seen[1]) == b"later"


def test_sensor_that_falls_behind_does_not_burst():
    router = FakeRouter()
    clock = Clock()
    loop, _, _, _ = _loop(router, clock)
    loop.add_sensor(Sensor("s", 7, 100, lambda: [1.0]))
    loop.step()
    clock.t += 1000  # a long stall
    loop.step()
    loop.step()
    assert len(router.logged) == 2


def test_stop_from_a_handler_and_status_line():
    router = FakeRouter()
    clock = Clock()
    loop, _, _, logs = _loop(router, clock, status_ms=100)
    loop.add_link(UartLink(FakeUart(), name="UART0"), 1)
    loop.add_sensor(Sensor("s", 7, 30, lambda: (loop.stop() if clock.t > 1500 else None) or [1.0]))
    loop.run()
    assert 1500 < clock.t < 1600
    assert any("UART0 tx=0 rx=0" in line for line in logs)


def test_status_line_reports_the_heap_where_the_runtime_can():
    import gc
    router = FakeRouter()
    loop, _, _, _ = _loop(router, Clock(), status_ms=100)
    line = loop.status_line()
    if hasattr(gc, "mem_alloc"):  # MicroPython and CircuitPython
        used = int(line.split(" heap=")[1].split()[0])
        assert used > 0 and loop.heap_peak >= used and " free=" in line
    else:  # CPython has no heap figure to give
        assert "heap=" not in line and loop.heap_peak == 0


def test_status_line_carries_the_network_time_once_there_is_one():
    import sedsnet
    clock = Clock()
    to_src, to_cons = [], []
    src = sedsnet.Router(now_ms=clock, hostname="ts-src", timesync_role=1)
    cons = sedsnet.Router(now_ms=clock, hostname="ts-cons")
    s_side = src.add_side_packed("C", lambda f: to_cons.append(bytes(f)))
    c_side = cons.add_side_packed("S", lambda f: to_src.append(bytes(f)))
    loop, _, _, _ = _loop(cons, clock, status_ms=1000)
    assert " net_ms=" not in loop.status_line()  # no source heard yet: no network time
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    for _ in range(300):  # 3 s: three announcements
        clock.t += 10
        src.periodic(0)
        loop.step()
        while to_cons or to_src:
            if to_cons:
                cons.receive_packed_from_side(c_side, to_cons.pop(0))
            if to_src:
                src.receive_packed_from_side(s_side, to_src.pop(0))
    line = loop.status_line()
    assert " net_ms=" in line, line
    net = int(line.split(" net_ms=")[1].split()[0])
    assert abs(net - src.network_time_ms()) <= 50, (net, src.network_time_ms())
    assert net > 1767268800000  # the source's 2026-01-01 12:00, not the consumer's uptime
