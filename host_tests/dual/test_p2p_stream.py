# P2P streams (lib/sedsnet/p2p_stream.py) between our Routers on in-process links: the
# SDSP sequence 4.2.7 sends (verified-4.2.7.md "P2P", host_tests/test_p2p_stream_interop.py),
# callbacks and their meta, stream ids shared by opens and accepts, errors, stop-and-wait
# resends over a lossy link (every byte, in order, once), giving up, and the bound on streams
# charged to max_queue_budget.
import sedsnet
from sedsnet import p2p_codec as pc
from support import raises
from test_p2p import pair

ArgumentError = sedsnet.ArgumentError


def _sdsp(frames):
    """(flags, src, dst, seq, data) of the stream sub-frames among frames."""
    out = []
    for who, f in frames:
        if f[2] != 18:
            continue
        i = bytes(f).find(b"SDSP")
        fl, ss, ds, seq, d0, d1 = pc.decode_stream(f, i, len(f) - 4)
        out.append((who, fl, ss, ds, seq, bytes(f[d0:d1])))
    return out


def _rec(ev, who):
    return lambda m, p: ev.append((who, m["kind"], m["stream_id"], m["peer_stream_id"],
                                   m["sequence"], p))


def test_open_data_reply_close_as_4_2_7():
    net, a, b = pair()
    ev = []
    b.bind_p2p_stream_port(8080, _rec(ev, "b"))
    a.bind_p2p_stream_port(49152, _rec(ev, "a"))
    n = len(net.wire)
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 8080, 49152)
    assert s == 1
    a.send_p2p_stream(s, b"GET")  # before SYN|ACK: waits for it
    net.run(50)
    b.send_p2p_stream(1, b"REPLY")
    net.run(50)
    a.close_p2p_stream(s)
    net.run(50)
    assert ev == [("b", "Accepted", 1, 1, 0, b""), ("a", "Connected", 1, 1, 0, b""),
                  ("b", "Data", 1, 1, 1, b"GET"), ("a", "Data", 1, 1, 1, b"REPLY"),
                  ("b", "Closed", 1, 1, 2, b"")]
    assert _sdsp(net.wire[n:]) == [
        ("p2p_alpha", pc.SYN, 1, 0, 0, b""), ("p2p_bravo", pc.SYN | pc.ACK, 1, 1, 0, b""),
        ("p2p_alpha", pc.DATA, 1, 1, 1, b"GET"), ("p2p_bravo", pc.DATA, 1, 1, 1, b"REPLY"),
        ("p2p_alpha", pc.FIN, 1, 1, 2, b"")]
    # each stream frame is E2E-ACKed once; nothing is resent
    assert len([f for who, f in net.wire[n:] if f[2] == 1 and f[0] == 0x0C]) == 5
    assert a._svc.streams.streams == {} and b._svc.streams.streams == {}
    for r, sid in ((a, s), (b, 1)):
        for call, args in ((r.send_p2p_stream, (sid, b"x")), (r.close_p2p_stream, (sid,)),
                           (r.reset_p2p_stream, (sid,))):
            assert "BadArg" in str(raises(ArgumentError, call, *args))


def test_ids_are_shared_by_opens_and_accepts_and_the_address_form():
    net, a, b = pair()
    ev = []
    b.bind_p2p_stream_port(7000, _rec(ev, "b"))
    a.bind_p2p_stream_port(7000, _rec(ev, "a"))
    for _ in range(3):
        b.open_p2p_stream_to_hostname("p2p_alpha", 7000, 7000)  # b: 1..3, a accepts 1..3
    net.run(50)
    del ev[:]
    s = a.open_p2p_stream_to_address(b.current_address, 7000, 7000)
    net.run(50)
    assert s == 4
    assert ev == [("b", "Accepted", 4, 4, 0, b""), ("a", "Connected", 4, 4, 0, b"")]
    meta = []
    b.bind_p2p_stream_port(7000, lambda m, p: meta.append(m))
    a.send_p2p_stream(s, b"z")
    net.run(50)
    assert meta == [{"kind": "Data", "stream_id": 4, "peer_stream_id": 4, "sequence": 1,
                     "peer_hostname": "p2p_alpha", "peer_address": a.current_address,
                     "local_port": 7000, "peer_port": 7000}]


