# Router: a Node with local handlers (delivery here) and the logging API (router_log.py), the
# reference's sedsnet.Router. packet.py is
# imported only when a Packet is needed (packet handlers, packet sides, transmit_message), at
# the time the handler or side is added: a module loaded mid-flight may find only small holes.
import sys

from .compat import const
from .engine import D_UNKNOWN, _ctl, check_frame_arg, packed_of
from .errors import ArgumentError, UnknownTypeError
from .node import Node
from .queues import LOCAL_TAG, _Views
from .router_log import Logging
from .routes import LOCAL
from .schema import _types

_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type

_RESERVED_EPS = (200, 201, 202)
_HANDLER_TRIES = const(3)  # tuning.py's max_handler_retries default
# 4.2.7's defaults of the Router options options.NAMES lists (options.py checks other values)
_OPTION_DEFAULTS = (0, 0, True, 0, 100, 5000, 1000, 1000, True, 50000, 255, 0)
_singleton = [None]  # Router.new_singleton()
# a Router's methods in node_calls.py (a Relay has none of them): one str, no qstrs
_CALLS = (" resolve_hostname receive_packet_queue_from_side receive_packet_queue"
          " process_received_queue process_send_queue ")
_packet = None  # packet.from_header, set by the first Router with a packet handler


def handler_tries():
    # max_handler_retries: tuning.py is loaded only by a tuning call; until then the default
    t = sys.modules.get("sedsnet.tuning")
    return _HANDLER_TRIES if t is None else t.handler_tries()


