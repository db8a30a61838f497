# export_runtime_stats() and export_memory_layout_json() of a Router/Relay. The memory layout
# has exactly the reference's keys; runtime stats have the reference's per-side counters that
# we keep (README lists them) plus our drop reasons. Kept out of node.py: a board that never asks for them never loads them.
import json

from .engine import DROP_NAMES
from .routes import LOCAL

MODE_NAMES = ("Fanout", "Weighted", "Failover")


def runtime_stats(node):
    sides = []
    for s in node.sides:
        if s is None:
            continue
        sides.append({
            "side_id": s.sid, "side_name": s.name, "reliable_enabled": s.reliable,
            "ingress_enabled": s.ingress, "egress_enabled": s.egress,
            "tx_packets": s.tx_packets, "tx_bytes": s.tx_bytes,
            "rx_packets": s.rx_packets, "rx_bytes": s.rx_bytes,
            "relayed_tx_packets": s.relayed_tx_packets, "relayed_tx_bytes": s.relayed_tx_bytes,
            "relayed_rx_packets": s.relayed_rx_packets, "relayed_rx_bytes": s.relayed_rx_bytes,
            "local_delivery_packets": s.local_delivery_packets,
            "tx_handler_failures": s.tx_handler_failures,
            "local_handler_failures": getattr(node, "_handler_failures", 0),
            "drops": dict(zip(DROP_NAMES, s.drops)),
        })
        if s.sdt is not None:
            _sdt(s.sdt, sides[-1])
        m = node.discovery.meters.get(s.sid) if node.discovery is not None else None
        if m is not None:  # linkload.py: 4.2.7's adaptive link stats
            sides[-1]["adaptive"] = m.snapshot(node.now_ms())
    modes, over, typed, weights, prios = route_lists(node._routes)
    return {
        "sides": sides, "route_modes": modes, "route_overrides": over,
        "typed_route_overrides": typed, "route_weights": weights, "route_priorities": prios,
        "queues": {"rx_len": node._rx.live, "rx_bytes": node._rx.bytes, "tx_len": node._tx.live,
                   "tx_bytes": node._tx.bytes, "isr_rx_len": node._isr.live(),
                   "recent_rx_len": node._recent.count,
                   "recent_rx_bytes": 8 * node._recent.count,
                   "rx_evicted": node._rx.evicted, "local_rx_dropped": node._local_rx_dropped, "tx_evicted": node._tx.evicted,
                   "shared_queue_bytes_used": _used(node)},
        "total_handler_failures": getattr(node, "_handler_failures", 0),
        # (ours) reliable frames delivered here whose E2E ACK could not be sent yet: the
        # origin's sender name was not known; its resend gets the ACK
        "e2e_unacked": getattr(node, "_e2e_unacked", 0),
        "discovery": _discovery(node),
        "reliable": _reliable(node),
        "network_variables": node.netvar.stats() if node.netvar is not None else {},
    }


def _reliable(node):
    """4.2.7's section: the return routes learned per packet (return_path.py), the origin's
    end-to-end counts (reliable_origin.py) and the ACK cache of a node passing E2E ACKs on;
    ours under "hop" (reliable.py) and "e2e"."""
    ret = getattr(node, "_e2e_ret", None)
    out = {"reliable_return_route_count": ret.count if ret is not None else 0,
           "end_to_end_pending_count": 0,
           "end_to_end_pending_destination_count": 0,
           "end_to_end_acked_cache_count": len(getattr(node, "_e2e_acked", ()))}
    if node.rel is not None:
        out["hop"] = node.rel.stats()
    if node.e2o is not None:
        node.e2o.stats(out)
    unrouted = getattr(node, "_e2e_unrouted", 0)  # E2E ACKs neither learned nor announced
    if unrouted:
        out.setdefault("e2e", {})["acks_unrouted"] = unrouted
    if ret is not None:  # E2E ACKs sent back along a learned return route, routes forgotten
        e = out.setdefault("e2e", {})
        e["acks_returned"] = getattr(node, "_e2e_returned", 0)
        e["return_routes_evicted"] = ret.evicted
        e["return_route_bytes"] = ret.cost
    done = getattr(node, "_e2e_done", None)  # a holder's delivered IDs (control.e2e_check)
    if done is not None:
        e = out.setdefault("e2e", {})
        e["delivered_ids"] = len(done)
        e["repeats_acked"] = getattr(node, "_e2e_repeats", 0)
    return out


