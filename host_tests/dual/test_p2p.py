# P2P datagrams (lib/sedsnet/p2p.py) between our Routers on in-process links, with discovery:
# bind/clear, send by hostname and by address, the meta 4.2.7 gives (verified-4.2.7.md "P2P",
# host_tests/test_p2p_interop.py), the frame's fixed bytes, the E2E ACK, errors, the budget
# charge, and that a plain Router loads no P2P module.
import sys

import sedsnet
from sedsnet.router import Router
from support import Clock, raises

ArgumentError = sedsnet.ArgumentError


SINK = 171
TY = 4171  # dynamic u8 -> SINK (only the plain-Router case logs it)


def setup():
    if not sedsnet.data_type_exists(TY):
        sedsnet.register_endpoint(SINK, "P2P_TEST_SINK")
        sedsnet.register_data_type(TY, "P2P_TEST_U8", False, 1, 2, 0, [SINK])


class Net:
    """Routers joined by links; frames cross when run() ticks the clock."""

    def __init__(self):
        self.clock = Clock()
        self.nodes = []
        self.q = []
        self.wire = []  # (sender hostname, frame) of everything that crossed

    def node(self, name, **kw):
        r = Router(now_ms=self.clock, hostname=name, **kw)
        self.nodes.append(r)
        return r

    def link(self, a, b):
        ids = [0, 0]
        ids[0] = a.add_side_packed("to-" + b.hostname, self._tx(a, b, ids, 1))
        ids[1] = b.add_side_packed("to-" + a.hostname, self._tx(b, a, ids, 0))

    def _tx(self, src, dst, ids, k):
        def tx(frame):
            self.q.append((dst, ids, k, bytes(frame)))
            self.wire.append((src.hostname, bytes(frame)))
        return tx

    def pump(self):
        while self.q:
            dst, ids, k, f = self.q.pop(0)
            dst.receive_packed_from_side(ids[k], f)

    def run(self, ms, step=10):
        end = self.clock.t + ms
        while self.clock.t < end:
            self.clock.t += step
            for r in self.nodes:
                r.periodic(0)
            self.pump()


def pair():
    net = Net()
    a = net.node("p2p_alpha")
    b = net.node("p2p_bravo")
    net.link(a, b)
    net.run(300)
    return net, a, b


def _meta(host, addr, sp, dp):
    return {"source_hostname": host, "source_address": addr, "source_port": sp,
            "destination_port": dp}


def test_datagram_by_hostname_and_by_address():
    net, a, b = pair()
    got = []
    b.bind_p2p_port(80, lambda meta, payload: got.append((meta, payload)))
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_bravo", 80, 49152, b"GET / HTTP/1.1\r\n\r\n")
    net.pump()
    assert got == [(_meta("p2p_alpha", a.current_address, 49152, 80), b"GET / HTTP/1.1\r\n\r\n")]
    assert isinstance(got[0][1], bytes)
    a.send_p2p_to_address(b.current_address, 80, 7, bytearray(b"\x00\xff"))
    net.pump()
    assert got[1] == (_meta("p2p_alpha", a.current_address, 7, 80), b"\x00\xff")
    frames = [f for who, f in net.wire[n:]]
    p2p = [f for f in frames if f[2] == 18]
    assert len(p2p) == 2
    # 4.2.7's fixed bytes: flags ce, one endpoint (201), contract 07 02 01 <sender_hash(dst)>,
    # "84 00", then the v1 payload
    from sedsnet.ids import sender_hash
    h = sender_hash("p2p_bravo")
    contract = b"\x0b\x07\x02\x01" + bytes((h >> (8 * i)) & 0xFF for i in range(8))
    for f in p2p:
        assert f[0] == 0xCE and f[1] == 1
        assert contract + b"\x84\x00\x01" in f
    # each is E2E-ACKed by the holder: type 1, flags 0c, the packet ID as payload
    acks = [f for f in frames if f[2] == 1 and f[0] == 0x0C]
    assert len(acks) == 2


def test_bidirectional_reply_from_the_callback():
    net, a, b = pair()
    got = []

    def serve(meta, payload):
        b.send_p2p_to_hostname(meta["source_hostname"], meta["source_port"], 80,
                               b"re:" + payload)
    b.bind_p2p_port(80, serve)
    a.bind_p2p_port(5000, lambda meta, payload: got.append((meta, payload)))
    a.send_p2p_to_hostname("p2p_bravo", 80, 5000, b"status")
    net.pump()
    assert got == [(_meta("p2p_bravo", b.current_address, 80, 5000), b"re:status")]


