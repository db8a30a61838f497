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
from .errors import ArgumentError, DecodeError, SedsError, UnknownTypeError
from .kernels import key_into as _dup_key  # (ids.write_dup_key's kernel, without its call)
from .queues import Queues
from .schema import R_E2E, R_FAST, R_FIXED, R_MDT, R_STATIC, WIDTHS, type_record

# consts.py's control type codes (const() folds only names of the module itself)
_SEDSNET_RELIABLE_ACK = const(1)
_SEDSNET_RELIABLE_PARTIAL_ACK = const(3)
_SEDSNET_P2P_MESSAGE = const(18)  # the last built-in (control) type
_STRING = const(13)
_REL_ACK_ONLY = const(0x01)  # wire.REL_ACK_ONLY, wire.REL_HAS_SEQ
_REL_HAS_SEQ = const(0x04)
# compact reliable header bits that make a frame "sequenced": has a seq, is not unsequenced,
# is not an ACK-only frame
_SEQUENCED = const(0x85)
_ALL_SIDES = const(0x3FFFFFFF)  # routes.MAX_SIDES bits
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
    ts = None  # a Router's timesync.TimeSync, when time sync is on

    def _timesync(self):
        return None  # a Relay keeps no network clock (as 4.2.7); Router makes one

    netvar = None  # a Router's network variables (netvar.py), made by its first such call

    # ---- receiving ------------------------------------------------------------------------
    def _rx_now(self, side_id, data):
        """A frame from a side, handled now (or queued when called from inside this node)."""
        side = self._side(side_id)
        check_frame_arg(data)
        if self._busy:
            self._rx_defer(side, data)
            return
        self._busy = True
        try:
            self._ingest(side, data, len(data))
        finally:
            self._busy = False
            if self._nested:  # (also when the frame was refused: others may be waiting)
                self._drain()

    def _rx_defer(self, side, data):
        """A frame that arrived while this node was busy (a synchronous link answering from a
        tx callback): into the growable RX ring, handled before the outermost call returns."""
        if not side.ingress:
            side.drops[D_INGRESS] += 1
            return
        rx = self._rx
        before = rx.evicted
        if not rx.push(data, len(data), side.sid, 0, 0, True):
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
        elif not self._isr.push(data, len(data), side.sid):
            side.drops[D_ISR_FULL] += 1

    def _ingest_local(self, data, n):
        """A frame the application handed in (4.2.7's receive_packed): checked, deduplicated,
        then delivered and forwarded as locally originated. Bad frames raise; control frames
        come only from sides and are ignored here."""
        self._check(data, n)
        hdr = self._hdr
        _dup_key(data, hdr.spans, hdr.endpoints, self._pid, 0)
        if self._recent.seen(self._pid) or hdr.ty <= _SEDSNET_P2P_MESSAGE:
            return
        self._route(_LOCAL, hdr, data, n)

    def _check(self, data, n):
        """Parse data[:n] into self._hdr and check its payload against the schema or the wire
        contract's shape (a type we do not know, without a shape, passes unchecked, as 4.2.7
        forwards it); a SedsError if it is bad. (No try block here: its 3 words would put
        this call's state on the heap; a side's refused frame goes to wire_parse.refused.)"""
        hdr = self._hdr
        hdr.parse(data, n, True)
        if hdr.rel_form and hdr.rel_flags & _REL_ACK_ONLY:
            return  # (4.2.7 takes ACK-only frames unchecked)
        if hdr.e2e:
            self._e2e_rx(hdr, data, n)  # a Relay: DecodeError; a Router opens it
            return
        rec = type_record(hdr.ty)
        if rec is None or rec[R_FAST] != hdr.payload_end - hdr.payload_start \
                or hdr.contract_start >= 0:  # (else: a static type's frame, sized)
            if rec is not None or hdr.contract_start >= 0:
                self._check_payload(hdr, data, rec)
            if rec is not None and rec[R_E2E] == 2:
                self._e2e_rx(hdr, data, n)  # RequireOn in clear: a Router drops it

    def _holds(self, hdr):
        return False  # a Relay has no handlers

    def _e2e_rx(self, hdr, data, n):
        # a Relay passes E2E frames on unopened, RequireOn types in clear as they come
        if hdr.e2e:
            raise DecodeError("E2E-wrapped payload")

    def _ingest(self, side, data, n):
        """Check, dedupe, deliver and forward one received frame data[:n]. Bad frames are
        counted on the side and raised (a SedsError)."""
        if not side.ingress:
            side.drops[D_INGRESS] += 1
            raise ArgumentError("ingress disabled for side %d" % side.sid)
        if side.sdt is not None:  # an SDT frame: the canonical frame it carries, or a chunk
            data = side.sdt.rx_counted(side, data, n)
            if data is None:
                return
            n = len(data)
        side.rx_packets += 1
        side.rx_bytes += n
        hdr = self._hdr
        try:
            self._check(data, n)
        except SedsError as e:
            from .wire_parse import refused  # (passed on as it is, or counted and raised)
            refused(self, side, data, n, e)
        ty = hdr.ty
        if hdr.rel_form:
            if hdr.rel_flags & _REL_ACK_ONLY:
                return  # a reliable-layer ACK-only frame (any type): 4.2.7 takes it, does nothing
            if side.reliable and hdr.rel_form == 1 and (hdr.rel_flags & _SEQUENCED) == _REL_HAS_SEQ:
                if not self.rel.rx_seq(side, hdr, data, n):  # ACK (+ order: reliable_rx.py)
                    return  # held after a gap, or an old repeat
        _dup_key(data, hdr.spans, hdr.endpoints, self._pid, 0)
        if self._recent.seen(self._pid):
            if hdr.contract_start >= 0 and (hdr.rel_form or self.netvar) and ty >= _SEDSNET_P2P_MESSAGE:
                from .reliable_e2e import repeat  # an end-to-end resend: 4.2.7 passes it on
                if repeat(self, side.sid, hdr, data, n):
                    return
            side.drops[D_DUP] += 1
            return
        if ty <= _SEDSNET_P2P_MESSAGE and self._control(side.sid, hdr, data, n):
            return
        self._route(side.sid, hdr, data, n)

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
    def _route(self, src, hdr, data, n):
        """Local delivery, then the sides this frame goes to. src is a side ID or LOCAL.
        Returns the sides' bitmask, or ~held (negative) when it went to none."""
        held = self._deliver(src, hdr, data, n)
        dst = self._destinations(src, hdr, held)
        if dst:
            if src != _LOCAL:
                side = self.sides[src]
                side.relayed_rx_packets += 1
                side.relayed_rx_bytes += n
            self._send(dst, data, n, src != _LOCAL)
            return dst
        return ~held  # nowhere to send: ~(endpoints held here), for "no discovered route"

    def _deliver(self, src, hdr, data, n):
        return 0  # a Relay has no handlers

    _emask = -1  # bitmask of the egress sides; -1: to be worked out (node.py resets it)

    def _egress(self, src):
        """Bitmask of the egress sides but src, rules aside: one lookup per frame, however
        many sides there are."""
        m = self._emask
        if m < 0:
            m = 0
            for s in self.sides:
                if s is not None and s.egress:
                    m |= 1 << s.sid
            self._emask = m
        return m & ~(1 << src) if src != _LOCAL else m

    def _destinations(self, src, hdr, held):
        """Bitmask of sides for a frame from src; held = bitmask over hdr.endpoints of the
        endpoints satisfied by local handlers. As 4.2.7 (docs/router-interop.md section 3,
        host_tests/test_route_choice_parity.py): a frame whose endpoints are all held stops
        here. The sides left after egress and set_route count for "one way out": a Relay
        always takes it, a Router only while nothing is announced. Otherwise each endpoint
        (held ones included) goes towards a side where it is reachable; one nobody announced
        goes, when src has set_route rules or a typed rule for this type, to every side the
        rules allow, else nowhere (route_rules.py). Small on purpose: a bigger call state
        would be a heap block on every call under MicroPython."""
        if not ~held & (1 << hdr.ep_count) - 1:
            return 0
        if self._routes.allow or self._routes.typed:
            return _ruled(self, src, hdr)
        tok = self._egress(src)
        if not tok:
            return 0
        disc = self.discovery
        if disc is None:
            return tok  # no discovery: flood the eligible sides (duplicates die at peers)
        if tok & (tok - 1) == 0 and (self.kind == "relay" or not disc.routes):
            return tok
        if not disc.routes:
            return 0  # nothing announced anywhere and two or more ways out
        return self._announced(src, hdr, tok)

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
        if len(data) == n:
            return data
        if data is self._work:
            return self._work_views.get(n)
        if data is self._ack_frame:
            return self._ack_views.get(n)
        return memoryview(data)[:n]

    def _send(self, mask, data, n, relayed):
        if self.rel is not None and data[0] & 0x42 == 0x42:
            mask = self.rel.send(mask, data, n, relayed)  # sequenced on reliable sides
        data = self._view(data, n)
        mask &= _ALL_SIDES  # (a bit past the last side ID names no side)
        while mask:  # only the set bits: a frame costs the same with 1 side as with 30
            _tx(self, mask & -mask, data, relayed)
            mask &= mask - 1

    def send_control(self, side_id, ty, payload, src_addr=-1, contract=None, ts=None):
        """A built-in control frame of type ty (schema-default endpoints, our sender unless
        src_addr is given, an optional wire contract) on one side, now (control.send)."""
        _ctl().send(self, side_id, ty, payload, src_addr, contract, ts)