def _e2e_bytes(node):
    """The origin's pending frames, the peers table and the return routes (reliable_origin.py,
    reliable_e2e, return_path.py)."""
    c = getattr(node, "_e2e_peers", None)
    ret = getattr(node, "_e2e_ret", None)
    return (node.e2o.bytes if node.e2o is not None else 0) + (c[2] if c is not None else 0) \
        + (ret.cost if ret is not None else 0) \
        + 80 * len(getattr(node, "_e2e_acked", ())) \
        + getattr(getattr(node, "_e2e_done", None), "bytes", 0)  # (control._done's take)


def _sdt(sdt, entry):
    """Add 4.2.7's side-transport keys of a profiled side (sdt.SdtSide) to its side entry."""
    from .sdt_codec import PROFILES
    r = sdt.rx_side
    entry["link_local_enabled"] = False
    entry["header_template_enabled"] = sdt.templates
    entry["max_frame_bytes"] = sdt.max_frame
    entry["compact_header_target_bytes"] = sdt.target
    entry["side_transport_profile"] = PROFILES[sdt.code]
    if sdt.active:
        entry["tx_bytes"] = sdt.wire  # 4.2.7 counts wire bytes on such a side
    for k, v in (("full_frames", sdt.full), ("compact_frames", sdt.compact),
                 ("compact_delta_frames", 0), ("compact_omitted_timestamp_frames", 0),
                 ("chunk_frames", sdt.chunks),
                 ("chunk_reclaims", r.reclaims if r is not None else 0),
                 ("raw_bytes", sdt.raw), ("wire_bytes", sdt.wire),
                 ("bytes_saved", sdt.saved),
                 ("min_compact_overhead_bytes", sdt.min_over),
                 ("max_compact_overhead_bytes", sdt.max_over),
                 ("compact_target_misses", sdt.misses),
                 ("template_evictions", sdt.evictions + (r.evictions if r else 0)),
                 ("tx_template_count", len(sdt.tx_ids)),
                 ("rx_template_count", len(r.templates) if r is not None else 0)):
        entry["side_transport_" + k] = v
    entry["max_side_transport_templates"] = sdt.max_templates


def _discovery(node):
    """Bounded discovery tables (our addition): announcers and boards held, their maxima,
    evictions, bytes, and the process-wide sender-name cache."""
    from . import ids
    d = node.discovery
    out = {}
    if d is not None:
        from .announce_table import ANN, PeerTable
        if isinstance(d, PeerTable):  # (not a test's stand-in)
            sides = 0
            for st in d.sides.values():
                if st[ANN]:
                    sides += 1
            out = {"route_count": sides, "announcer_count": d.routes,  # 4.2.7's keys
                   "current_announce_interval_ms": d.interval,
                   "next_announce_ms": d.next_announce,
                   "announcers": d.routes, "max_announcers": d.max_peers,
                   "boards": d.boards, "max_boards": d.max_boards,
                   "evicted": d.evicted, "boards_dropped": d.dropped,
                   "baselines_evicted": d.baselines_evicted, "queue_room": d.queue_room,
                   "schema_fallbacks": d.schema_fallbacks,
                   "hostnames": len(d.hosts), "hostnames_evicted": d.hosts_evicted,
                   "bytes": d.memory_bytes()}
    out["sender_names"] = len(ids._names)
    out["max_sender_names"] = ids._names_max[0]
    return out