class Router(Logging, Node):
    kind = "router"
    _e2e_raw = None  # while a wrapped frame is delivered: its bytes, for packed handlers
    default_hostname = "TEST_PLATFORM"  # the reference's sender when no hostname is given

    def __init__(self, now_ms=None, handlers=None, hostname=None, address_mode=0,
                 requested_address=0, timesync_enabled=True, timesync_role=0,
                 timesync_priority=100, timesync_source_timeout_ms=5000,
                 timesync_announce_interval_ms=1000, timesync_request_interval_ms=1000,
                 timesync_consumer_promotion_enabled=True, timesync_max_slew_ppm=50000,
                 e2e_mode=255, e2e_key_id=0, max_queue_budget=None, max_recent_rx_ids=None,
                 starting_queue_size=None, queue_grow_step=None, discovery=None,
                 max_discovery_peers=None):
        self._handlers = _check_handlers(handlers)
        if any(h[1] is not None for h in self._handlers):
            global _packet  # (an import per delivered frame would build the module's name)
            from .packet import from_header as _packet  # now, while the heap is in large pieces
        values = (address_mode, requested_address, timesync_enabled, timesync_role,
                  timesync_priority, timesync_source_timeout_ms, timesync_announce_interval_ms,
                  timesync_request_interval_ms, timesync_consumer_promotion_enabled,
                  timesync_max_slew_ppm, e2e_mode, e2e_key_id)
        for i in range(len(values)):
            v = values[i]
            d = _OPTION_DEFAULTS[i]
            if v is not d and (type(v) is not type(d) or v != d):
                from .options import check  # checked as 4.2.7 checks them
                check(values)
                break
        # what time sync and E2E read (timesync.py, e2e_frame.py), in options.NAMES order
        self._opts = list(values)
        self._handler_failures = 0
        self._e2e_unacked = 0  # reliable frames delivered whose origin we could not name
        Node.__init__(self, now_ms, hostname, max_queue_budget, max_recent_rx_ids,
                      starting_queue_size, queue_grow_step, discovery, max_discovery_peers)
        if address_mode:  # (checked above; mode 0 is the hostname's address, set by Node)
            self.configure_address(address_mode, requested_address)
        self._tx_buf = bytearray(256)
        self._tx_views = _Views(self._tx_buf)
        self._pay_buf = bytearray(64)  # payload scratch of the typed log helpers
        self._pay_views = _Views(self._pay_buf)
        # the log path's state (router_log.py), set here so the first log grows no table
        self._log_tmpl = None  # type -> Logging._template's tuple, at most 32 types
        # the next _originate_busy's local holders, as a log's template knows them (0 none, -1
        # to be found by _deliver), or -2: not a template's frame (deliver, and check the CRC)
        self._held = -2
        self._mdt = 1  # the element type of the log_<number type>() call under way
        self._packed = None  # the record of a payload already packed (_log_frame)
        if timesync_enabled and timesync_role:
            self._timesync()  # a source or auto node announces; a consumer waits (below)

    def _timesync(self):
        """The TimeSync, made on first need: a Source/Auto at construction, a Consumer by
        the first TIME_SYNC frame or time-sync API call (clock only when disabled)."""
        if self.ts is None:
            from .timesync import TimeSync
            self.ts = TimeSync(self, self._opts[2])  # timesync_enabled
        return self.ts

    def __getattr__(self, name):
        # feature APIs, each loaded by its first call: network variables (netvar.py) and time
        # sync (network_time_ms, set_local_network_*, configure_timesync, ...: timesync.py)
        if "_variable" in name:
            from .netvar import of
            return getattr(of(self), name)
        if "p2p" in name:  # P2P ports and streams (p2p.py, p2p_stream.py)
            from .p2p import of
            return getattr(of(self), name)
        if name[:4] in ("netw", "conf", "poll") or name[:18] == "set_local_network_":
            from . import timesync
            if name in timesync.API:
                return getattr(self._timesync(), name)
        if _CALLS.find(" " + name + " ") >= 0:  # a Router's rarely called methods
            from .node_calls import bound
            return bound(self, name)
        return Node.__getattr__(self, name)

    def _default_name(self):
        t = sys.modules.get("sedsnet.tuning")  # set_runtime_device_identifier() loaded it
        return self.default_hostname if t is None else t.runtime_device_identifier()

    def configure_address(self, address_mode=0, requested_address=0):
        """4.2.7's address modes: 0 dynamic (node_address(hostname), requested_address
        ignored), 1 requested, 2 static (current_address = requested_address, 0 -> 1); the
        mode and value go out in DISCOVERY_ADDRESS. Other modes: ArgumentError."""
        from .options import configure_address
        configure_address(self, address_mode, requested_address)

    def local_endpoints(self):
        """The sorted endpoint IDs local handlers hold (none on a Relay)."""
        return sorted({h[0] for h in self._handlers})

    # ---- local delivery -------------------------------------------------------------------
    def _deliver(self, src, hdr, data, n):
        if hdr.e2e:  # handlers see the opened frame (e2e_frame.py)
            return _e2e().deliver(self, src, hdr, data, n)
        cs = hdr.contract_start
        # 1: addressed to other hosts (as 4.2.7: only passed on); 2: to us and delivered here
        # before (ACKed again, not delivered twice); 0: deliver (control.e2e_check, which
        # also learns where reliable data came from: its E2E ACKs go back there)
        r = self._e2e_ack(src, hdr, data, True) if (cs >= 0 and data[cs] & 0x01) or (
            hdr.rel_form and src != LOCAL) else 0
        if self.netvar is not None and r != 2:
            self.netvar.on_data(src, hdr, data, n)  # a network variable's value (netvar.py)
        # (a user type we do not know: not in schema._types, read here without type_record's call)
        if hdr.ty > _SEDSNET_P2P_MESSAGE and hdr.ty not in _types and (cs < 0 or not data[cs] & 2):
            self._unknown(src, hdr)  # forwarded unless a handler here wants it (no shape)
            return 0
        if r:
            return r - 1
        held = 0
        pkt = None
        eps = hdr.endpoints
        for i in range(hdr.ep_count):
            e = eps[i]
            for h in self._handlers:
                if h[0] != e:
                    continue
                held |= 1 << i
                k = 0
                while True:
                    try:
                        if h[1] is not None:
                            if pkt is None:
                                pkt = _packet(hdr, data)
                            h[1](pkt)
                        if h[2] is not None:
                            h[2](bytes(data[:n]) if self._e2e_raw is None else self._e2e_raw)
                        break
                    except Exception as ex:  # a user handler must not take the router down
                        k += 1  # max_handler_retries: calls of a failing handler (4.2.7)
                        if k < handler_tries():
                            continue
                        self._handler_failures += 1
                        if self._handler_failures == 1:
                            print("sedsnet: handler for endpoint %d failed: %r" % (e, ex))
                        break
        if held and src != LOCAL:
            self.sides[src].local_delivery_packets += 1
            if data[0] & 0x06 and hdr.ty > _SEDSNET_P2P_MESSAGE:  # a contract or reliable header
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
            for h in self._handlers:
                if h[0] == eps[i]:
                    return True
        return False

    def _e2e_rx(self, hdr, data, n):
        _e2e().check_rx(self, hdr, data, n)  # authenticate; drop a RequireOn type in clear

    def _e2e_ack(self, sid, hdr, data, check=False):
        """The E2E ACK 4.2.7 holders send for delivered reliable user data (control.e2e_ack);
        check: control.e2e_check's verdict on a frame whose contract names hosts instead."""
        return _ctl().e2e_ack(self, sid, hdr, data, check)

    # ---- receiving (the reference's names) ------------------------------------------------
    # a frame received on side_id, handled now (queued when called from a callback): Engine._rx_now
    # itself, not a wrapper (a call less per frame)
    receive_packed_from_side = Node._rx_now

    def receive_packet_from_side(self, side_id, packet):
        """receive_packed_from_side() of a Packet. ArgumentError for a non-Packet."""
        self._rx_now(side_id, packed_of(packet))

    def receive_packed_queue_from_side(self, side_id, data):
        """Queue a frame received on side_id (IRQ-safe, no allocation); a full ring drops it
        (counted). ArgumentError for a bad side or frame type."""
        self._rx_queue(self._side(side_id), data)

    # ---- frames the application hands in (no side): delivered and forwarded as its own ----
    def receive_packed(self, data):
        """A frame the application hands in: checked, deduplicated, delivered and forwarded as our
        own. DecodeError/SedsError for a bad frame."""
        check_frame_arg(data)
        if self._busy:  # from a handler or tx callback: handled before the outer call returns
            if not self._rx.push(data, len(data), LOCAL_TAG, 0, 0, True):
                raise ArgumentError("frame of %d bytes does not fit the RX queue" % len(data))
            self._nested = True
            return
        self._busy = True
        try:
            self._ingest_local(data, len(data))
        finally:
            self._busy = False
            if self._nested:
                self._drain()

    def receive_packet(self, packet):
        """receive_packed() of a Packet. ArgumentError for a non-Packet."""
        self.receive_packed(packed_of(packet))

    def receive_packed_queue(self, data):
        """Queue only, into the IRQ-safe ring; a frame that does not fit is dropped and
        counted (export_runtime_stats()["queues"]["local_rx_dropped"])."""
        check_frame_arg(data)
        if not self._isr.push(data, len(data), LOCAL_TAG):
            self._local_rx_dropped += 1

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


def _e2e():
    from . import e2e_frame  # E2E logs and wrapped frames only
    return e2e_frame


def _check_handlers(handlers):
    out = []
    if handlers is not None and not isinstance(handlers, (list, tuple)):
        raise ArgumentError("handlers: a list of (endpoint, packet_cb, packed_cb), not %s"
                            % type(handlers).__name__)
    for h in handlers or ():
        try:
            ep, cb, packed = h
        except (TypeError, ValueError):
            raise ArgumentError("handlers: (endpoint, packet_cb, packed_cb), not %r" % (h,))
        if not isinstance(ep, int) or not 0 <= ep <= 0xFFFFFFFF or ep in _RESERVED_EPS:
            raise ArgumentError("handlers: bad handler endpoint %r" % (ep,))
        if (cb is not None and not callable(cb)) or (packed is not None and not callable(packed)):
            raise ArgumentError("handlers: callbacks must be callable or None")
        if cb is None and packed is None:
            raise ArgumentError("handlers: a packet or packed callback is needed")
        out.append((ep, cb, packed))
    return out
