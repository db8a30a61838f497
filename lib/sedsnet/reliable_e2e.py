# End-to-end reliable data seen again (shared/protocol/reliable.md "End-to-end"): a repeat of
# a frame with a wire contract and a reliable header (an origin's end-to-end resend, or a
# copy a link duplicated). As 4.2.7 (host_tests/test_reliable_interop.py): a router it is only
# passing through sends it on again, since the first copy may have been lost further on (the
# holder drops the extra copies); a holder named in the contract does not deliver it again
# but answers it with another E2E ACK, since the first ACK may have been lost. Loaded by the
# engine at the first such repeat.
from .compat import const

_SEDSNET_P2P_MESSAGE = const(18)  # the last built-in (control) type (consts.py)


def repeat(node, sid, hdr, data, n):
    """True when the repeat was handled here; False: count it as a duplicate and drop it."""
    targets = hdr.contract_targets(data) if data[hdr.contract_start] & 0x01 else None
    if targets and node.sender_hash in targets:
        if node.kind == "router" and (hdr.ty == _SEDSNET_P2P_MESSAGE or (
                hdr.ty > _SEDSNET_P2P_MESSAGE and node._holds(hdr))):
            node._e2e_ack(sid, hdr, data)  # the origin is still resending: our ACK was lost
        elif node.netvar is not None:
            node.netvar.on_repeat(sid, hdr, data)  # a network-variable push (netvar.py)
        return False
    if hdr.ty <= _SEDSNET_P2P_MESSAGE or not hdr.rel_form:
        return False  # control frames (P2P, E2E ACKs) and pushes die as duplicates
    dst = node._destinations(sid, hdr, 0)
    if not dst:
        return False
    side = node.sides[sid]
    side.relayed_rx_packets += 1
    side.relayed_rx_bytes += n
    node._send(dst, data, n, True)
    return True