def _used(node):
    """Bytes in use against the shared queue budget."""
    disc = node.discovery.memory_bytes() if node.discovery is not None else 0
    if node._sdt_on:
        disc += sum(s.sdt.memory_bytes() for s in node.sides if s is not None and s.sdt)
    return (node._rx.bytes + node._tx.bytes + _isr_bytes(node._isr) + node._recent.nbytes()
            + node._schema_bytes + disc + (node.rel.budget_bytes() if node.rel else 0)
            + (node.netvar.memory_bytes() if node.netvar is not None else 0) + _e2e_bytes(node))


def _held(node):
    """(bytes, frames) held after a gap on reliable sides (reliable_rx.py)."""
    orx = node.rel.orx if node.rel is not None else None
    return (orx.held_bytes, orx.held_count) if orx is not None else (0, 0)


def _isr_bytes(isr):
    used = isr.tail - isr.head
    return used if used >= 0 else used + isr.cap


def memory_layout_json(node):
    total = node._budget.total
    disc = node.discovery.memory_bytes() if node.discovery is not None else 0
    nv = node.netvar
    return json.dumps({
        "kind": node.kind,
        "shared_queue_bytes_used": _used(node), "shared_queue_bytes_allocated": total,
        "rx_queue_bytes_used": node._rx.bytes, "rx_queue_bytes_allocated": total,
        "rx_queue_len": node._rx.live,
        "isr_rx_queue_bytes_used": _isr_bytes(node._isr),
        "isr_rx_queue_bytes_allocated": node._isr.cap,
        "isr_rx_queue_len": node._isr.live(),
        "tx_queue_bytes_used": node._tx.bytes, "tx_queue_bytes_allocated": total,
        "tx_queue_len": node._tx.live,
        "recent_rx_bytes_used": 8 * node._recent.count,
        "recent_rx_bytes_allocated": node._recent.nbytes(),
        "recent_rx_len": node._recent.count,
        "reliable_rx_buffer_bytes_used": _held(node)[0],
        "reliable_rx_buffer_bytes_allocated": total, "reliable_rx_buffer_len": _held(node)[1],
        "discovery_bytes_used": disc, "discovery_bytes_allocated": total,
        "schema_bytes_used": node._schema_bytes, "schema_bytes_allocated": total,
        "network_variable_cache_bytes_used": nv.cached_bytes if nv is not None else 0,
        "network_variable_cache_bytes_allocated": total,
        "network_variable_cache_len": nv.cache_len() if nv is not None else 0,
    })


def route_lists(routes):
    """The reference's export_runtime_stats() route lists."""
    def side(v):
        return None if v == LOCAL else v

    modes = [{"src_side_id": side(s), "selection_mode": MODE_NAMES[m],
              "cursor": routes.cursor.get(s, 0)} for s, m in routes.modes.items()]
    # a source without a mode that has chosen between paths (paths.adaptive): 4.2.7 lists
    # its cursor with selection_mode None
    modes += [{"src_side_id": side(s), "selection_mode": None, "cursor": c}
              for s, c in sorted(routes.cursor.items()) if s not in routes.modes]
    over = [{"src_side_id": side(k >> 8), "dst_side_id": k & 0xFF, "enabled": v}
            for k, v in routes.allow.items()]
    typed = [{"src_side_id": side(k >> 8), "ty": ty, "dst_side_id": k & 0xFF, "enabled": v}
             for ty, t in routes.typed.items() for k, v in t.items()]
    weights = [{"src_side_id": side(k >> 8), "dst_side_id": k & 0xFF, "weight": v}
               for k, v in routes.weights.items()]
    prios = [{"src_side_id": side(k >> 8), "dst_side_id": k & 0xFF, "priority": v}
             for k, v in routes.prios.items()]
    return modes, over, typed, weights, prios
