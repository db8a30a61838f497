# Router: a Node with local handlers and the logging API (the reference's sedsnet.Router).
# log_*() packs straight into a preallocated TX buffer (or into the TX ring with queue=True)
# and the frame leaves through the same path as forwarded traffic; the tx callback gets a
# memoryview of that buffer, valid during the call (bytes(frame) to keep it). packet.py is
# imported only when a Packet is needed (packet handlers, packet sides, transmit_message), at
# the time the handler or side is added: a module loaded mid-flight may find only small holes.
import sys

from . import ids, schema
from .compat import const
from .errors import ArgumentError, DecodeError, UnknownTypeError
from .engine import BYTES_LIKE, D_UNKNOWN, LOCAL_TAG, _Views, check_frame_arg, packed_of
from .node import Node, flag, opt_int
from .ring import HDR
from .routes import LOCAL
from .schema import R_EPS, R_FIXED, R_MDT, R_PRIORITY, R_RELIABLE, R_STATIC, WIDTHS
from .wire import frame_size, log_into, log_template, pack_into, uleb_len

try:
    from ._fast import copy_into
except (ImportError, SyntaxError, ValueError, AttributeError):
    from ._pure import copy_into

_REL_UNSEQ = const(0x84)  # REL_UNSEQUENCED | REL_HAS_SEQ: "84 00" on a plain side
_STRING = const(13)
_TX_TAG = const(0xFE)  # ring tag of queued TX frames (0xFF marks a taken record)
_RESERVED_EPS = (200, 201, 202)
_HANDLER_TRIES = const(3)  # tuning.py's max_handler_retries default
_OPTIONS = ("address_mode", "requested_address", "timesync_enabled", "timesync_role",
            "timesync_priority", "timesync_source_timeout_ms", "timesync_announce_interval_ms",
            "timesync_request_interval_ms", "timesync_consumer_promotion_enabled",
            "timesync_max_slew_ppm", "e2e_mode", "e2e_key_id")
# largest value of each option (None: a bool); 4.2.7 takes timesync_role 0..2, e2e_mode a u8
_OPTION_MAX = (2, 0xFFFFFFFF, None, 2, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
               0xFFFFFFFFFFFFFFFF, None, 0xFFFFFFFF, 0xFF, 0xFFFFFFFF)
_singleton = [None]  # Router.new_singleton()


def handler_tries():
    # max_handler_retries: tuning.py is loaded only by a tuning call; until then the default
    t = sys.modules.get("sedsnet.tuning")
    return _HANDLER_TRIES if t is None else t.handler_tries()


