# Built-in control frames (types 0..18, consts.SEDSNET_*): what a node does with one it
# receives (dispatch), the hop ACK it sends on a reliable side, the way to a holder's E2E
# ACKs (e2e_holder.py) and send_control(), which every feature uses to put a control frame
# on one side. The engine loads this module with the first control frame or reliable side
# (docs/router-interop.md).
from . import ids, schema
from .compat import const
from .engine import D_DECODE
from .errors import DecodeError, SedsError
from .wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, frame_size, pack_into

# consts.py's control type codes (const() folds only names of the module itself)
_SEDSNET_ERROR_TYPE = const(0)
_SEDSNET_RELIABLE_ACK = const(1)
_SEDSNET_RELIABLE_PARTIAL_ACK = const(3)
_SEDSNET_TIME_SYNC_ANNOUNCE = const(4)
_SEDSNET_TIME_SYNC_RESPONSE = const(6)
_SEDSNET_DISCOVERY_ANNOUNCE = const(7)
_SEDSNET_DISCOVERY_SCHEMA = const(10)
_SEDSNET_MANAGED_VARIABLE_REQUEST = const(13)
_SEDSNET_DISCOVERY_LEAVE = const(15)
_SEDSNET_DISCOVERY_ADDRESS = const(17)
_SEDSNET_P2P_MESSAGE = const(18)


def eligible(node, src, ty):
    """Bitmask of the sides a frame of type ty from src may leave on (egress, rules)."""
    routes = node._routes
    elig = node._egress(src)
    if routes.allow or routes.typed:
        from .route_rules import allowed
        for s in node.sides:
            if s is not None and elig >> s.sid & 1 and not allowed(routes, src, ty, s.sid):
                elig ^= 1 << s.sid
    return elig


def flood(node, src, hdr, data, n):
    """A frame from src to every side it may leave on (control frames passed on)."""
    mask = eligible(node, src, hdr.ty)
    if mask:
        node._send(mask, data, n, True)


def dispatch(node, sid, hdr, data, n):
    """A received control frame. True when it stops here; False sends it on like data.
    As 4.2.7: errors stop here; discovery learning frames (ANNOUNCE, TIMESYNC_SOURCES,
    TOPOLOGY, LINK_CAPABILITIES, and ADDRESS on a Router) stay on their link; SCHEMA, the
    requests, managed variables and LEAVE, and ADDRESS on a Relay, are acted on and then
    flooded to the other sides; hop ACKs are link-local; time sync frames are acted on (a
    Router) and passed on. An E2E ACK for another
    node goes back toward the nodes it names (reliable_e2e.ack)."""
    ty = hdr.ty
    if ty == _SEDSNET_ERROR_TYPE:
        return True  # consumed by 4.2.7 routers and relays alike
    if _SEDSNET_DISCOVERY_ANNOUNCE <= ty <= _SEDSNET_DISCOVERY_ADDRESS:
        if ty == _SEDSNET_DISCOVERY_ADDRESS and hdr.payload_end != n - 4:
            # 4.2.7: no byte may follow an ADDRESS payload (others and user data: ignored)
            node.sides[sid].drops[D_DECODE] += 1
            raise DecodeError("discovery payload length mismatch")
        if ty == _SEDSNET_MANAGED_VARIABLE_REQUEST and node.netvar is not None:
            node.netvar.on_request(sid, hdr, data)
        disc = node.discovery
        if disc is not None:
            try:
                disc.on_frame(sid, hdr, data)
            except SedsError:
                node.sides[sid].drops[D_DECODE] += 1
                raise
        if ty == _SEDSNET_DISCOVERY_LEAVE and node.e2o is not None:
            node.e2o.left(hdr.src_addr)  # a holder that left: nothing more to wait for
        if _SEDSNET_DISCOVERY_SCHEMA <= ty <= _SEDSNET_DISCOVERY_LEAVE or (
                ty == _SEDSNET_DISCOVERY_ADDRESS and node.kind == "relay"):
            flood(node, sid, hdr, data, n)
        return True
    if _SEDSNET_RELIABLE_ACK <= ty <= _SEDSNET_RELIABLE_PARTIAL_ACK:
        if node.rel is not None and hdr.contract_start < 0:
            node.rel.on_control(sid, hdr, data)  # hop ACK, PACKET_REQUEST, PARTIAL_ACK
        if ty == _SEDSNET_RELIABLE_ACK and hdr.contract_start >= 0:
            if node.netvar is not None and node.netvar.on_ack(hdr, data):
                pass  # a holder ACKs a push we sent or passed on (netvar_push.py)
            else:
                try:
                    from .reliable_e2e import ack  # ours (origin table, P2P) or toward its origin
                except ImportError:  # a board without the sedsnet-reliable part
                    flood(node, sid, hdr, data, n)
                    return True
                ack(node, sid, hdr, data, n)
        return True  # hop-reliability control: link-local
    if ty == _SEDSNET_P2P_MESSAGE:
        if node.kind == "router" and _for(node, hdr, data):
            from .p2p import deliver  # a P2P message addressed to us (p2p.py)
            return deliver(node, sid, hdr, data)
        flood(node, sid, hdr, data, n)  # for another router: passed on
        return True
    if _SEDSNET_TIME_SYNC_ANNOUNCE <= ty <= _SEDSNET_TIME_SYNC_RESPONSE:
        ts = node.ts if node.ts is not None else node._timesync()
        if ts is not None:
            ts.on_frame(sid, hdr, data)
        flood(node, sid, hdr, data, n)  # as 4.2.7 (Router and Relay): passed on, so a consumer
        return True                     # two hops away hears the source and gets its answers
    return False


