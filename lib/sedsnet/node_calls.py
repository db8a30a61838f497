# Node's rarely called public methods (route rules, side switches, side removal, queue clears,
# the one-queue timeouts, full discovery's calls), as functions of the node: Node.__getattr__
# loads this module by the first such call and hands out the function bound to the node. A
# board that never calls them never compiles or keeps them (a CircuitPython board compiles its
# .py sources into its heap). Each rule call ends in Node._rule_changed, as
# set_source_route_mode (the one rule call boards make) in node.py.
from .engine import packed_of
from .errors import ArgumentError
from .node import flag
from .queues import check_timeout


def bound(node, name):
    """Function `name` of this module as a method of node."""
    f = globals()[name]

    def call(*args, **kw):
        return f(node, *args, **kw)
    return call


def _key(node, src_side_id, dst_side_id):
    return node._src(src_side_id) * 256 + node._side(dst_side_id, "dst_side_id").sid


def _put(node, table, src_side_id, dst_side_id, value, reset):
    # (the value is checked by the caller first: a bad one changes nothing)
    table[_key(node, src_side_id, dst_side_id)] = value
    node._rule_changed(src_side_id, reset)


def _drop(node, table, src_side_id, dst_side_id, reset):
    table.pop(_key(node, src_side_id, dst_side_id), None)
    node._rule_changed(src_side_id, reset)


def _u32(v, what):
    if not isinstance(v, int) or not 0 <= v <= 0xFFFFFFFF:
        raise ArgumentError("%s must be a u32, not %r" % (what, v))
    return v


def _ty(ty):
    if not isinstance(ty, int) or not 0 <= ty <= 0xFFFFFFFF:
        raise ArgumentError("ty: a data type is a u32, not %r" % (ty,))
    return ty


# ---- sides --------------------------------------------------------------------------------
def remove_side(node, side_id):
    """Remove a side (its queued frames and rules go with it). ArgumentError for an unknown side
    or from inside a callback."""
    side = node._side(side_id)
    if node._busy:  # from a handler or tx callback: the side may be in use right now
        raise ArgumentError("remove_side() cannot run inside a callback of this node")
    if side.sdt is not None:
        side.sdt.release()  # its reassembly and templates give their budget back
    sides = node.sides
    sides[side_id] = None  # first: from here on an IRQ cannot queue for it
    node._emask = -1
    while sides and sides[-1] is None:
        sides.pop()
    node._isr.kill_tag(side_id)  # its queued frames must not pass for a new side's
    node._rx.kill_tag(side_id)
    from .route_rules import forget_side
    forget_side(node._routes, side_id)
    if node.discovery is not None:
        node.discovery.side_removed(side_id)


def set_side_ingress_enabled(node, side_id, enabled):
    """Accept frames from side_id, or not (refused frames are counted). ArgumentError for an
    unknown side."""
    node._side(side_id).ingress = flag(enabled, "enabled")


def set_side_egress_enabled(node, side_id, enabled):
    """Let frames leave on side_id, or not. ArgumentError for an unknown side."""
    node._side(side_id).egress = flag(enabled, "enabled")
    node._emask = -1


# ---- route rules --------------------------------------------------------------------------
def set_route(node, src_side_id, dst_side_id, enabled):
    """Allow or block frames from src_side_id (None: local) to dst_side_id. ArgumentError for an
    unknown side."""
    _put(node, node._routes.allow, src_side_id, dst_side_id, flag(enabled, "enabled"), False)


def clear_route(node, src_side_id, dst_side_id):
    """Remove the set_route rule for (src_side_id, dst_side_id). ArgumentError for an unknown
    side."""
    _drop(node, node._routes.allow, src_side_id, dst_side_id, False)


def set_typed_route(node, src_side_id, ty, dst_side_id, enabled):
    """Allow or block frames of type ty from src_side_id to dst_side_id. ArgumentError for a bad
    side or type."""
    k = _key(node, src_side_id, dst_side_id)
    node._routes.typed.setdefault(_ty(ty), {})[k] = flag(enabled, "enabled")
    node._rule_changed(src_side_id, False)


def clear_typed_route(node, src_side_id, ty, dst_side_id):
    """Remove the set_typed_route rule for (src_side_id, ty, dst_side_id). ArgumentError for a
    bad side or type."""
    typed = node._routes.typed
    t = typed.get(_ty(ty))
    if t is not None:
        t.pop(_key(node, src_side_id, dst_side_id), None)
        if not t:
            del typed[ty]
    node._rule_changed(src_side_id, False)