class Router(Node):
    kind = "router"
    default_hostname = "TEST_PLATFORM"  # the reference's sender when no hostname is given

    def __init__(self, now_ms=None, handlers=None, hostname=None, address_mode=0,
                 requested_address=0, timesync_enabled=True, timesync_role=0,
                 timesync_priority=100, timesync_source_timeout_ms=5000,
                 timesync_announce_interval_ms=1000, timesync_request_interval_ms=1000,
                 timesync_consumer_promotion_enabled=True, timesync_max_slew_ppm=50000,
                 e2e_mode=255, e2e_key_id=0, max_queue_budget=None, max_recent_rx_ids=None,
                 starting_queue_size=None, queue_grow_step=None, discovery=None,
                 max_discovery_peers=None):
        self.handlers = _check_handlers(handlers)
        if any(h[1] is not None for h in self.handlers):
            from . import packet  # noqa: F401  now, while the heap is still in large pieces
        # options of features that come later (time sync, E2E): checked and kept as given
        values = (address_mode, requested_address, timesync_enabled, timesync_role,
                  timesync_priority, timesync_source_timeout_ms, timesync_announce_interval_ms,
                  timesync_request_interval_ms, timesync_consumer_promotion_enabled,
                  timesync_max_slew_ppm, e2e_mode, e2e_key_id)
        for i in range(len(values)):
            if _OPTION_MAX[i] is None:
                flag(values[i], _OPTIONS[i])
            else:
                opt_int(values[i], _OPTIONS[i], _OPTION_MAX[i])
        self.options = dict(zip(_OPTIONS, values))
        self.handler_failures = 0
        self.e2e_unacked = 0  # reliable frames delivered whose origin we could not name
        Node.__init__(self, now_ms, hostname, max_queue_budget, max_recent_rx_ids,
                      starting_queue_size, queue_grow_step, discovery, max_discovery_peers)
        self.configure_address(address_mode, requested_address)
        self.txbuf = bytearray(256)
        self.tx_views = _Views(self.txbuf)
        self.pay = bytearray(64)  # payload scratch of the typed log helpers
        self.pay_views = _Views(self.pay)

    def _default_name(self):
        t = sys.modules.get("sedsnet.tuning")  # set_runtime_device_identifier() loaded it
        return self.default_hostname if t is None else t.runtime_device_identifier()

    def configure_address(self, address_mode=0, requested_address=0):
        """4.2.7's address modes: 0 dynamic (node_address(hostname), requested_address
        ignored), 1 requested, 2 static (current_address = requested_address, 0 -> 1); the
        mode and value go out in DISCOVERY_ADDRESS. Other modes: ArgumentError."""
        mode = opt_int(address_mode, "address_mode", 0xFF)
        req = opt_int(requested_address, "requested_address", 0xFFFFFFFF)
        if mode > 2:
            raise ArgumentError("address_mode: bad address_mode %d (0 dynamic, 1 requested, "
                                "2 static)" % mode)
        self.address_mode = mode
        if mode == 0:
            self.requested_address = 0
            self.address = ids.node_address(self.hostname)
        else:
            self.requested_address = self.address = req or 1

    def local_endpoints(self):
        return sorted(set(h[0] for h in self.handlers))

    # ---- local delivery -------------------------------------------------------------------
    def _deliver(self, src, hdr, data, n):
        cs = hdr.contract_start
        if hdr.ty > 18 and schema.type_record(hdr.ty) is None and (cs < 0 or not data[cs] & 2):
            self._unknown(src, hdr)  # forwarded unless a handler here wants it (no shape)
            return 0
        if cs >= 0 and data[cs] & 0x01:
            targets = hdr.contract_targets(data)
            if targets and self.sender_hash not in targets:
                return 0  # as 4.2.7: addressed to other hosts, so only passed on
        held = 0
        pkt = None
        eps = hdr.endpoints
        tries = handler_tries()  # max_handler_retries: calls of a failing handler (4.2.7)
        for i in range(hdr.ep_count):
            e = eps[i]
            for h in self.handlers:
                if h[0] != e:
                    continue
                held |= 1 << i
                for k in range(tries):
                    try:
                        if h[1] is not None:
                            if pkt is None:
                                pkt = self._packet(hdr, data)
                            h[1](pkt)
                        if h[2] is not None:
                            h[2](bytes(data[:n]))
                        break
                    except Exception as ex:  # a user handler must not take the router down
                        if k + 1 < tries:
                            continue
                        self.handler_failures += 1
                        if self.handler_failures == 1:
                            print("sedsnet: handler for endpoint %d failed: %r" % (e, ex))
        if held and src != LOCAL:
            self.sides[src].local_delivery_packets += 1
            if hdr.contract_start >= 0 and hdr.ty > 18:
                self._e2e_ack(src, hdr, data)
        return held

    def _unknown(self, src, hdr):
        """A frame of a type not in our schema and without a wire shape: 4.2.7 forwards it,
        but fails with InvalidType when a local handler holds one of its endpoints (it cannot
        be decoded for it)."""
        if self._holds(hdr):
            if src != LOCAL:
                self.sides[src].drops[D_UNKNOWN] += 1
            raise UnknownTypeError("InvalidType: %d" % hdr.ty)

    def _holds(self, hdr):
        """Whether a local handler holds one of the frame's endpoints."""
        eps = hdr.endpoints
        for i in range(hdr.ep_count):
            for h in self.handlers:
                if h[0] == eps[i]:
                    return True
        return False

    def _e2e_ack(self, sid, hdr, data):
        """Acknowledge delivered reliable user data end to end, as 4.2.7 holders do: type 1,
        sender "E2EACK:<us>", a contract (static UInt32 x2) naming us, then the origin (sender
        hashes in that order, whatever their values: tested against 4.2.7), payload = the
        packet ID; sent back on the arrival side.
        Without it a reference origin resends until it gives up with an error."""
        if self.sender_hash not in hdr.contract_targets(data):
            return  # addressed to another holder
        origin = ids.sender_name(hdr.src_addr)
        if origin[:6] == "@addr:":
            origin = self.discovery.hostname_of(hdr.src_addr) if self.discovery else None
            if origin is None:
                self.e2e_unacked += 1  # origin not heard yet: its resend gets the ACK
                return
            ids.remember_sender(origin, hdr.src_addr)
        contract = bytearray(b"\x03\x44\x02\x02") + _le64(self.sender_hash) \
            + _le64(ids.sender_hash(origin))
        pid = bytearray(8)  # the exact 4.2.7 ID (self.pid may hold the pure path's key)
        ids.write_packet_id(hdr, data, pid)
        self.send_control(sid, 1, pid, self.e2e_src, contract)

    def _packet(self, hdr, data):
        from .packet import Packet  # loaded by __init__ when a packet handler is given
        pkt = Packet(hdr.ty, ids.sender_name(hdr.src_addr), list(hdr.endpoints[:hdr.ep_count]),
                     hdr.timestamp_ms, bytes(data[hdr.payload_start:hdr.payload_end]),
                     hdr.src_addr, hdr.nonce)
        shape = hdr.contract_shape(data) if hdr.contract_start >= 0 else None
        if shape is not None:
            pkt.wire_mdt = shape[1]  # str() and data_as_* read the wire shape, as 4.2.7
        return pkt

    # ---- logging --------------------------------------------------------------------------
    def _record(self, ty):
        if not isinstance(ty, int):
            raise ArgumentError("ty: a data type is an int, not %s" % type(ty).__name__)
        rec = schema.type_record(ty)
        if rec is None:
            raise UnknownTypeError("InvalidType: %r" % (ty,))
        return rec

    def _pay(self, n):
        if n > len(self.pay):
            self.pay = bytearray(n)
            self.pay_views = _Views(self.pay)
        return self.pay

    # the typed log helpers live in typed_log.py, loaded by the first call of one
    def log_f32(self, ty, values, timestamp_ms=None, queue=False):
        """As 4.2.7: into a Float32 type, or as log(ty, <the float32 bytes>, 4, Float32) into
        any other type (its element type unchecked)."""
        _typed().log_values(self, ty, values, 1, timestamp_ms, queue)

    def log_f64(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 0, timestamp_ms, queue)

    def log_u8(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 2, timestamp_ms, queue)

    def log_u16(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 3, timestamp_ms, queue)

    def log_u32(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 4, timestamp_ms, queue)

    def log_u64(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 5, timestamp_ms, queue)

    def log_i8(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 7, timestamp_ms, queue)

    def log_i16(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 8, timestamp_ms, queue)

    def log_i32(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 9, timestamp_ms, queue)

    def log_i64(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_values(self, ty, values, 10, timestamp_ms, queue)

    def log_bool(self, ty, values, timestamp_ms=None, queue=False):
        _typed().log_bool(self, ty, values, timestamp_ms, queue)

    def log_string(self, ty, text, timestamp_ms=None, queue=False):
        """text (a str or its UTF-8 bytes) into a String type. A static type cuts it at the
        last whole character that fits (4.2.7's log_bytes cuts mid-character, and its
        data_as_string then fails with InvalidUtf8); invalid UTF-8 is refused either way."""
        _typed().log_string(self, ty, text, timestamp_ms, queue)

    def log(self, ty, data, elem_size, elem_kind, timestamp_ms=None, queue=False):
        """Log data, the raw little-endian bytes of elem_size-byte elements of elem_kind
        (ElemKind), as the reference does: bytes-like, a str (its UTF-8) or a list of byte
        values; a static type's bytes are cut or zero-padded to its size first, then the
        length must be a multiple of elem_size. The type's own element type is not checked."""
        _typed().log(self, ty, data, elem_size, elem_kind, timestamp_ms, queue)

    def log_bytes(self, ty, data, timestamp_ms=None, queue=False):
        rec = self._record(ty)
        if not isinstance(data, BYTES_LIKE):
            data = _typed().byte_list(data)  # a list of byte values (4.2.7 takes bytes only)
        n = len(data)
        buf = self._pay(max(n, rec[R_FIXED]))
        buf[:n] = data
        self._log_raw(ty, rec, buf, n, timestamp_ms, queue)

    def _log_raw(self, ty, rec, buf, n, timestamp_ms, queue):
        # raw payload bytes in buf[:n]: a static type is zero-padded or cut to its size, a
        # dynamic one must hold whole elements (and UTF-8 for strings)
        if rec[R_STATIC]:
            for i in range(n, rec[R_FIXED]):
                buf[i] = 0
            n = rec[R_FIXED]
        else:
            width = WIDTHS[rec[R_MDT]]
            if width and width <= 16 and n % width:
                ids.next_nonce()  # 4.2.7 has made the packet (taken its nonce) when it checks
                raise ArgumentError("SizeMismatch { expected: %d, got: %d }" % (width, n))
            if rec[R_MDT] == _STRING:
                try:
                    str(bytes(buf[:n]), "utf-8")
                except UnicodeError:
                    ids.next_nonce()  # as for SizeMismatch
                    raise ArgumentError("InvalidUtf8")
        self._log_frame(ty, rec, self.pay_views.get(n), timestamp_ms, queue)

    def _log_frame(self, ty, rec, payload, timestamp_ms, queue):
        if queue is not False and queue is not True:
            queue = flag(queue, "queue")
        ts = self.now_ms() if timestamp_ms is None else timestamp_ms
        if not isinstance(ts, int) or ts < 0 or ts > 0xFFFFFFFFFFFFFFFF:
            raise ArgumentError("timestamp_ms must be a u64, not %r" % (ts,))
        eps = rec[R_EPS]
        rel = _REL_UNSEQ if rec[R_RELIABLE] else -1
        nonce = ids.next_nonce()
        if queue or self.busy:
            eb = 0
            for e in eps:
                eb += uleb_len(e)
            size = frame_size(eb, ty, self.src_addr, ts, nonce, len(payload), -1, rel)
            tx = self.tx
            p = tx.reserve(size, True)
            if p < 0:
                raise ArgumentError("frame of %d bytes does not fit the TX queue" % size)
            pack_into(tx.buf, ty, self.src_addr, eps, ts, nonce, payload, None, rel, 0, 0,
                      p + HDR)
            tx.commit(p, size, _TX_TAG, rec[R_PRIORITY])
            self.nested = self.nested or self.busy
            return
        # the type's fixed bytes (FLAGS NEP ty, sender, endpoints, reliable header) are made
        # once per type and sender; a frame is then one kernel call (wire.log_into)
        tm = getattr(self, "log_tmpl", None)
        if tm is None:
            tm = self.log_tmpl = {}
        src = self.src_addr
        t = tm.get(ty)
        if t is None or t[0] is not rec or t[1] != src:
            if len(tm) >= 32:
                tm.clear()
            t = tm[ty] = (rec, src, log_template(ty, src, eps, rel))
        n = log_into(self.txbuf, 0, t[2], ts, nonce, payload)
        if n < 0:
            n = log_into(self._txbuf(-n), 0, t[2], ts, nonce, payload)
        self._originate(n)

    def _txbuf(self, n):
        if n > len(self.txbuf):
            self.txbuf = bytearray(n)
            self.tx_views = _Views(self.txbuf)
        return self.txbuf

    def _originate(self, n):
        """Send the frame in txbuf[:n] that this router made: register its ID (so it dies if a
        loop brings it back), deliver it to local handlers, forward it."""
        self.busy = True
        try:
            self._originate_busy(n)
        finally:
            self.busy = False
            if self.nested:
                self._drain()

    def _originate_busy(self, n):
        buf = self.txbuf
        hdr = self.hdr
        hdr.parse(buf, n, True)
        ids.write_dup_key(hdr, buf, self.pid)
        self.recent.seen(self.pid)
        self._route(LOCAL, hdr, buf, n)

    def _view(self, data, n):
        if data is self.txbuf:
            return self.tx_views.get(n)
        return Node._view(self, data, n)

    def _process_tx(self, deadline):
        done = 0
        tx = self.tx
        was_busy = self.busy
        self.busy = True
        try:
            while True:
                p = tx.best()
                if p < 0:
                    break
                n = tx.frame_len(p)
                self._txbuf(n)
                tx.take(p)
                copy_into(self.txbuf, 0, tx.buf, p + HDR, n)
                try:
                    self._originate_busy(n)
                except DecodeError:
                    pass  # a queued frame that did not parse (transmit_packed_message_queue)
                done += 1
                if deadline >= 0 and self._past(deadline):
                    break
        finally:
            self.busy = was_busy
        tx.grow()
        return done

    # ---- whole packets and frames ---------------------------------------------------------
    def transmit_message(self, packet):
        self._transmit_packet(packet, False)

    def transmit_message_queue(self, packet):
        self._transmit_packet(packet, True)

    def _transmit_packet(self, packet, queue):
        self._transmit_packed(packed_of(packet), queue)

    def transmit_packed_message(self, data):
        self._transmit_packed(data, False)

    def transmit_packed_message_queue(self, data):
        self._transmit_packed(data, True)

    def _transmit_packed(self, data, queue):
        check_frame_arg(data)
        hdr = self.hdr if not self.busy else None
        if hdr is None:
            from .wire import FrameHeader
            hdr = FrameHeader(max_endpoints=32)
        hdr.parse(data)  # raises DecodeError for a bad frame, before anything is queued
        n = len(data)
        if queue or self.busy:
            rec = schema.type_record(hdr.ty)
            if not self.tx.push(data, n, _TX_TAG, rec[R_PRIORITY] if rec else 0, 0, True):
                raise ArgumentError("frame of %d bytes does not fit the TX queue" % n)
            self.nested = self.nested or self.busy
            return
        self._txbuf(n)[:n] = data
        self._originate(n)

    # ---- receiving (the reference's names) ------------------------------------------------
    def receive_packed_from_side(self, side_id, data):
        self._rx_now(side_id, data)

    def receive_packet_from_side(self, side_id, packet):
        self._rx_now(side_id, packed_of(packet))

    def receive_packed_queue_from_side(self, side_id, data):
        self._rx_queue(self._side(side_id), data)

    def receive_packet_queue_from_side(self, side_id, packet):
        """Not IRQ-safe: packing the Packet allocates (MemoryError under heap_lock). From an
        IRQ use receive_packed_queue_from_side with the frame bytes."""
        self._rx_queue(self._side(side_id), packed_of(packet))

    # ---- frames the application hands in (no side): delivered and forwarded as its own ----
    def receive_packed(self, data):
        check_frame_arg(data)
        if self.busy:  # from a handler or tx callback: handled before the outer call returns
            if not self.rx.push(data, len(data), LOCAL_TAG, 0, 0, True):
                raise ArgumentError("frame of %d bytes does not fit the RX queue" % len(data))
            self.nested = True
            return
        self.busy = True
        try:
            self._ingest_local(data, len(data))
        finally:
            self.busy = False
            if self.nested:
                self._drain()

    def receive_packet(self, packet):
        self.receive_packed(packed_of(packet))

    def receive_packed_queue(self, data):
        """Queue only, into the IRQ-safe ring; a frame that does not fit is dropped and
        counted (export_runtime_stats()["queues"]["local_rx_dropped"])."""
        check_frame_arg(data)
        if not self.isr.push(data, len(data), LOCAL_TAG):
            self.local_rx_dropped += 1

    def receive_packet_queue(self, packet):
        """Not IRQ-safe: packing the Packet allocates; from an IRQ use receive_packed_queue."""
        self.receive_packed_queue(packed_of(packet))

    @staticmethod
    def new_singleton(**options):
        """The process's one Router: made by the first call; later calls return it and may not
        pass options (as 4.2.7)."""
        one = _singleton[0]
        if one is None:
            one = _singleton[0] = Router(**options)
        elif options:
            raise ArgumentError("Router singleton already exists; cannot modify constructor "
                                "options (%s)" % ", ".join(sorted(options)))
        return one

    def process_received_queue(self):
        return self.process_rx_queue()

    def process_send_queue(self):
        return self.process_tx_queue()


def _le64(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))


def _typed():
    t = _tl[0]
    if t is None:
        from . import typed_log as t
        _tl[0] = t
    return t


_tl = [None]


def _check_handlers(handlers):
    out = []
    if handlers is not None and not isinstance(handlers, (list, tuple)):
        raise ArgumentError("handlers must be a list of (endpoint, pkt_cb, packed_cb) tuples, "
                            "not %s" % type(handlers).__name__)
    for h in handlers or ():
        try:
            ep, cb, packed = h
        except (TypeError, ValueError):
            raise ArgumentError("handlers: a handler is (endpoint_id, packet_cb, "
                                "packed_cb_or_None), not %r" % (h,))
        if not isinstance(ep, int) or not 0 <= ep <= 0xFFFFFFFF or ep in _RESERVED_EPS:
            raise ArgumentError("handlers: bad handler endpoint %r" % (ep,))
        if (cb is not None and not callable(cb)) or (packed is not None and not callable(packed)):
            raise ArgumentError("handlers: callbacks must be callable or None")
        if cb is None and packed is None:
            raise ArgumentError("handlers: a handler needs a packet or a packed callback")
        out.append((ep, cb, packed))
    return out