def _for(node, hdr, data):
    """Whether a frame's wire contract names us as a target."""
    return hdr.contract_start >= 0 and data[hdr.contract_start] & 0x01 and \
        node.sender_hash in hdr.contract_targets(data)


def hop_ack(node, sid, hdr):
    """RELIABLE_ACK [ty u32, seq u32] for a sequenced frame on a hop-reliable side, as 4.2.7
    sends (docs/router-interop.md section 5), from preallocated buffers."""
    ack = node._ack_payload
    ty = hdr.ty
    seq = hdr.seq
    for i in range(4):
        ack[i] = (ty >> (8 * i)) & 0xFF
        ack[4 + i] = (seq >> (8 * i)) & 0xFF
    # not in the recent-ID cache: link-local, it never comes back
    n = pack_into(node._ack_frame, _SEDSNET_RELIABLE_ACK, node.src_addr, None, node.now_ms(),
                  ids.next_nonce(), ack)
    node._send(1 << sid, node._ack_frame, n, False)


def send(node, side_id, ty, payload, src_addr=-1, contract=None, ts=None):
    """A control frame of type ty (schema-default endpoints, our sender unless src_addr is
    given, an optional wire contract) on one side, now; ts: the header timestamp (default
    the local clock; time sync stamps its frames with the network time)."""
    rec = schema.type_record(ty)
    rel = (REL_UNSEQUENCED | REL_HAS_SEQ) if rec[6] else -1
    nonce = ids.next_nonce()
    ts = node.now_ms() if ts is None else ts
    src = node.src_addr if src_addr < 0 else src_addr
    clen = -1 if contract is None else len(contract)
    buf = bytearray(frame_size(0, ty, src, ts, nonce, len(payload), clen, rel))
    pack_into(buf, ty, src, None, ts, nonce, payload, contract, rel)
    if node._ctrl_hdr is None:
        node._ctrl_hdr = FrameHeader(max_endpoints=4)
    node._ctrl_hdr.parse(buf)
    pid = bytearray(8)
    ids.write_dup_key(node._ctrl_hdr, buf, pid)
    node._recent.seen(pid)  # our own frame echoed back by a loop is a duplicate
    node._send(1 << node._side(side_id).sid, buf, len(buf), False)


_eh = [None]  # e2e_holder.py, once loaded (an import per frame would allocate)


def _holder():
    m = _eh[0]
    if m is None:
        from . import e2e_holder as m
        _eh[0] = m
    return m


def e2e_ack(router, sid, hdr, data, check=False):
    """A holder's E2E ACK of delivered reliable user data, or with check e2e_check's verdict
    on a frame whose contract names target hosts (e2e_holder.py)."""
    return _holder().e2e_ack(router, sid, hdr, data, check)


def learn(node, sid, hdr, data):
    """A reliable frame from side sid: the way back for its E2E ACKs (e2e_holder.py)."""
    _holder().learn(node, sid, hdr, data)
