"""Live P2P stream interop (issue 16): a reference 4.2.7 Router in CPython and ours in
MicroPython (netlab.py). Each way: open (by hostname and by address), data both ways, close
and reset, with the meta of every callback on both ends checked against 4.2.7's kinds and
numbering (verified-4.2.7.md "P2P"). Then a board of ours pushes a file in chunks to another
of ours over a link losing 20% of the frames each way (tools/linksim.py): every byte arrives,
in order, once (4.2.7 itself never resends a P2P message: see the README)."""
import os
import sys

import pytest

import toolchain
from netlab import network, p2p
from peerproc import micropython_peer

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
from linksim import Duplex, LinkSim  # noqa: E402

SCHEMA = []


@pytest.fixture(scope="module")
def net_factory():
    with network(SCHEMA) as net:
        yield net.reset


def events(net, name):
    return [(m, bytes.fromhex(p)) for m, p in p2p(net, name, "events")["result"]]


def pair(net_factory, server_lab, sim=None):
    net = net_factory(seed=3)
    client_lab = "mp" if server_lab == "ref" else "ref"
    net.node(server_lab, "S", 1, hostname="st_server_" + server_lab)
    net.node(client_lab, "C", 1, hostname="st_client_" + client_lab)
    net.link("S", 0, "C", 0, sim=sim)
    net.run(500)
    return net


def meta(kind, sid, peer, seq, host, addr, lport, pport):
    return {"kind": kind, "stream_id": sid, "peer_stream_id": peer, "sequence": seq,
            "peer_hostname": host, "peer_address": addr, "local_port": lport, "peer_port": pport}


@pytest.mark.parametrize("server_lab", ["ref", "mp"])
@pytest.mark.parametrize("by", ["hostname", "address"])
def test_open_data_reply_close_meta(net_factory, server_lab, by):
    net = pair(net_factory, server_lab)
    s_host = "st_server_" + server_lab
    c_host = "st_client_" + net.where["C"]
    s_addr = net.call("C", "resolve_hostname", s_host)["address"]
    c_addr = net.call("S", "resolve_hostname", c_host)["address"]
    # the server's stream ids start past 3: its counter is shared by opens and accepts
    p2p(net, "S", "bind_p2p_stream_port", 9000)
    for _ in range(3):
        p2p(net, "S", "open_p2p_stream_to_hostname", c_host, 9000, 9000)
    net.run(net.t + 200)
    events(net, "S")
    start = len(net.trace)
    p2p(net, "S", "bind_p2p_stream_port", 8080, echo=b"re:")
    p2p(net, "C", "bind_p2p_stream_port", 49152)
    if by == "hostname":
        sid = p2p(net, "C", "open_p2p_stream_to_hostname", s_host, 8080, 49152)["result"]
    else:
        sid = p2p(net, "C", "open_p2p_stream_to_address", s_addr, 8080, 49152)["result"]
    net.run(net.t + 200)
    assert sid == 4  # the three accepts took 1..3 (ours and 4.2.7's alike)
    srv = 4  # the server's: its three opens took 1..3
    assert events(net, "S") == [(meta("Accepted", srv, sid, 0, c_host, c_addr, 8080, 49152),
                                 b"")]
    assert events(net, "C") == [(meta("Connected", sid, srv, 0, s_host, s_addr, 49152, 8080),
                                 b"")]
    for chunk in (b"GET /status", b"MORE"):
        assert p2p(net, "C", "send_p2p_stream", sid, chunk) == {"result": None}
        net.run(net.t + 200)
    assert events(net, "S") == [
        (meta("Data", srv, sid, 1, c_host, c_addr, 8080, 49152), b"GET /status"),
        (meta("Data", srv, sid, 2, c_host, c_addr, 8080, 49152), b"MORE")]
    assert events(net, "C") == [
        (meta("Data", sid, srv, 1, s_host, s_addr, 49152, 8080), b"re:GET /status"),
        (meta("Data", sid, srv, 2, s_host, s_addr, 49152, 8080), b"re:MORE")]
    assert p2p(net, "C", "close_p2p_stream", sid) == {"result": None}
    net.run(net.t + 200)
    # every stream frame went once: each E2E ACK (4.2.7's or ours) matched what ours waits for
    sent = {who: len([f for _, w, _, f in net.trace[start:] if w == who and f[4:6] == "12"])
            for who in ("C", "S")}
    assert sent == {"C": 4, "S": 3}, sent  # SYN, 2 DATA, FIN / SYN|ACK, 2 DATA
    assert events(net, "S") == [(meta("Closed", srv, sid, 3, c_host, c_addr, 8080, 49152), b"")]
    # closed on both ends: BadArg (4.2.7's RuntimeError, our ArgumentError)
    for who, stream in (("C", sid), ("S", srv)):
        for what, args in (("send_p2p_stream", (stream, b"x")), ("close_p2p_stream", (stream,)),
                           ("reset_p2p_stream", (stream,))):
            assert "BadArg" in p2p(net, who, what, *args)["error"]


