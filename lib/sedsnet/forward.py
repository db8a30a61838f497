# The per-frame path of a node (engine.Engine's receive and forward steps): check, dedupe,
# local delivery, the sides a frame goes to, sending. Module functions, not methods:
# node.method() first misses in the node's nearly full attribute table, then in each class
# before the one that has it, on every call; Engine's methods of the same names are these
# functions, for the other modules' callers.
from .compat import const
from .errors import ArgumentError, SedsError
from .kernels import key_into as _dup_key  # (ids.write_dup_key's kernel, without its call)
from .kernels import recent_seen as _recent_seen
from .schema import R_E2E, R_FAST, _types, type_record
from .wire import FrameHeader

# consts.py's, wire.py's, routes.py's and engine.py's (const() folds only names of the module
# itself: host_tests/test_structure.py checks that the copies agree)
_SEDSNET_P2P_MESSAGE = const(18)  # the last built-in (control) type
_REL_ACK_ONLY = const(0x01)  # wire.REL_ACK_ONLY, wire.REL_HAS_SEQ
_REL_HAS_SEQ = const(0x04)
# compact reliable header bits that make a frame "sequenced": has a seq, is not unsequenced,
# is not an ACK-only frame
_SEQUENCED = const(0x85)
_ALL_SIDES = const(0x3FFFFFFF)  # routes.MAX_SIDES bits
_LOCAL = const(255)  # routes.LOCAL
_D_DUP = const(1)  # engine.D_DUP, engine.D_INGRESS
_D_INGRESS = const(5)

_parse = FrameHeader.parse  # (a function: hdr.parse() misses in the header's attributes first)
_len = len  # (a builtin is looked up in this module's table first)


def _check(node, data, n):
    """Parse data[:n] into node._hdr and check its payload against the schema or the wire
    contract's shape (a type we do not know, without a shape, passes unchecked, as 4.2.7
    forwards it); a SedsError if it is bad. (No try block here: its 3 words would put
    this call's state on the heap; a side's refused frame goes to wire_parse.refused.)"""
    hdr = node._hdr
    _parse(hdr, data, n, True)
    if hdr.rel_form and hdr.rel_flags & _REL_ACK_ONLY:
        return  # (4.2.7 takes ACK-only frames unchecked)
    if hdr.e2e:
        node._e2e_rx(hdr, data, n)  # a Relay: DecodeError; a Router opens it
        return
    rec = hdr.ty  # (the type, then its record: a user type's straight from schema._types)
    rec = _types.get(rec) if rec > _SEDSNET_P2P_MESSAGE else type_record(rec)
    if rec is None or rec[R_FAST] != hdr.payload_end - hdr.payload_start \
            or hdr.contract_start >= 0:  # (else: a static type's frame, sized)
        if rec is not None or hdr.contract_start >= 0:
            node._check_payload(hdr, data, rec)
        if rec is not None and rec[R_E2E] == 2:
            node._e2e_rx(hdr, data, n)  # RequireOn in clear: a Router drops it


