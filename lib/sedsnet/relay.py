# Relay: a Node without local handlers that only forwards between its sides (the reference's
# sedsnet.Relay), with the same side, route-rule and queue API.
from .engine import _ctl, packed_of
from .node import Node


class Relay(Node):
    kind = "relay"
    default_hostname = "RELAY"  # the reference's sender when no hostname is given

    def __init__(self, now_ms=None, hostname=None, max_queue_budget=None, max_recent_rx_ids=None,
                 starting_queue_size=None, queue_grow_step=None, discovery=None,
                 max_discovery_peers=None):
        Node.__init__(self, now_ms, hostname, max_queue_budget, max_recent_rx_ids,
                      starting_queue_size, queue_grow_step, discovery, max_discovery_peers)

    def _deliver(self, src, hdr, data, n):
        # (small: a bigger call state would be a heap block on every forwarded frame)
        if hdr.rel_form or hdr.contract_start >= 0:
            return self._deliver_marked(src, hdr, data, n)
        return 0  # routed by its endpoints

    def _deliver_marked(self, src, hdr, data, n):
        # a frame naming its holders (a network-variable push): towards their sides, as
        # 4.2.7's Relay sends it (netvar_push.toward); 0: routed by its endpoints
        if hdr.rel_form:  # reliable data: the way back for its E2E ACKs (return_path.py)
            _ctl().learn(self, src, hdr, data)
        cs = hdr.contract_start
        if cs >= 0 and data[cs] & 1 and not hdr.rel_form and self.discovery is not None:
            from .netvar_push import toward
            return toward(self, src, hdr, data, n)
        return 0

    def local_endpoints(self):
        """The sorted endpoint IDs local handlers hold (none on a Relay)."""
        return []

    # a frame received on side_id, handled now (4.2.7 Relay's name): Engine._rx_now itself,
    # not a wrapper (a call less per frame)
    rx_packed_from_side = Node._rx_now

    def rx_packet_from_side(self, side_id, packet):
        """rx_packed_from_side() of a Packet. ArgumentError for a non-Packet."""
        self._rx_now(side_id, packed_of(packet))

    def rx_packed_queue_from_side(self, side_id, data):
        """Queue a frame received on side_id (IRQ-safe); a full ring drops it (counted)."""
        self._rx_queue(self._side(side_id), data)

    def rx_packet_queue_from_side(self, side_id, packet):
        """Queue a Packet received on side_id (not IRQ-safe: packing allocates)."""
        self._rx_queue(self._side(side_id), packed_of(packet))