@pytest.mark.parametrize("server_lab", ["ref", "mp"])
def test_reset_and_unbound_port(net_factory, server_lab):
    net = pair(net_factory, server_lab)
    s_host = "st_server_" + server_lab
    c_host = "st_client_" + net.where["C"]
    s_addr = net.call("C", "resolve_hostname", s_host)["address"]
    c_addr = net.call("S", "resolve_hostname", c_host)["address"]
    p2p(net, "S", "bind_p2p_stream_port", 8080)
    p2p(net, "C", "bind_p2p_stream_port", 7000)
    # an unbound server port still answers SYN|ACK (its id taken)
    sid = p2p(net, "C", "open_p2p_stream_to_hostname", s_host, 8181, 7000)["result"]
    net.run(net.t + 200)
    assert events(net, "C") == [(meta("Connected", 1, 1, 0, s_host, s_addr, 7000, 8181), b"")]
    assert sid == 1 and events(net, "S") == []
    sid = p2p(net, "C", "open_p2p_stream_to_hostname", s_host, 8080, 7000)["result"]
    net.run(net.t + 200)
    p2p(net, "C", "send_p2p_stream", sid, b"d")
    net.run(net.t + 200)
    assert p2p(net, "C", "reset_p2p_stream", sid) == {"result": None}
    net.run(net.t + 200)
    assert events(net, "S") == [
        (meta("Accepted", 2, 2, 0, c_host, c_addr, 8080, 7000), b""),
        (meta("Data", 2, 2, 1, c_host, c_addr, 8080, 7000), b"d"),
        (meta("Reset", 2, 2, 2, c_host, c_addr, 8080, 7000), b"")]
    assert "BadArg" in p2p(net, "C", "send_p2p_stream", sid, b"x")["error"]
    assert "BadArg" in p2p(net, "C", "open_p2p_stream_to_hostname", "nobody", 8080, 1)["error"]
    assert "BadArg" in p2p(net, "C", "open_p2p_stream_to_hostname", s_host, 0, 1)["error"]


def test_a_file_over_a_link_losing_20_percent_arrives_whole_and_in_order():
    with micropython_peer("mp_router_lab.py") as board, \
            micropython_peer("mp_router_lab.py") as ground:
        from netlab import Net
        net = Net(ground, board, SCHEMA, seed=5)  # two of ours ("ref" is a second mp lab)
        sim = Duplex(LinkSim(seed=11, loss=0.2, delay_ms=5), LinkSim(seed=12, loss=0.2,
                                                                     delay_ms=5))
        net.node("mp", "B", 1, hostname="board")
        net.node("ref", "G", 1, hostname="ground")
        net.link("B", 0, "G", 0, sim=sim)
        net.run(1500)
        assert net.call("B", "resolve_hostname", "ground") is not None
        p2p(net, "G", "bind_p2p_stream_port", 6000)
        sid = p2p(net, "B", "open_p2p_stream_to_hostname", "ground", 6000, 6001)["result"]
        data = bytes((i * 7) & 0xFF for i in range(3000))
        chunks = [data[i:i + 100] for i in range(0, len(data), 100)]
        for c in chunks:
            assert p2p(net, "B", "send_p2p_stream", sid, c) == {"result": None}
        p2p(net, "B", "close_p2p_stream", sid)
        got = []
        end = net.t + 30000
        while net.t < end and not (got and got[-1][0]["kind"] == "Closed"):
            net.run(net.t + 500, step=20)
            got += events(net, "G")
        kinds = [m["kind"] for m, _ in got]
        assert kinds == ["Accepted"] + ["Data"] * len(chunks) + ["Closed"], kinds
        assert [m["sequence"] for m, _ in got] == list(range(len(chunks) + 2))
        assert b"".join(p for _, p in got) == data
        assert sim.a_to_b.stats["lost"] > 0 and sim.b_to_a.stats["lost"] > 0


@pytest.mark.parametrize("server_lab", ["ref", "mp"])
def test_over_hop_reliable_sides(net_factory, server_lab):
    # type-18 frames carry "84 00" (unsequenced): hop reliability leaves them alone, both ways
    net = net_factory(seed=3)
    client_lab = "mp" if server_lab == "ref" else "ref"
    net.node(server_lab, "S", 1, hostname="rs_" + server_lab, reliable=True)
    net.node(client_lab, "C", 1, hostname="rc_" + client_lab, reliable=True)
    net.link("C", 0, "S", 0)
    net.run(500)
    p2p(net, "S", "bind_p2p_port", 80)
    p2p(net, "S", "bind_p2p_stream_port", 81)
    start = len(net.trace)
    p2p(net, "C", "send_p2p_to_hostname", "rs_" + server_lab, 80, 1, b"x")
    sid = p2p(net, "C", "open_p2p_stream_to_hostname", "rs_" + server_lab, 81, 1)["result"]
    p2p(net, "C", "send_p2p_stream", sid, b"d")
    p2p(net, "C", "close_p2p_stream", sid)
    net.run(net.t + 1000)
    assert [(m.get("kind", "datagram"), p) for m, p in events(net, "S")] == [
        ("datagram", b"x"), ("Accepted", b""), ("Data", b"d"), ("Closed", b"")]
    p2p_frames = [(who, f[:2]) for _, who, _, f in net.trace[start:] if f[4:6] == "12"]
    assert p2p_frames == [("C", "ce"), ("C", "ce"), ("S", "ce"), ("C", "ce"), ("C", "ce")]