def test_unbound_port_reset_and_to_ourselves():
    net, a, b = pair()
    ev = []
    a.bind_p2p_stream_port(5000, _rec(ev, "a"))
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 5001, 5000)  # nobody bound 5001
    net.run(50)
    assert ev == [("a", "Connected", 1, 1, 0, b"")]  # SYN|ACK all the same (4.2.7)
    b.bind_p2p_stream_port(5001, _rec(ev, "b"))
    a.send_p2p_stream(s, b"d")
    a.reset_p2p_stream(s)
    net.run(50)
    assert ev[1:] == [("b", "Data", 1, 1, 1, b"d"), ("b", "Reset", 1, 1, 2, b"")]
    del ev[:]
    a.bind_p2p_stream_port(6000, _rec(ev, "srv"))
    n = len(net.wire)
    s = a.open_p2p_stream_to_hostname("p2p_alpha", 6000, 5000)
    a.send_p2p_stream(s, b"x")
    a.close_p2p_stream(s)
    assert ev == [("a", "Connected", 2, 3, 0, b""), ("srv", "Accepted", 3, 2, 0, b""),
                  ("srv", "Data", 3, 2, 1, b"x"), ("srv", "Closed", 3, 2, 2, b"")]  # as 4.2.7
    assert net.wire[n:] == [] and a._svc.streams.streams == {}


def test_errors():
    net, a, b = pair()
    raises(ArgumentError, a.open_p2p_stream_to_hostname, "nobody", 80, 1)
    raises(ArgumentError, a.open_p2p_stream_to_address, 12345, 80, 1)
    raises(ArgumentError, a.open_p2p_stream_to_hostname, "p2p_bravo", 0, 1)
    raises(ArgumentError, a.open_p2p_stream_to_hostname, 5, 80, 1)
    for bad in (65536, -1, None):
        raises(ArgumentError, a.open_p2p_stream_to_hostname, "p2p_bravo", 80, bad)
        raises(ArgumentError, a.bind_p2p_stream_port, bad, lambda m, p: None)
    raises(ArgumentError, a.send_p2p_stream, 99, b"x")
    raises(ArgumentError, a.send_p2p_stream, "1", b"x")
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 80, 1)
    raises(ArgumentError, a.send_p2p_stream, s, "text")
    raises(AttributeError, getattr, a, "no_such_p2p_stream_call")
    # a malformed sub-frame (a datagram starting with "SDSP", length 9 for no data) is a
    # counted decode drop at the receiver
    net.run(50)
    bad = bytearray(pc.stream_size(0))
    pc.encode_stream(bad, 0, pc.DATA, 1, 1, 1)
    bad[18] = 9
    before = b.export_runtime_stats()["sides"][0]["drops"]["decode"]
    a.send_p2p_to_hostname("p2p_bravo", 80, 1, bad)
    raises(sedsnet.DecodeError, net.pump)
    assert b.export_runtime_stats()["sides"][0]["drops"]["decode"] == before + 1


class Drop:
    """Drops every k-th frame crossing the link (deterministic on every runtime)."""

    def __init__(self, net, k):
        self.n = 0
        self.lost = 0
        net.pump = lambda: self.pump(net)
        self.k = k

    def pump(self, net):
        while net.q:
            dst, ids, k, f = net.q.pop(0)
            self.n += 1
            if self.n % self.k == 0:
                self.lost += 1
                continue
            dst.receive_packed_from_side(ids[k], f)


def test_a_lossy_link_loses_no_byte_and_keeps_the_order():
    net, a, b = pair()
    drop = Drop(net, 5)  # 20% of the frames, both ways
    got = []
    b.bind_p2p_stream_port(6000, lambda m, p: got.append((m["kind"], m["sequence"], p)))
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 6001)
    data = bytes((i * 7) & 0xFF for i in range(1200))
    chunks = [data[i:i + 60] for i in range(0, len(data), 60)]
    for c in chunks:
        a.send_p2p_stream(s, c)
    a.close_p2p_stream(s)
    for _ in range(100):  # (20 s at most)
        net.run(200, step=20)
        if got and got[-1][0] == "Closed":
            break
    assert drop.lost > 10
    assert [k for k, q, p in got] == ["Accepted"] + ["Data"] * len(chunks) + ["Closed"]
    assert [q for k, q, p in got] == list(range(len(chunks) + 2))
    assert b"".join(p for k, q, p in got) == data
    assert a._svc.streams.streams == {} and b._svc.streams.streams == {}


def test_a_dead_link_gives_up_after_the_retries():
    net, a, b = pair()
    b.bind_p2p_stream_port(6000, lambda m, p: None)
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 6001)
    net.run(50)
    net.pump = net.q.clear  # the link dies
    n = len(net.wire)
    a.send_p2p_stream(s, b"lost")
    net.run(3000)
    sent = [f for who, f in net.wire[n:] if who == "p2p_alpha" and f[2] == 18]
    assert len(sent) == 9  # the frame and 8 resends, 200 ms apart (4.2.7's reliable defaults)
    assert len(set(sent)) == 1  # the same bytes each time
    st = a._svc.streams
    assert st.given_up == 1 and st.streams[s][10] is None