def clear_source_route_mode(node, src_side_id):
    """Remove the route selection mode of src_side_id (back to Weighted). ArgumentError for an
    unknown side."""
    node._routes.modes.pop(node._src(src_side_id), None)
    node._rule_changed(src_side_id, True)


def set_route_weight(node, src_side_id, dst_side_id, weight):
    """Weight of (src_side_id, dst_side_id) in Weighted mode (u32). ArgumentError for a bad side
    or value."""
    _put(node, node._routes.weights, src_side_id, dst_side_id, _u32(weight, "weight"), True)


def clear_route_weight(node, src_side_id, dst_side_id):
    """Remove the weight of (src_side_id, dst_side_id). ArgumentError for an unknown side."""
    _drop(node, node._routes.weights, src_side_id, dst_side_id, True)


def set_route_priority(node, src_side_id, dst_side_id, priority):
    """Failover priority of (src_side_id, dst_side_id), lower first (u32). ArgumentError for a
    bad side or value."""
    _put(node, node._routes.prios, src_side_id, dst_side_id, _u32(priority, "priority"), False)


def clear_route_priority(node, src_side_id, dst_side_id):
    """Remove the failover priority of (src_side_id, dst_side_id). ArgumentError for an unknown
    side."""
    _drop(node, node._routes.prios, src_side_id, dst_side_id, False)


# ---- queues -------------------------------------------------------------------------------
def process_rx_queue_with_timeout(node, timeout_ms):
    """Handle queued received frames for up to timeout_ms (0: all); returns how many.
    ArgumentError for a bad timeout."""
    check_timeout(timeout_ms)
    if node._busy:
        node._nested = True
        return 0
    return node._process_rx(node.now_ms() + timeout_ms if timeout_ms > 0 else -1)


def process_tx_queue_with_timeout(node, timeout_ms):
    """Send queued frames for up to timeout_ms (0: all); returns how many. ArgumentError for a
    bad timeout."""
    check_timeout(timeout_ms)
    if node._busy:
        node._nested = True
        return 0
    return node._process_tx(node.now_ms() + timeout_ms if timeout_ms > 0 else -1)


def clear_rx_queue(node):
    """Drop every queued received frame (IRQ ring and deferred ring)."""
    node._isr.clear()
    node._rx.clear()


def clear_tx_queue(node):
    """Drop every queued frame to send."""
    node._tx.clear()


def clear_queues(node):
    """Drop every queued frame, received and to send."""
    clear_rx_queue(node)
    node._tx.clear()


# ---- full discovery (topology.py) ---------------------------------------------------------
def export_topology(node):
    """4.2.7's discovered network: routers, links, routes."""
    from .topology import export_topology
    return export_topology(node)


def client_stats(node, sender_id):
    """4.2.7's dict for a direct announcer named sender_id, else None."""
    from .topology import client_stats
    return client_stats(node, sender_id)


def announce_discovery(node):
    """ADDRESS (a Relay: LINK_CAPABILITIES) + full TOPOLOGY + SCHEMA on every side, now."""
    from .topology import announce_discovery
    announce_discovery(node)


def announce_leave(node):
    """One DISCOVERY_LEAVE (type 15, empty) on every side, now: peers drop us at once."""
    from .topology import announce_leave
    announce_leave(node)


# ---- a Router's (router.py's __getattr__ binds these: a Relay has none of them) -------------
def resolve_hostname(router, hostname):
    """{hostname, address, requested_address, birth_ms, owner_hash} of a discovered router (or
    us), None when unknown (topology.py)."""
    from .topology import resolve_hostname
    return resolve_hostname(router, hostname)


def receive_packet_queue_from_side(router, side_id, packet):
    """Not IRQ-safe: packing the Packet allocates (MemoryError under heap_lock). From an IRQ use
    receive_packed_queue_from_side with the frame bytes."""
    router._rx_queue(router._side(side_id), packed_of(packet))


def receive_packet_queue(router, packet):
    """Not IRQ-safe: packing the Packet allocates; from an IRQ use receive_packed_queue."""
    router.receive_packed_queue(packed_of(packet))


def process_received_queue(router):
    """Handle every queued received frame (process_rx_queue); returns how many."""
    return router.process_rx_queue()


def process_send_queue(router):
    """Send every queued frame (process_tx_queue); returns how many."""
    return router.process_tx_queue()