def _ingest(node, side, data, n):
    """Check, dedupe, deliver and forward one received frame data[:n] (n < 0: all of data).
    Bad frames are counted on the side and raised (a SedsError)."""
    if n < 0:
        n = _len(data)
    if not side.ingress:
        side.drops[_D_INGRESS] += 1
        raise ArgumentError("ingress disabled for side %d" % side.sid)
    if side.sdt is not None:  # an SDT frame: the canonical frame it carries, or a chunk
        data = side.sdt.rx_counted(side, data, n)
        if data is None:
            return
        n = _len(data)
    side.rx_packets += 1
    side.rx_bytes += n
    hdr = node._hdr
    try:
        _check(node, data, n)
    except SedsError as e:
        from .wire_parse import refused  # (passed on as it is, or counted and raised)
        refused(node, side, data, n, e)
    if hdr.rel_form:
        if hdr.rel_flags & _REL_ACK_ONLY:
            return  # a reliable-layer ACK-only frame (any type): 4.2.7 takes it, does nothing
        if side.reliable and hdr.rel_form == 1 and (hdr.rel_flags & _SEQUENCED) == _REL_HAS_SEQ:
            if not node.rel.rx_seq(side, hdr, data, n):  # ACK (+ order: reliable_rx.py)
                return  # held after a gap, or an old repeat
    _dup_key(data, hdr.spans, hdr.endpoints, node._pid, 0)
    rc = node._recent  # (RecentIds.seen inline: a call less per frame)
    if _recent_seen(rc.table, rc.index, rc.st, node._pid, 0):
        if hdr.contract_start >= 0 and (hdr.rel_form or node.netvar) \
                and hdr.ty >= _SEDSNET_P2P_MESSAGE:
            from .reliable_e2e import repeat  # an end-to-end resend: 4.2.7 passes it on
            if repeat(node, side.sid, hdr, data, n):
                return
        side.drops[_D_DUP] += 1
        return
    rc.count = rc.st[0]
    if hdr.ty <= _SEDSNET_P2P_MESSAGE and node._control(side.sid, hdr, data, n):
        return
    # _route's steps inline (a call and its heap frame less per frame); a Relay delivers only
    # a frame that names its holders or carries reliable data (relay.Relay._deliver)
    if node._relay and not hdr.rel_form and hdr.contract_start < 0:
        held = 0
    else:
        held = node._deliver(side.sid, hdr, data, n)
    dst = _destinations(node, side.sid, hdr, held)
    if dst:
        side.relayed_rx_packets += 1
        side.relayed_rx_bytes += n
        _send(node, dst, data, n, True)


def _route(node, src, hdr, data, n):
    """Local delivery, then the sides this frame goes to. src is a side ID or LOCAL.
    Returns the sides' bitmask, or ~held (negative) when it went to none."""
    held = node._deliver(src, hdr, data, n)
    dst = _destinations(node, src, hdr, held)
    if dst:
        if src != _LOCAL:
            side = node.sides[src]
            side.relayed_rx_packets += 1
            side.relayed_rx_bytes += n
        _send(node, dst, data, n, src != _LOCAL)
        return dst
    return ~held  # nowhere to send: ~(endpoints held here), for "no discovered route"


def _egress(node, src):
    """Bitmask of the egress sides but src, rules aside: one lookup per frame, however
    many sides there are."""
    m = node._emask  # (-1: to be worked out; node.py resets it when a side changes)
    if m < 0:
        m = 0
        for s in node.sides:
            if s is not None and s.egress:
                m |= 1 << s.sid
        node._emask = m
    return m & ~(1 << src) if src != _LOCAL else m


def _destinations(node, src, hdr, held):
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
    if node._routes.allow or node._routes.typed:
        return _ruled(node, src, hdr)
    tok = node._emask  # (_egress, inline while the mask is known)
    tok = _egress(node, src) if tok < 0 else tok & ~(1 << src) if src != _LOCAL else tok
    if not tok:
        return 0
    disc = node.discovery
    if disc is None:
        return tok  # no discovery: flood the eligible sides (duplicates die at peers)
    if tok & (tok - 1) == 0 and (not disc.routes or node._relay):
        return tok
    if not disc.routes:
        return 0  # nothing announced anywhere and two or more ways out
    return node._announced(src, hdr, tok)


def _send(node, mask, data, n, relayed):
    if node.rel is not None and data[0] & 0x42 == 0x42:
        mask = node.rel.send(mask, data, n, relayed)  # sequenced on reliable sides
    if _len(data) != n:
        data = node._view(data, n)
    mask &= _ALL_SIDES  # (a bit past the last side ID names no side)
    while mask:  # only the set bits: a frame costs the same with 1 side as with 30
        _tx(node, mask & -mask, data, relayed)
        mask &= mask - 1


# side ID of a one-bit side mask 1 << sid, at (1 << sid) % 37 (unique for sid < 36)
_SID_OF_BIT = (b"\xff\x00\x01\x1a\x02\x17\x1b\xff\x03\x10\x18\xff\x1c\x0b\xff\r\x04\x07\x11\xff"
               b"\x19\x16\xff\x0f\x1d\n\x0c\x06\xff\x15\x0e\t\x05\x14\x08\x13\x12")


def _tx(node, bit, view, relayed):
    # one side of _send (a function: a method call looks through the class chain)
    bit = _SID_OF_BIT[bit % 37]
    if bit >= _len(node.sides) or node.sides[bit] is None:
        return
    side = node.sides[bit]
    if not _tx_call(side, view):
        return
    bit = _len(view)
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
