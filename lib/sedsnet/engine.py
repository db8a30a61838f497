# The per-frame engine of a node (Router and Relay, via node.Node): receiving (check, dedupe,
# hop ACK), control frames, local delivery hook, choosing sides, sending, and the RX/TX queues.
# Frames stay packed the whole way: a received frame is parsed in place into one preallocated
# FrameHeader, its packet ID written into a preallocated 8-byte buffer, and it is passed on
# as the same bytes.
#
# Re-entrancy: a tx callback may feed another node that answers synchronously, and a handler
# may log. While a node is busy, such calls only queue; the outermost call drains the queues
# before it returns, so nothing is lost and the shared header/buffers are never clobbered.
from .compat import const
from .errors import ArgumentError, DecodeError, UnknownTypeError
from .forward import _check, _destinations, _egress, _ingest, _route, _send
from .kernels import key_into as _dup_key  # (ids.write_dup_key's kernel, without its call)
from .queues import Queues
from .schema import R_FIXED, R_MDT, R_STATIC, WIDTHS, type_record

# consts.py's control type codes (const() folds only names of the module itself)
_SEDSNET_RELIABLE_ACK = const(1)
_SEDSNET_RELIABLE_PARTIAL_ACK = const(3)
_SEDSNET_P2P_MESSAGE = const(18)  # the last built-in (control) type
_STRING = const(13)
_LOCAL = const(255)  # routes.LOCAL

# drop reasons, per side (export_runtime_stats()["sides"][i]["drops"])
DROP_NAMES = ("decode", "duplicate", "unknown_type", "compressed", "e2e", "ingress", "evicted",
              "oversize", "isr_full")
D_DECODE = const(0)
D_DUP = const(1)
D_UNKNOWN = const(2)
D_COMPRESSED = const(3)
D_E2E = const(4)
D_INGRESS = const(5)
D_EVICTED = const(6)
D_OVERSIZE = const(7)
D_ISR_FULL = const(8)  # receive_*_queue: the IRQ-side ring was full (or mid-push from another
# context), the new frame dropped


BYTES_LIKE = (bytes, bytearray, memoryview)
# builtins of the per-frame path as module globals: a builtin's name is looked up in this
# module's table first, and that miss walks the table to an empty slot
_len = len
_isinstance = isinstance


def check_frame_arg(data):
    if not isinstance(data, BYTES_LIKE):
        raise ArgumentError("data: a frame is bytes, bytearray or memoryview, not %s"
                            % type(data).__name__)


def packed_of(packet):
    """The frame of a Packet given to a *_packet call (a clear error for anything else)."""
    from .packet import Packet
    if not isinstance(packet, Packet):
        raise ArgumentError("packet: a Packet is needed (make_packet() or unpack_packet()), "
                            "not %s" % type(packet).__name__)
    return packet.pack()


class Side:
    def __init__(self, sid, name, tx, reliable, packet_side):
        self.sid = sid
        self.name = name
        self.tx = tx
        self.reliable = reliable
        self.packet_side = packet_side  # tx takes Packet objects (add_side_packet)
        self.ingress = self.egress = True
        self.tx_packets = self.tx_bytes = self.rx_packets = self.rx_bytes = 0
        self.relayed_tx_packets = self.relayed_tx_bytes = 0
        self.relayed_rx_packets = self.relayed_rx_bytes = 0
        self.local_delivery_packets = self.tx_handler_failures = 0
        self.drops = [0] * len(DROP_NAMES)
        self.sdt = None  # sdt.SdtSide of an add_side_packed_profile() side


