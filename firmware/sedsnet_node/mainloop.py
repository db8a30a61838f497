# The board's main loop: poll every link side and feed its frames to the router, sample sensors on
# their own periods, run the router's periodic work, feed the watchdog and blink a status LED.
# An exception from a user handler, a sensor or a link is logged, counted and the loop goes on;
# a frame the router refuses (a sedsnet.SedsError: bad frame, unknown type) is a counted drop.
import gc
from struct import pack_into

from sedsnet.errors import SedsError

# time.ticks_* on MicroPython; wrap-safe integer ticks on CircuitPython and CPython
from sedsnet.compat import const, ticks_add, ticks_diff, ticks_ms

_HEARTBEAT_MS = const(500)
_LOG_FIRST = const(10)     # errors printed in full; after that one line per _LOG_EVERY
_LOG_EVERY = const(100)


class Sensor:
    """A sensor sampled every period_ms: read() returns a list of floats logged as data type ty.

    The list may be reused between calls (no per-sample allocation beyond the floats).
    """

    def __init__(self, name, ty, period_ms, read):
        self.name = name
        self.ty = ty
        self.period_ms = period_ms
        self.read = read
        self.next_ms = 0
        self.samples = 0
        self._buf = b""

    def emit(self, router):  # (sedsnet_node/netfeat.py's network variables set instead)
        # the values as little-endian float32 bytes, logged raw: for a Float32 type the frame
        # log_f32 sends, without loading sedsnet/typed_log.py (3.5 KB of a board's heap)
        v = self.read()
        buf = self._buf
        if len(buf) != 4 * len(v):
            buf = self._buf = bytearray(4 * len(v))
        for i in range(len(v)):
            pack_into("<f", buf, 4 * i, v[i])
        router.log_bytes(self.ty, buf)


class PacketCounter:
    """A router handler for the board's own endpoints: counts packets, logs the first few.

    A packed handler (the frame's bytes), given as (endpoint, None, counter): a Router with no
    Packet handler never loads sedsnet.packet (6 KB of code a board compiling .py sources,
    CircuitPython, has no heap for). The few logged frames are parsed here; a sealed one
    (already authenticated by the router) is opened with the router's key to log it."""

    router = None  # set by app.build once the router exists

    def __init__(self, name, log=print, show=3):
        self.name = name
        self.log = log
        self.show = show
        self.count = 0

    def __call__(self, frame):
        self.count += 1
        if self.count <= self.show:
            from sedsnet.ids import sender_name
            from sedsnet.wire import FrameHeader
            h = FrameHeader()
            h.parse(frame)
            if h.e2e and self.router is not None:
                from sedsnet.e2e_frame import open_frame
                h, frame, _n = open_frame(self.router, h, frame, len(frame))
            pl = frame[h.payload_start:h.payload_end]
            self.log("sedsnet: %s got type %d from %s: %s" % (
                self.name, h.ty, sender_name(h.src_addr),
                "E2E-sealed, %d bytes" % len(pl) if h.e2e else bytes(pl).hex()))