def test_unbound_port_is_acked_silently_and_clear_stops_delivery():
    net, a, b = pair()
    got = []
    b.bind_p2p_port(81, lambda meta, payload: got.append(payload))
    b.clear_p2p_port(81)
    b.clear_p2p_port(81)  # clearing an unbound port is no error (4.2.7)
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_bravo", 81, 1, b"x")
    net.pump()
    assert got == []
    assert [f[2] for who, f in net.wire[n:]] == [18, 1]  # still E2E-ACKed
    b.bind_p2p_port(81, lambda meta, payload: got.append(("first", payload)))
    b.bind_p2p_port(81, lambda meta, payload: got.append(("second", payload)))  # replaces
    a.send_p2p_to_hostname("p2p_bravo", 81, 1, b"y")
    net.pump()
    assert got == [("second", b"y")]


def test_to_ourselves_is_delivered_without_a_frame():
    net, a, _b = pair()
    got = []
    a.bind_p2p_port(80, lambda meta, payload: got.append((meta, payload)))
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_alpha", 80, 7, b"self")
    a.send_p2p_to_address(a.current_address, 80, 8, b"self2")
    assert got == [(_meta("p2p_alpha", a.current_address, 7, 80), b"self"),
                   (_meta("p2p_alpha", a.current_address, 8, 80), b"self2")]
    assert net.wire[n:] == []


def test_errors_as_4_2_7():
    _net, a, b = pair()
    raises(ArgumentError, a.send_p2p_to_hostname, "nobody", 80, 1, b"x")
    raises(ArgumentError, a.send_p2p_to_address, 12345, 80, 1, b"x")
    raises(ArgumentError, a.send_p2p_to_hostname, "p2p_bravo", 0, 1, b"x")  # dst port 0
    a.send_p2p_to_hostname("p2p_bravo", 80, 0, b"x")  # src port 0 is fine (4.2.7)
    for bad in (65536, -1, "80", None):
        raises(ArgumentError, a.send_p2p_to_hostname, "p2p_bravo", bad, 1, b"x")
        raises(ArgumentError, a.send_p2p_to_hostname, "p2p_bravo", 80, bad, b"x")
        raises(ArgumentError, b.bind_p2p_port, bad, lambda m, p: None)
    for bad in ("text", [1, 2], None):
        raises(ArgumentError, a.send_p2p_to_hostname, "p2p_bravo", 80, 1, bad)
    raises(ArgumentError, a.send_p2p_to_hostname, 5, 80, 1, b"x")
    for bad in ("x", -1, 1 << 32):
        raises(ArgumentError, a.send_p2p_to_address, bad, 80, 1, b"x")
    raises(ArgumentError, b.bind_p2p_port, 0, lambda m, p: None)
    raises(ArgumentError, b.bind_p2p_port, 80, 5)  # not callable
    raises(ArgumentError, b.clear_p2p_port, -1)
    raises(sedsnet.BudgetError, a.send_p2p_to_hostname, "p2p_bravo", 80, 1,
           bytes(a._budget.total))  # can never fit the node's budget
    raises(AttributeError, getattr, a, "no_such_p2p_call")


def test_a_failing_callback_is_an_io_error_and_no_ack():
    # as 4.2.7: the callback is called once, the receive raises Io("p2p handler error") and
    # the message is not E2E-ACKed (a stream's: "p2p stream handler error", its SYN|ACK sent)
    net, a, b = pair()
    calls = []

    def boom(meta, payload):
        calls.append(meta.get("kind"))
        raise ValueError("boom")
    b.bind_p2p_port(85, boom)
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_bravo", 85, 9, b"x")
    e = raises(sedsnet.IoError, net.pump)
    assert "p2p handler error" in str(e) and calls == [None]
    net.pump()
    assert [f[2] for who, f in net.wire[n:]] == [18]
    b.bind_p2p_stream_port(86, boom)
    n = len(net.wire)
    a.open_p2p_stream_to_hostname("p2p_bravo", 86, 1)
    e = raises(sedsnet.IoError, net.pump)
    assert "p2p stream handler error" in str(e) and calls == [None, "Accepted"]
    net.pump()
    assert [(who, f[2]) for who, f in net.wire[n:]] == [
        ("p2p_alpha", 18), ("p2p_bravo", 18), ("p2p_alpha", 1)]  # SYN, SYN|ACK, its ACK


