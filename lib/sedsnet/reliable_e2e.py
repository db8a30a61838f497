# End-to-end reliable data seen again (shared/protocol/reliable.md "End-to-end"): a repeat of
# a frame with a wire contract and a reliable header (an origin's end-to-end resend, or a
# copy a link duplicated). As 4.2.7 (host_tests/test_reliable_interop.py): a router it is only
# passing through sends it on again, since the first copy may have been lost further on (the
# holder drops the extra copies); a holder named in the contract does not deliver it again
# but answers it with another E2E ACK, since the first ACK may have been lost. Loaded by the
# engine at the first such repeat. Also: where an E2E ACK for another node goes (ack(), from
# control.dispatch) and the discovered routers by sender hash (peers(): the holders
# reliable_origin.py names, the sides an ACK goes back on).
import sys

from .compat import const
from .control import eligible, flood
from .errors import SedsError
from .ids import sender_hash, source_address, write_packet_id
from .return_path import learn, side_of

_SEDSNET_P2P_MESSAGE = const(18)  # the last built-in (control) type (consts.py)
_PEER_BYTES = const(88)  # a peers() entry (measured on the 32-bit heap), charged to the budget


def repeat(node, sid, hdr, data, n):
    """True when the repeat was handled here; False: count it as a duplicate and drop it."""
    if hdr.rel_form:  # as 4.2.7: the ACKs of a repeat go back the way it came this time
        learn(node, sid, hdr, data, True)
    targets = hdr.contract_targets(data) if data[hdr.contract_start] & 0x01 else None
    if targets and node.sender_hash in targets:
        if node.kind == "router" and (hdr.ty == _SEDSNET_P2P_MESSAGE or (
                hdr.ty > _SEDSNET_P2P_MESSAGE and node._holds(hdr))):
            if hdr.e2e:  # sealed: the ACK names the opened frame's ID, as the first one did
                try:
                    from .e2e_frame import open_frame
                    hdr, data, n = open_frame(node, hdr, data, n)
                except SedsError:
                    return False
            node._e2e_ack(sid, hdr, data)  # the origin is still resending: our ACK was lost
        elif node.netvar is not None:
            node.netvar.on_repeat(sid, hdr, data)  # a network-variable push (netvar.py)
        return False
    if hdr.ty <= _SEDSNET_P2P_MESSAGE or not hdr.rel_form:
        return False  # control frames (P2P, E2E ACKs) and pushes die as duplicates
    dst = node._destinations(sid, hdr, 0)
    if targets and node.discovery is not None:
        # as a 4.2.7 Relay: only toward the holders whose E2E ACK has not passed here; when
        # every one has, toward all of them again (their ACKs were lost beyond us: a 4.2.7
        # Relay drops such a resend, and its origin resends it until it gives up)
        pid = bytearray(8)
        write_packet_id(hdr, data, pid)
        done = getattr(node, "_e2e_acked", {}).get(bytes(pid))
        if done is not None:
            m = peers(node)
            mask = 0
            for t in targets:
                if t not in done and t in m:
                    mask |= m[t][0]
            if dst & mask:
                dst &= mask
    if not dst:
        return False
    side = node.sides[sid]
    side.relayed_rx_packets += 1
    side.relayed_rx_bytes += n
    node._send(dst, data, n, True)
    return True


def ack(node, sid, hdr, data, n):
    """An E2E ACK (type 1 with a contract) from side sid. One naming us goes to our origin
    table (reliable_origin.py); another goes on, as 4.2.7 Routers and Relays send it
    (test_return_path_parity.py), on the side its packet came in on (return_path.py) unless
    that is where the ACK came from, else toward the origin it names (its second target) on
    the sides where discovery knows it, else nowhere (counted: 4.2.7 drops it too), or on
    every other side when the budget could not hold the return-path ring (we learned none)."""
    targets = hdr.contract_targets(data)
    me = node.sender_hash
    if me in targets or node.src_addr in targets:
        s = getattr(node, "_svc", None)
        if s is not None:
            s.on_ack(hdr, data)  # a P2P stream frame's, maybe (p2p.py)
        o = node.e2o
        if o is not None:
            for t in targets:
                if t != me and t != node.src_addr:
                    o.on_ack(hdr, data, t)
                    break
        return
    p = hdr.payload_start
    back = side_of(node, data, p) if hdr.payload_end - p == 8 else -1
    mask = 0
    if back >= 0 and back != sid:
        mask = (1 << back) & eligible(node, sid, hdr.ty)
    if mask:
        node._e2e_returned = getattr(node, "_e2e_returned", 0) + 1
    elif node.discovery is not None:
        m = peers(node)
        for t in targets[1:]:  # (the first target is the ACKing holder, as 4.2.7 writes it)
            p = m.get(t)
            if p is not None:
                mask |= p[0]
        mask &= eligible(node, sid, hdr.ty)
    if mask:
        _remember(node, data[hdr.payload_start:hdr.payload_end], targets[0])
        node._send(mask, data, n, True)
    else:  # neither seen nor announced: dropped, as 4.2.7 (never flooded to unrelated sides)
        node._e2e_unrouted = getattr(node, "_e2e_unrouted", 0) + 1
        if getattr(node, "_e2e_ret_full", False):  # unless max_queue_budget could not hold
            flood(node, sid, hdr, data, n)  # the return-path ring: we learned nothing


