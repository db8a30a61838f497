"""Live P2P datagram interop (issue 16): a reference 4.2.7 Router in CPython and ours in
MicroPython (netlab.py), discovery on. Each way, by hostname and by address: the payload and
the meta the server's callback gets; the server answers from its callback; each message is
E2E-ACKed (the sender sends it once, no resend); an unknown hostname is refused on both; the
server moves to a static address (configure_address) and hostname targeting still works, as
does the new address."""
import pytest

from netlab import network, p2p

SCHEMA = []


@pytest.fixture(scope="module")
def net_factory():
    with network(SCHEMA) as net:
        yield net.reset


def events(net, name):
    return p2p(net, name, "events")["result"]


def pair(net_factory, server_lab):
    net = net_factory()
    client_lab = "mp" if server_lab == "ref" else "ref"
    net.node(server_lab, "S", 1, hostname="p2p_server_" + server_lab)
    net.node(client_lab, "C", 1, hostname="p2p_client_" + client_lab)
    net.link("S", 0, "C", 0)
    net.run(500)
    return net


def _host(net, name):
    return ("p2p_server_" if name == "S" else "p2p_client_") + net.where[name]


def _sent(net, name, start, ty="12"):
    return [f for _, who, _, f in net.trace[start:] if who == name and f[4:6] == ty]


@pytest.mark.parametrize("server_lab", ["ref", "mp"])
@pytest.mark.parametrize("by", ["hostname", "address"])
def test_datagram_meta_payload_and_reply(net_factory, server_lab, by):
    net = pair(net_factory, server_lab)
    s_host, c_host = _host(net, "S"), _host(net, "C")
    s_addr = net.call("C", "resolve_hostname", s_host)["address"]
    c_addr = net.call("S", "resolve_hostname", c_host)["address"]
    assert s_addr == net.call("S", "resolve_hostname", s_host)["address"]
    assert p2p(net, "S", "bind_p2p_port", 80, echo=b"re:") == {"result": None}
    assert p2p(net, "C", "bind_p2p_port", 49152) == {"result": None}
    start = len(net.trace)
    payload = b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256))
    if by == "hostname":
        res = p2p(net, "C", "send_p2p_to_hostname", s_host, 80, 49152, payload)
    else:
        res = p2p(net, "C", "send_p2p_to_address", s_addr, 80, 49152, payload)
    assert res == {"result": None}
    net.run(net.t + 1000)
    assert events(net, "S") == [[{"source_hostname": c_host, "source_address": c_addr,
                                  "source_port": 49152, "destination_port": 80},
                                 payload.hex()]]
    assert events(net, "C") == [[{"source_hostname": s_host, "source_address": s_addr,
                                  "source_port": 80, "destination_port": 49152},
                                 (b"re:" + payload).hex()]]
    # one message each way, each E2E-ACKed once, nothing resent in a second
    assert len(_sent(net, "C", start)) == 1 and len(_sent(net, "S", start)) == 1
    acks = [f for f in _sent(net, "S", start, "01") + _sent(net, "C", start, "01")
            if f[:2] == "0c"]
    assert len(acks) == 2


@pytest.mark.parametrize("lab", ["ref", "mp"])
def test_unknown_hostname_and_address_are_refused(net_factory, lab):
    net = pair(net_factory, "mp" if lab == "ref" else "ref")
    for what, target in (("send_p2p_to_hostname", "nobody"), ("send_p2p_to_address", 12345)):
        err = p2p(net, "C", what, target, 80, 1, b"x")["error"]
        assert ("BadArg" in err) and ("RuntimeError" in err if lab == "ref" else
                                      "ArgumentError" in err), err


@pytest.mark.parametrize("server_lab", ["ref", "mp"])
def test_hostname_targeting_survives_an_address_change(net_factory, server_lab):
    net = pair(net_factory, server_lab)
    s_host = _host(net, "S")
    old = net.call("C", "resolve_hostname", s_host)["address"]
    p2p(net, "S", "bind_p2p_port", 7)
    net.call("S", "configure_address", 2, 0x10203040)
    net.run(net.t + 2000)
    assert net.call("S", "resolve_hostname", s_host)["address"] == 0x10203040 != old
    assert net.call("C", "resolve_hostname", s_host)["address"] == 0x10203040
    p2p(net, "C", "send_p2p_to_hostname", s_host, 7, 1000, b"by name")
    p2p(net, "C", "send_p2p_to_address", 0x10203040, 7, 1001, b"by new address")
    net.run(net.t + 200)
    got = events(net, "S")
    assert [(m["source_port"], bytes.fromhex(p)) for m, p in got] == [
        (1000, b"by name"), (1001, b"by new address")]


@pytest.mark.parametrize("relay", [False, True])
def test_through_a_reference_router_or_relay(net_factory, relay):
    net = net_factory()
    net.node("mp", "A", 1, hostname="p2p_hop_a")
    net.node("mp", "B", 1, hostname="p2p_hop_b")
    net.node("ref", "M", 2, hostname="p2p_hop_m", relay=relay)
    net.link("A", 0, "M", 0)
    net.link("M", 1, "B", 0)
    net.run(1500)
    p2p(net, "B", "bind_p2p_port", 80)
    p2p(net, "B", "bind_p2p_stream_port", 81)
    start = len(net.trace)
    p2p(net, "A", "send_p2p_to_hostname", "p2p_hop_b", 80, 5, b"over 4.2.7")
    sid = p2p(net, "A", "open_p2p_stream_to_hostname", "p2p_hop_b", 81, 5)["result"]
    p2p(net, "A", "send_p2p_stream", sid, b"x")
    p2p(net, "A", "close_p2p_stream", sid)
    net.run(net.t + 1000)
    got = events(net, "B")
    assert [(m.get("source_hostname") or m["kind"], bytes.fromhex(p)) for m, p in got] == [
        ("p2p_hop_a", b"over 4.2.7"), ("Accepted", b""), ("Data", b"x"), ("Closed", b"")]
    # 4.2.7 passes the E2E ACKs back: the datagram, SYN, DATA and FIN went once each
    assert len([f for _, who, _, f in net.trace[start:] if who == "A" and f[4:6] == "12"]) == 4