class Engine(Queues):
    """Frame handling shared by Router and Relay; state is set up by node.Node.__init__."""

    def _timesync(self):
        return None  # a Relay keeps no network clock (as 4.2.7); Router makes one


    # ---- receiving ------------------------------------------------------------------------
    def _rx_now(self, side_id, data):
        """A frame received on side_id, handled now (queued when called from inside this node,
        e.g. a tx callback). SedsError for a bad frame (counted on the side)."""
        # (Relay.rx_packed_from_side and Router.receive_packed_from_side are this function:
        # a wrapper would be one more call per frame; the argument checks are inline)
        if not _isinstance(side_id, int) or side_id < 0 or side_id >= _len(self.sides) \
                or self.sides[side_id] is None:
            self._side(side_id)  # (raises ArgumentError)
        if not _isinstance(data, BYTES_LIKE):
            check_frame_arg(data)
        if self._busy:
            self._rx_defer(self.sides[side_id], data)
            return
        self._busy = True
        try:
            _ingest(self, self.sides[side_id], data, -1)
        except:  # noqa: E722 (anything: not busy after it, and re-raised; a finally block
            # would take more than 11 words of call state, a heap block on every call)
            self._busy = False
            if self._nested:  # (also when the frame was refused: others may be waiting)
                self._drain()
            raise
        self._busy = False
        if self._nested:
            self._drain()

    def _rx_defer(self, side, data):
        """A frame that arrived while this node was busy (a synchronous link answering from a
        tx callback): into the growable RX ring, handled before the outermost call returns."""
        if not side.ingress:
            side.drops[D_INGRESS] += 1
            return
        rx = self._rx
        before = rx.evicted
        if not rx.push(data, _len(data), side.sid, 0, 0, True):
            side.drops[D_OVERSIZE] += 1
        elif rx.evicted != before:
            side.drops[D_EVICTED] += rx.evicted - before
        self._nested = True

    def _rx_queue(self, side, data):
        """receive_*_queue: copy into the preallocated IRQ-side ring and nothing else (no
        allocation, no state the main loop writes); a full ring drops the new frame."""
        check_frame_arg(data)
        if not side.ingress:
            side.drops[D_INGRESS] += 1
        elif not self._isr.push(data, _len(data), side.sid):
            side.drops[D_ISR_FULL] += 1

    def _ingest_local(self, data, n):
        """A frame the application handed in (4.2.7's receive_packed): checked, deduplicated,
        then delivered and forwarded as locally originated. Bad frames raise; control frames
        come only from sides and are ignored here."""
        _check(self, data, n)
        hdr = self._hdr
        _dup_key(data, hdr.spans, hdr.endpoints, self._pid, 0)
        if self._recent.seen(self._pid) or hdr.ty <= _SEDSNET_P2P_MESSAGE:
            return
        _route(self, _LOCAL, hdr, data, n)

    def _holds(self, hdr):
        return False  # a Relay has no handlers

    def _e2e_rx(self, hdr, data, n):
        # a Relay passes E2E frames on unopened, RequireOn types in clear as they come
        if hdr.e2e:
            raise DecodeError("E2E-wrapped payload")

    # forward.py's functions that other modules call as node methods (queues.py as well:
    # importing forward.py there would change the order a CircuitPython board compiles in)
    _ingest = _ingest
    _egress = _egress
    _destinations = _destinations
    _send = _send

    def _hop_ack(self, sid, hdr):
        """RELIABLE_ACK for a sequenced frame on a hop-reliable side (control.hop_ack)."""
        _ctl().hop_ack(self, sid, hdr)

    def _check_payload(self, hdr, data, rec):
        n = hdr.payload_end - hdr.payload_start
        shape = hdr.contract_shape(data) if hdr.contract_start >= 0 else None
        if shape is not None:
            static, mdt, fixed = shape[0], shape[1], WIDTHS[shape[1]] * shape[2]
        elif rec is None:
            if self._holds(hdr):  # no schema and no shape: 4.2.7 cannot decode it here
                raise UnknownTypeError("InvalidType: %d" % hdr.ty)
            return
        else:
            static, mdt, fixed = rec[R_STATIC], rec[R_MDT], rec[R_FIXED]
        width = WIDTHS[mdt]
        if (static and n != fixed) or (not static and (width == 0 or (width <= 16 and n % width))):
            raise DecodeError("SizeMismatch: %d payload bytes for type %d" % (n, hdr.ty))
        if mdt == _STRING:
            try:
                str(bytes(data[hdr.payload_start:hdr.payload_end]), "utf-8")
            except UnicodeError:
                raise DecodeError("InvalidUtf8")
        # a hop ACK/NACK/retransmit names a type we know; an E2E ACK (type 1 with a contract)
        # carries a packet ID instead
        if _SEDSNET_RELIABLE_ACK <= hdr.ty <= _SEDSNET_RELIABLE_PARTIAL_ACK and n >= 4 \
                and hdr.contract_start < 0:
            p = hdr.payload_start
            t = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
            if type_record(t) is None:
                raise UnknownTypeError("InvalidType: %d" % t)

    def _control(self, sid, hdr, data, n):
        """A built-in control frame from side sid (control.dispatch): True when it stops here,
        False to send it on like data."""
        return _ctl().dispatch(self, sid, hdr, data, n)

    # ---- forwarding -----------------------------------------------------------------------
    def _deliver(self, src, hdr, data, n):
        return 0  # a Relay has no handlers

    def _announced(self, src, hdr, tok, ruled=False):
        """The sides among tok towards hdr's endpoints, by what discovery heard; ruled: an
        endpoint nobody announced goes to all of tok (src has route rules)."""
        out = i = 0
        while i < hdr.ep_count:  # (no for: a range iterator takes 4 words of call state)
            c = self.discovery.reach_mask(hdr.endpoints[i]) & tok  # (one lookup, any sides)
            if c & (c - 1):  # nearest holder first (discovery: paths.py); ~mask: all of them
                c = self.discovery.rank(src, c, hdr.endpoints[i], self._routes, hdr.ty)
                c = ~c if c < 0 else self._routes.pick(src, c)  # (reliable types, as 4.2.7)
            elif c:
                c = self._routes.pick(src, c)
            elif ruled:
                c = tok
            out |= c
            i += 1
        return out

    def _view(self, data, n):
        if _len(data) == n:
            return data
        if data is self._work:
            return self._work_views.get(n)
        if data is self._ack_frame:
            return self._ack_views.get(n)
        return memoryview(data)[:n]

    def send_control(self, side_id, ty, payload, src_addr=-1, contract=None, ts=None):
        """A built-in control frame of type ty (schema-default endpoints, our sender unless
        src_addr is given, an optional wire contract) on one side, now (control.send)."""
        _ctl().send(self, side_id, ty, payload, src_addr, contract, ts)


_control_module = [None]


def _ctl():
    # control.py is loaded by the first control frame, reliable side or send_control()
    c = _control_module[0]
    if c is None:
        from . import control as c
        _control_module[0] = c
    return c
