# Built-in control frames (types 0..18, consts.SEDSNET_*): what a node does with one it
# receives (dispatch), the hop ACK it sends on a reliable side, E2E ACKs of a Router, and
# send_control(), which every feature uses to put a control frame on one side. The engine
# loads this module with the first control frame or reliable side (docs/router-interop.md).
import sys

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
_LOCAL = const(255)  # routes.LOCAL
_DONE_BYTES = const(48)


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
            node._flood(sid, hdr, data, n)
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
                    node._flood(sid, hdr, data, n)
                    return True
                ack(node, sid, hdr, data, n)
        return True  # hop-reliability control: link-local
    if ty == _SEDSNET_P2P_MESSAGE:
        if node.kind == "router" and _for(node, hdr, data):
            from .p2p import deliver  # a P2P message addressed to us (p2p.py)
            return deliver(node, sid, hdr, data)
        node._flood(sid, hdr, data, n)  # for another router: passed on
        return True
    if _SEDSNET_TIME_SYNC_ANNOUNCE <= ty <= _SEDSNET_TIME_SYNC_RESPONSE:
        ts = node.ts if node.ts is not None else node._timesync()
        if ts is not None:
            ts.on_frame(sid, hdr, data)
        node._flood(sid, hdr, data, n)  # as 4.2.7 (Router and Relay): passed on, so a consumer
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


def e2e_ack(router, sid, hdr, data, check=False):
    """Acknowledge delivered reliable user data end to end, as 4.2.7 holders do: type 1,
    sender "E2EACK:<us>", a contract (static UInt32 x2) naming us, then the origin (sender
    hashes in that order, whatever their values: tested against 4.2.7), payload = the packet
    ID; sent back on the arrival side. Without it a reference origin resends until it gives
    up with an error. As 4.2.7, reliable data that came without a contract is ACKed too,
    and an origin we cannot name is named by its header address (a u64 target). check:
    e2e_check's verdict instead, before delivery."""
    if check:
        return e2e_check(router, sid, hdr, data)
    if hdr.contract_start >= 0:
        if router.sender_hash not in hdr.contract_targets(data):
            return  # addressed to another holder
    else:
        rec = schema.type_record(hdr.ty)
        if rec is None or not rec[6]:  # (R_RELIABLE) a plain type with a reliable header
            return
    origin = ids.sender_name(hdr.src_addr)
    if origin[:6] == "@addr:":
        disc = router.discovery
        origin = disc.hostname_of(hdr.src_addr) if disc else None
        if origin is None:
            router._e2e_unacked += 1  # origin not heard yet: named by its address
        else:
            ids.remember_sender(origin, hdr.src_addr)
    contract = bytearray(b"\x03\x44\x02\x02") + _le64(router.sender_hash) \
        + _le64(hdr.src_addr if origin is None else ids.sender_hash(origin))
    pid = bytearray(8)  # the exact 4.2.7 ID (the node's dup key may be the pure path's)
    ids.write_packet_id(hdr, data, pid)
    if hdr.contract_start >= 0:
        _done(router, bytes(pid))
    send(router, sid, _SEDSNET_RELIABLE_ACK, pid, router.e2e_src, contract)


def _done(router, key):
    # IDs of the contract frames delivered here, for e2e_check: at most
    # reliable_max_end_to_end_ack_cache, one forgotten for a new one, each charged to
    # max_queue_budget (_DONE_BYTES, measured on the 32-bit heap)
    d = getattr(router, "_e2e_done", None)
    if d is None:
        d = router._e2e_done = {}
    if key in d:
        return
    t = sys.modules.get("sedsnet.tuning")
    cap = 128 if t is None else t._values[10]
    while len(d) >= cap:
        d.pop(next(iter(d)))
        router._budget.give(_DONE_BYTES)
    if router._budget.take(_DONE_BYTES):
        d[key] = True


def e2e_check(router, src, hdr, data):
    """A frame whose contract names target hosts, before local delivery: 1 when they are
    others (as 4.2.7: only passed on); 2 when it names us and was delivered here before,
    after ACKing it again (its origin still resends: our ACK was lost), so it is not
    delivered twice (the recent-ID cache keeps 128 IDs of every frame and forgets a packet
    an origin resends over a long outage; 4.2.7's holder delivered once over 186 resends
    in 37 s); 0: deliver it. Reliable data from a side, contract or not, is first learned as
    the way back for its E2E ACKs (return_path.py)."""
    if hdr.rel_form and src != _LOCAL:
        learn(router, src, hdr, data)
    cs = hdr.contract_start
    if cs < 0 or not data[cs] & 0x01:
        return 0  # (no target hosts: a contract-less reliable frame, only learned)
    targets = hdr.contract_targets(data)
    if targets and router.sender_hash not in targets and hdr.src_addr != router.src_addr:
        return 1  # (our own, to the holders elsewhere: a handler here has it too)
    d = getattr(router, "_e2e_done", None)
    if src == _LOCAL or d is None:
        return 0
    pid = bytearray(8)
    ids.write_packet_id(hdr, data, pid)
    if bytes(pid) not in d:
        return 0
    e2e_ack(router, src, hdr, data)
    router._e2e_repeats = getattr(router, "_e2e_repeats", 0) + 1
    return 2


_rp = [None]  # return_path.py, once loaded (an import per frame would allocate)


def learn(node, sid, hdr, data):
    """A reliable frame from side sid (Router: e2e_check; Relay._deliver; a repeat:
    reliable_e2e.repeat): the side its holders' E2E ACKs go back on (return_path.py)."""
    m = _rp[0]
    if m is None:
        from . import return_path as m
        _rp[0] = m
    m.learn(node, sid, hdr, data)


def _le64(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))