def test_a_malformed_message_is_a_counted_decode_drop():
    net, a, b = pair()
    got = []
    b.bind_p2p_port(80, lambda meta, payload: got.append(payload))
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_bravo", 80, 1, b"abc")
    frame = next(f for who, f in net.wire[n:] if f[2] == 18)
    net.q.clear()
    # the payload's version byte (after "84 00") set to 2, CRC recomputed
    i = frame.index(b"\x84\x00\x01") + 2
    bad = bytearray(frame[:-4])
    bad[i] = 2
    from sedsnet.wire import crc32_write
    bad += bytes(4)
    crc32_write(bad, 0, len(bad) - 4)
    before = b.export_runtime_stats()["sides"][0]["drops"]["decode"]
    raises(sedsnet.DecodeError, b.receive_packed_from_side, 0, bytes(bad))
    assert b.export_runtime_stats()["sides"][0]["drops"]["decode"] == before + 1
    assert got == []


def test_ports_are_charged_to_the_budget_and_bounded():
    net, _a, b = pair()
    used = b._budget.used
    b.bind_p2p_port(1000, lambda m, p: None)
    from sedsnet.p2p import MAX_PORTS, PORT_BYTES
    assert b._budget.used == used + PORT_BYTES
    b.bind_p2p_port(1000, lambda m, p: None)  # rebinding charges nothing more
    assert b._budget.used == used + PORT_BYTES
    b.clear_p2p_port(1000)
    assert b._budget.used == used
    for p in range(1, MAX_PORTS + 1):
        b.bind_p2p_port(p, lambda m, p: None)
    raises(ArgumentError, b.bind_p2p_port, MAX_PORTS + 1, lambda m, p: None)
    small = Router(now_ms=net.clock, hostname="p2p_small", max_queue_budget=8192,
                   starting_queue_size=256)
    small._budget.used = small._budget.total - PORT_BYTES + 1
    raises(sedsnet.BudgetError, small.bind_p2p_port, 80, lambda m, p: None)


def test_a_plain_router_loads_no_p2p_module():
    for m in ("sedsnet.p2p", "sedsnet.p2p_codec", "sedsnet.p2p_stream"):
        sys.modules.pop(m, None)
    net = Net()
    a = net.node("p2p_plain_a")
    b = net.node("p2p_plain_b")
    net.link(a, b)
    setup()
    b.add_side_packed("sink", lambda f: None)
    a.log_bytes(TY, b"\x01")
    net.run(300)
    for m in ("sedsnet.p2p", "sedsnet.p2p_codec", "sedsnet.p2p_stream"):
        assert m not in sys.modules, m
    a.bind_p2p_port(80, lambda m, p: None)
    assert "sedsnet.p2p" in sys.modules


def test_through_our_router_and_relay():
    from sedsnet.relay import Relay
    for mid in ("router", "relay"):
        net = Net()
        a = net.node("p2p_hop_a")
        b = net.node("p2p_hop_b")
        if mid == "router":
            m = net.node("p2p_hop_m")
        else:
            m = Relay(now_ms=net.clock, hostname="p2p_hop_r")
            m.receive_packed_from_side = m.rx_packed_from_side  # (Net's name for it)
            net.nodes.append(m)
        net.link(a, m)
        net.link(m, b)
        net.run(1000)
        got = []
        b.bind_p2p_port(80, lambda meta, p: got.append((meta["source_hostname"], p)))
        b.bind_p2p_stream_port(81, lambda meta, p: got.append((meta["kind"], meta["sequence"])))
        n = len(net.wire)
        a.send_p2p_to_hostname("p2p_hop_b", 80, 1, b"hop")
        net.pump()
        s = a.open_p2p_stream_to_hostname("p2p_hop_b", 81, 1)
        a.send_p2p_stream(s, b"x")
        a.close_p2p_stream(s)
        net.run(500)
        assert got == [("p2p_hop_a", b"hop"), ("Accepted", 0), ("Data", 1), ("Closed", 2)], mid
        assert a._svc.streams.streams == {}  # every frame ACKed end to end, through m
        # the datagram, SYN, DATA and FIN, each once: nothing resent
        assert len([f for who, f in net.wire[n:] if who == "p2p_hop_a" and f[2] == 18]) == 4