# side ID of a one-bit side mask 1 << sid, at (1 << sid) % 37 (unique for sid < 36)
_SID_OF_BIT = (b"\xff\x00\x01\x1a\x02\x17\x1b\xff\x03\x10\x18\xff\x1c\x0b\xff\r\x04\x07\x11\xff"
               b"\x19\x16\xff\x0f\x1d\n\x0c\x06\xff\x15\x0e\t\x05\x14\x08\x13\x12")


def _tx(node, bit, view, relayed):
    # one side of Engine._send (a function: a method call looks through the class chain)
    bit = _SID_OF_BIT[bit % 37]
    if bit >= len(node.sides) or node.sides[bit] is None:
        return
    side = node.sides[bit]
    if not _tx_call(side, view):
        return
    bit = len(view)
    side.tx_packets += 1
    side.tx_bytes += bit
    if relayed:
        side.relayed_tx_packets += 1
        side.relayed_tx_bytes += bit


def _tx_call(side, view):
    # the user's tx, a failure counted (its own call: a try block adds 3 words of call state)
    try:
        if side.packet_side:
            _tx_packet(side, view)
        else:
            side.tx(view)
        return True
    except Exception:
        side.tx_handler_failures += 1
        return False


def _tx_packet(side, view):
    from .packet import unpack_packet  # (an add_side_packet side: tx takes a Packet)
    side.tx(unpack_packet(bytes(view)))


def _ruled(node, src, hdr):
    from .route_rules import destinations  # (loaded by a node with route rules)
    return destinations(node, src, hdr)


_control_module = [None]


def _ctl():
    # control.py is loaded by the first control frame, reliable side or send_control()
    c = _control_module[0]
    if c is None:
        from . import control as c
        _control_module[0] = c
    return c