_ACK_BYTES = const(80)  # an ACK cache entry: its ID, list and dict slot (32-bit heap)


def _remember(node, pid, acker):
    """The acker (the ACK's first target, as 4.2.7 writes it) is done with packet pid: an
    origin's resend of it goes on only toward the others (repeat()). At most
    reliable_max_end_to_end_ack_cache packets per node (node._e2e_acked), one forgotten
    for a new one, each charged to max_queue_budget (none kept when it is spent)."""
    acked = getattr(node, "_e2e_acked", None)
    if acked is None:
        acked = node._e2e_acked = {}
    pid = bytes(pid)
    done = acked.get(pid)
    if done is None:
        t = sys.modules.get("sedsnet.tuning")
        cap = 128 if t is None else t._values[10]
        bud = node._budget
        while len(acked) >= cap:
            acked.pop(next(iter(acked)))
            bud.give(_ACK_BYTES)
        if not bud.take(_ACK_BYTES):
            return
        done = acked[pid] = []
    if acker not in done:
        done.append(acker)


_hashes = {}  # hostname bytes -> sender hash (at most 64 names: cleared when full)


def _hash(name):
    h = _hashes.get(name)
    if h is None:
        if len(_hashes) >= 64:
            _hashes.clear()
        try:
            h = _hashes[name] = sender_hash(str(name, "utf-8"))
        except UnicodeError:
            h = 0
    return h


def _src(name):
    try:
        return source_address(str(name, "utf-8"))
    except UnicodeError:
        return -1


def _add(m, h, bit, eps):
    p = m.get(h)
    if p is None:
        m[h] = [bit, set(eps)]
    else:
        p[0] |= bit
        for e in eps:
            p[1].add(e)


def peers(node):
    """{sender hash: [side mask, set of its own endpoints]} of every router the discovery
    tables hold (TOPOLOGY boards, ADDRESS names, and each announcer's header address, the
    target a 4.2.7 holder writes for an origin it cannot name), us left out. Made again
    when the tables change (Announcer.gen); its bytes are charged to max_queue_budget."""
    disc = node.discovery
    c = getattr(node, "_e2e_peers", None)
    if c is not None and c[0] == disc.gen:
        return c[1]
    from .announce_table import ANN, BOARDS, NAME  # (discovery is on: it is loaded)
    m = {}
    srcs = {}  # header source address -> sender hash of the boards (reliable_origin.left)
    for sid in disc.sides:
        bit = 1 << sid
        anns = disc.sides[sid][ANN]
        for src in anns:
            rec = anns[src]
            _add(m, src, bit, ())
            if rec[NAME] is not None:
                _add(m, _hash(rec[NAME]), bit, ())
            boards = rec[BOARDS]
            for name in boards:
                h = _hash(name)
                _add(m, h, bit, boards[name][1])
                srcs[_src(name)] = h
    m.pop(node.sender_hash, None)
    m.pop(node.src_addr, None)
    cost = _PEER_BYTES * (len(m) + len(srcs))
    old = c[2] if c is not None else 0
    bud = node._budget
    bud.give(old)
    if not bud.take(cost):
        m = {}  # no room: nothing is known (reliable data goes hop by hop, ACKs are dropped)
        srcs = {}
        cost = 0
    node._e2e_peers = (disc.gen, m, cost, srcs)
    return m