class MainLoop:
    """Drives one router. clock() -> ms ticks and sleep_ms(ms) are injectable, so tests run
    simulated time; wdt (machine.WDT-like, .feed()) and led (.value(v)) are optional."""

    def __init__(self, router, clock=ticks_ms, sleep_ms=None, wdt=None, led=None, log=print,
                 periodic_ms=5, idle_ms=1, status_ms=0):
        self.router = router
        self.clock = clock
        self.sleep_ms = sleep_ms
        self.wdt = wdt
        self.led = led
        self.log = log
        self.periodic_ms = periodic_ms
        self.idle_ms = idle_ms
        self.status_ms = status_ms
        self.links = []
        self.sensors = []
        self.loops = 0
        self.errors = 0          # every exception the loop survived
        self.handler_errors = 0  # from the router (user handlers run inside it)
        self.rx_drops = 0        # frames the router refused (SedsError; counted per side too)
        self.rx_errors = 0       # anything else raised while the router took a frame
        self.sensor_errors = 0
        self.link_errors = 0
        self.last_error = None
        self._led_on = 0
        self._next_led = 0
        self._next_status = 0
        self.heap_peak = 0  # largest heap in use seen at a status line (bytes)
        self._running = False
        self._rx_depth = 0       # >0 while the router is taking a frame (see _make_rx)
        self._rx_copy = None     # memoryview of the copy buffer, sized by the largest link MTU

    # -- wiring --------------------------------------------------------------------------------
    def add_link(self, link, side_id):
        """Hand each frame the link receives to the router as coming from side_id."""
        self.links.append(link)
        mtu = getattr(link, "mtu", 255)
        if self._rx_copy is None or len(self._rx_copy) < mtu:
            self._rx_copy = memoryview(bytearray(mtu))
        link.on_frame = self._make_rx(side_id)
        return link

    def _make_rx(self, side_id):
        receive = self.router.receive_packed_from_side

        def on_frame(frame):
            # A link hands over a view of its own receive buffer, and the router may transmit
            # while it routes the frame; a radio polled from inside that send can overwrite the
            # buffer. So the outermost frame is copied into one preallocated buffer; a frame
            # arriving inside that call is passed as it is (a busy router queues a copy).
            n = len(frame)
            if not self._rx_depth:
                copy = self._rx_copy
                copy[:n] = frame
                frame = copy[:n]
            self._rx_depth += 1
            try:
                receive(side_id, frame)
            except SedsError as e:  # a bad frame, a type we do not know: dropped, not a fault
                self.rx_drops += 1
                if self.rx_drops == 1:
                    self.log("sedsnet: dropped a frame from side %d: %s: %s"
                             % (side_id, type(e).__name__, e))
            except Exception as e:
                self.rx_errors += 1
                self._fault("rx side %d" % side_id, e)
            finally:
                self._rx_depth -= 1
        return on_frame

    def add_sensor(self, sensor):
        sensor.next_ms = self.clock()
        self.sensors.append(sensor)
        return sensor

    # -- one pass --------------------------------------------------------------------------------
    def step(self):
        now = self.clock()
        for link in self.links:
            try:
                link.poll()
            except Exception as e:
                self.link_errors += 1
                self._fault("link " + link.name, e)
        router = self.router
        for s in self.sensors:
            if ticks_diff(now, s.next_ms) >= 0:
                s.next_ms = ticks_add(s.next_ms, s.period_ms)
                if ticks_diff(now, s.next_ms) >= 0:  # fell behind: skip, do not burst
                    s.next_ms = ticks_add(now, s.period_ms)
                try:
                    s.emit(router)
                    s.samples += 1
                except Exception as e:
                    self.sensor_errors += 1
                    self._fault("sensor " + s.name, e)
        try:
            router.periodic(self.periodic_ms)
        except Exception as e:
            self.handler_errors += 1
            self._fault("router", e)
        if self.wdt is not None:
            self.wdt.feed()
        if self.led is not None and ticks_diff(now, self._next_led) >= 0:
            self._led_on ^= 1
            self.led.value(self._led_on)
            self._next_led = ticks_add(now, _HEARTBEAT_MS)
        if self.status_ms and ticks_diff(now, self._next_status) >= 0:
            self._next_status = ticks_add(now, self.status_ms)
            self.log(self.status_line())
        self.loops += 1

    def run(self, steps=None):
        """Loop forever (or for `steps` passes); stop() ends it from a handler."""
        self._running = True
        sleep = self.sleep_ms
        while self._running:
            self.step()
            if sleep is not None and self.idle_ms:
                sleep(self.idle_ms)
            if steps is not None:
                steps -= 1
                if steps <= 0:
                    break

    def run_forever(self):
        """run() until Ctrl-C, then print a summary (the board drops to its REPL)."""
        try:
            self.run()
        except KeyboardInterrupt:
            # a Ctrl-C that lands inside a garbage collection can leave the collector's lock
            # bit set (seen on the Unix port); a collection clears it before we allocate
            import gc
            gc.collect()
            self.log("sedsnet: stopped: " + self.status_line())
            if self.wdt is not None:
                self.log("sedsnet: the watchdog is still running and will reset the board")

    def stop(self):
        self._running = False

    # -- reporting -------------------------------------------------------------------------------
    def _fault(self, where, e):
        self.errors += 1
        self.last_error = e
        n = self.errors
        if n <= _LOG_FIRST or n % _LOG_EVERY == 0:
            self.log("sedsnet: error #%d in %s: %s: %s" % (n, where, type(e).__name__, e))

    def status(self):
        d = {"loops": self.loops, "errors": self.errors, "handler_errors": self.handler_errors,
             "rx_drops": self.rx_drops, "rx_errors": self.rx_errors,
             "sensor_errors": self.sensor_errors,
             "link_errors": self.link_errors}
        for s in self.sensors:
            d["samples_" + s.name] = s.samples
        for link in self.links:
            d[link.name] = link.stats()
        return d

    def status_line(self):
        head = "sedsnet: loops=%d errors=%d drops=%d" % (self.loops, self.errors, self.rx_drops)
        used = _heap_used()
        if used is not None:  # MicroPython/CircuitPython: heap in use now and its high-water
            self.heap_peak = max(self.heap_peak, used)
            head += " heap=%d peak=%d free=%d" % (used, self.heap_peak, gc.mem_free())
        ts = getattr(self.router, "ts", None)  # time sync, once loaded (a source was heard)
        net = ts.network_time_ms() if ts is not None else None
        if net is not None:
            head += " net_ms=%d" % net
        parts = [head]
        for link in self.links:
            parts.append("%s tx=%d rx=%d drop=%d" % (link.name, link.tx_frames, link.rx_frames,
                                                     link.rx_dropped))
        return " | ".join(parts)


def _heap_used():
    """Bytes of heap in use, or None where the runtime cannot say (CPython)."""
    alloc = getattr(gc, "mem_alloc", None)
    return alloc() if alloc is not None else None