def test_streams_are_bounded_and_charged_to_the_budget():
    net, a, b = pair()
    from sedsnet.p2p_stream import MAX_STREAMS, STREAM_BYTES
    b.bind_p2p_stream_port(6000, lambda m, p: None)
    used = a._budget.used
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 1)
    assert a._budget.used > used + STREAM_BYTES  # the stream and its SYN in flight
    net.run(50)
    assert a._budget.used == used + STREAM_BYTES  # SYN acknowledged
    a.close_p2p_stream(s)
    net.run(50)
    assert a._budget.used == used
    for _ in range(MAX_STREAMS):
        a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 1)
    raises(sedsnet.BudgetError, a.open_p2p_stream_to_hostname, "p2p_bravo", 6000, 1)
    net.run(50)
    assert len(b._svc.streams.streams) == MAX_STREAMS  # b accepted them all: b is full too
    # one more SYN, from a third router, is refused and counted
    c = net.node("p2p_charlie")
    net.link(c, b)
    net.run(300)
    c.open_p2p_stream_to_hostname("p2p_bravo", 6000, 1)
    net.run(50)
    assert b._svc.streams.refused == 1 and len(b._svc.streams.streams) == MAX_STREAMS
    small = sedsnet.Router(now_ms=net.clock, hostname="p2p_small", max_queue_budget=8192,
                           starting_queue_size=256)
    small.bind_p2p_stream_port(1, lambda m, p: None)
    small._budget.used = small._budget.total - STREAM_BYTES + 1
    raises(sedsnet.BudgetError, small.open_p2p_stream_to_hostname, "p2p_small", 1, 2)


def test_every_single_byte_change_of_p2p_frames_is_taken_or_a_seds_error():
    net, a, b = pair()
    b.bind_p2p_port(80, lambda m, p: None)
    b.bind_p2p_stream_port(81, lambda m, p: None)
    n = len(net.wire)
    a.send_p2p_to_hostname("p2p_bravo", 80, 1, b"abc")
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 81, 1)
    net.run(50)
    a.send_p2p_stream(s, b"data")
    net.run(50)
    frames = [f for who, f in net.wire[n:] if who == "p2p_alpha" and f[2] == 18]
    assert len(frames) == 3
    from sedsnet.wire import crc32_write
    taken = refused = 0
    for f in frames:
        for i in range(len(f) - 4):
            for v in (0, 0x7F, 0xFF):
                bad = bytearray(f)
                if bad[i] == v:
                    continue
                bad[i] = v
                crc32_write(bad, 0, len(bad) - 4)
                try:
                    b.receive_packed_from_side(0, bytes(bad))
                    taken += 1
                except sedsnet.SedsError:
                    refused += 1
    assert taken and refused
    assert len(b._svc.streams.streams) <= 8


def test_a_frame_without_a_way_out_is_kept_and_sent_later():
    net, a, b = pair()
    got = []
    b.bind_p2p_stream_port(6000, lambda m, p: got.append((m["kind"], m["sequence"], p)))
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 6001)
    net.run(50)
    a.set_side_egress_enabled(0, False)
    n = len(net.wire)
    a.send_p2p_stream(s, b"later")  # no way out: it waits in the queue
    assert net.wire[n:] == []
    a.set_side_egress_enabled(0, True)
    net.run(50)  # the next periodic() sends it, numbered as if nothing happened
    a.send_p2p_stream(s, b"next")
    net.run(50)
    assert got == [("Accepted", 0, b""), ("Data", 1, b"later"), ("Data", 2, b"next")]


def test_a_lost_ack_is_answered_again_for_the_resent_copy():
    net, a, b = pair()
    got = []
    b.bind_p2p_stream_port(6000, lambda m, p: got.append((m["kind"], p)))
    s = a.open_p2p_stream_to_hostname("p2p_bravo", 6000, 6001)
    net.run(50)
    dropped = []

    def pump():  # b's first E2E ACK (type 1, flags 0c) is lost
        while net.q:
            dst, ids, k, f = net.q.pop(0)
            if dst is a and f[2] == 1 and f[0] == 0x0C and not dropped:
                dropped.append(f)
                continue
            dst.receive_packed_from_side(ids[k], f)
    net.pump = pump
    n = len(net.wire)
    a.send_p2p_stream(s, b"once")
    net.run(1000)
    sent = [f for who, f in net.wire[n:] if who == "p2p_alpha" and f[2] == 18]
    assert dropped and len(sent) == 2 and sent[0] == sent[1]  # one resend, then ACKed
    assert got == [("Accepted", b""), ("Data", b"once")]  # delivered once
    assert a._svc.streams.given_up == 0
