# The rarely called Node methods live in node_calls.py (issue 10: a CircuitPython board compiles
# only what it uses): a router that never calls them never loads that module; the first call
# loads it, and the methods behave as before (arguments, keywords, errors, rule side effects).
import sys

import sedsnet
from sedsnet import ArgumentError
from sedsnet.relay import Relay
from sedsnet.router import Router
from support import raises


def _router():
    r = Router(now_ms=lambda: 0, hostname="NC")
    a = r.add_side_packed("a", lambda f: None)
    b = r.add_side_packed("b", lambda f: None)
    return r, a, b


def test_a_router_that_never_calls_them_does_not_load_node_calls():
    sys.modules.pop("sedsnet.node_calls", None)  # (an earlier test in this process: forgotten)
    sedsnet.__dict__.pop("node_calls", None)
    r, a, b = _router()
    r.set_source_route_mode(None, 0)  # (the boards' one rule call stays in node.py)
    r.periodic(0)
    r.process_all_queues()
    assert r.side_ids() == [a, b] and r.side_reliable(a) is False
    assert "sedsnet.node_calls" not in sys.modules
    r.set_route(a, b, False)
    assert "sedsnet.node_calls" in sys.modules


def test_bound_calls_take_keywords_and_raise_as_methods():
    r, a, b = _router()
    r.set_typed_route(src_side_id=a, ty=7, dst_side_id=b, enabled=False)
    assert r._routes.typed == {7: {a * 256 + b: False}}
    r.clear_typed_route(a, 7, b)
    assert r._routes.typed == {}
    raises(ArgumentError, r.set_route_weight, None, b, -1)
    raises(ArgumentError, r.set_route, a, 9, True)
    raises(AttributeError, getattr, r, "set_no_such_route")
    raises(AttributeError, getattr, r, "_key")  # internals of node_calls are not methods
    assert r.process_rx_queue_with_timeout(0) == 0 and r.process_tx_queue_with_timeout(5) == 0
    raises(ArgumentError, r.process_tx_queue_with_timeout, -1)
    r.clear_queues()


def test_rule_calls_mark_a_discovery_change_and_restart_the_cursor():
    r, a, b = _router()
    r.discovery.changed = False
    r._routes.cursor[a] = 3
    r.set_route_priority(a, b, 2)  # no cursor restart
    assert r.discovery.changed is True and r._routes.cursor[a] == 3
    r.set_route_weight(a, b, 2)
    assert r._routes.cursor.get(a) is None and r._routes.weights == {a * 256 + b: 2}
    x = Relay(now_ms=lambda: 0, hostname="NCR")
    s = x.add_side_packed("s", lambda f: None)
    x.add_side_packed("t", lambda f: None)
    x.discovery.changed = False
    x.set_route(s, 1, False)
    assert x.discovery.changed is False  # (4.2.7's Relay: no rule calls to copy)
    x.remove_side(1)
    assert x.side_ids() == [s]
    raises(AttributeError, getattr, x, "receive_packet_queue")  # a Router's, not a Relay's
    assert r.process_received_queue() == 0 and r.process_send_queue() == 0
    assert r.resolve_hostname("NC")["hostname"] == "NC"
