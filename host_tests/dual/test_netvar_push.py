# Network-variable pushes (lib/sedsnet/netvar_push.py) between our Routers with discovery on
# in-process links: set_network_variable sends one frame with a contract naming every holder
# the announcements list, on the holders' sides only, resends every 200 ms to the sides not
# yet E2E-ACKed (8 times at most); a side that starts listing a type gets the cached value; the
# caches in export_memory_layout_json() and max_queue_budget. 4.2.7's behaviour, as probed:
# verified-4.2.7.md "Network variables" and host_tests/test_netvar_push_interop.py.
import json
import sys

import sedsnet
from sedsnet.ids import sender_hash
from sedsnet.packet import make_packet
from sedsnet.router import Router
from sedsnet.wire import FrameHeader
from support import Clock, raises

SINK = 161
NV = 4300  # static u16 x1 -> SINK
NVS = 4301  # dynamic string -> SINK
NVB = 4302  # static u8 x100 (budget tests)


def setup():
    if sedsnet.data_type_exists(NV):
        return
    sedsnet.register_endpoint(SINK, "NVP_SINK")
    sedsnet.register_data_type(NV, "NVP_U16", True, 1, 3, 0, [SINK])
    sedsnet.register_data_type(NVS, "NVP_STR", False, 1, 13, 0, [SINK])
    for i in range(6):
        sedsnet.register_data_type(NVB + i, "NVP_BIG%d" % i, True, 100, 2, 0, [SINK])


class Net:
    """Routers on one clock; links that keep what crosses them and can be muted."""

    def __init__(self):
        self.clock = Clock()
        self.nodes = {}
        self.wire = []  # (from, to, frame bytes)
        self.times = []  # the clock when each of them was sent
        self.mute = set()  # (from, to) links that lose everything
        self.lose_acks = {}  # (from, to) -> how many E2E ACKs (type 1) that link loses next
        self.ids = {}

    def node(self, name, **kw):
        r = Router(hostname=name, now_ms=self.clock, **kw)
        self.nodes[name] = r
        return r

    def link(self, a, b):
        for x, y in ((a, b), (b, a)):
            self.ids[(x, y)] = self.nodes[x].add_side_packed(y, self._tx(x, y))

    def _tx(self, x, y):
        def tx(f):
            f = bytes(f)
            self.wire.append((x, y, f))
            self.times.append(self.clock.t)
            lose = self.lose_acks.get((x, y), 0)
            if lose and f[2] == 1:
                self.lose_acks[(x, y)] = lose - 1
                return
            if (x, y) not in self.mute:
                r = self.nodes[y]
                rx = r.rx_packed_from_side if r.kind == "relay" else r.receive_packed_from_side
                rx(self.ids[(y, x)], f)
        return tx

    def run(self, ms, step=50):
        end = self.clock.t + ms
        while self.clock.t < end:
            self.clock.t += step
            for r in self.nodes.values():
                r.periodic(0)

    def sent(self, ty, frm=None, since=0):
        out = []
        for x, y, f in self.wire[since:]:
            h = FrameHeader(max_endpoints=8)
            h.parse(f)
            if h.ty == ty and (frm is None or x == frm):
                out.append((x, y, f, h))
        return out


def star(mute_h1=False):
    """P with holders H1, H2 (enabled) and X (a SINK handler, no variable) on three sides."""
    net = Net()
    p = net.node("nvp_prod")
    h1 = net.node("nvp_h1")
    h2 = net.node("nvp_h2")
    got = []
    net.node("nvp_x", handlers=[(SINK, got.append, None)])
    for h in ("nvp_h1", "nvp_h2", "nvp_x"):
        net.link("nvp_prod", h)
    h1.enable_network_variable(NV, True, True)
    h2.enable_network_variable(NV, True, True)
    net.run(1500)
    if mute_h1:
        net.mute.add(("nvp_h1", "nvp_prod"))
    return net, p, h1, h2, got


def contract(ty_shape, names):
    hashes = sorted(sender_hash(n) for n in names)
    c = bytearray([0x03]) + ty_shape + bytes([len(hashes)])
    for v in hashes:
        c += bytes((v >> (8 * i)) & 0xFF for i in range(8))
    return bytes(c)


def test_set_pushes_one_frame_naming_every_holder_to_the_holders_sides():
    setup()
    net, p, h1, h2, got = star()
    seen = []
    h1.on_network_variable_update(NV, seen.append)
    net.run(500)
    n = len(net.wire)
    p.set_network_variable(make_packet(NV, "nvp_prod", [SINK], 2100, b"\xcd\xab"))
    push = net.sent(NV, "nvp_prod", n)
    assert sorted(y for _x, y, _f, _h in push) == ["nvp_h1", "nvp_h2"]  # not X
    f, h = push[0][2], push[0][3]
    assert f[0] == 0x8C and push[1][2] == f
    assert bytes(f[h.contract_start:h.contract_end]) == contract(b"\x43\x01",
                                                                 ["nvp_h1", "nvp_h2"])
    assert bytes(f[h.payload_start:h.payload_end]) == b"\xcd\xab" and h.timestamp_ms == 2100
    assert [s.payload for s in seen] == [b"\xcd\xab"]
    assert h2.cached_network_variable(NV).payload == b"\xcd\xab"
    assert got == []  # an endpoint holder that lists no variable gets nothing (4.2.7)
    acks = [1 for x, y, f2 in net.wire[n:] if y == "nvp_prod" and f2[2] == 1]
    assert len(acks) == 2  # each holder E2E-ACKs
    net.run(2000)
    assert len(net.sent(NV, "nvp_prod", n)) == 2  # ACKed: never resent
    st = p.export_runtime_stats()["network_variables"]
    assert st["pushes_sent"] == 1 and st["push_resends"] == 0 and st["pushes_pending"] == 0


def test_a_holder_that_does_not_ack_gets_8_resends_200_ms_apart():
    setup()
    net, p, _h1, _h2, _got = star(mute_h1=True)
    n = len(net.wire)
    p.set_network_variable(make_packet(NV, "nvp_prod", [SINK], 2100, b"\x01\x00"))
    net.run(3000, step=10)
    first = net.sent(NV, "nvp_prod", n)[0][2]
    to_h1 = []
    to_h2 = 0
    for i in range(n, len(net.wire)):
        x, y, f = net.wire[i]
        if x == "nvp_prod" and f[2:4] == first[2:4]:  # (the type's ULEB)
            assert f == first  # the same bytes every time
            if y == "nvp_h1":
                to_h1.append(net.times[i])
            else:
                to_h2 += 1
    assert to_h2 == 1  # H2 ACKed its copy
    assert len(to_h1) == 9  # 1 + 8 resends, 200 ms apart (4.2.7), then given up
    assert [b - a for a, b in zip(to_h1, to_h1[1:])] == [200] * 8
    st = p.export_runtime_stats()["network_variables"]
    assert st["push_resends"] == 8 and st["pushes_given_up"] == 1 and st["pushes_pending"] == 0


def test_set_with_no_holder_sends_nothing_and_a_string_shape_has_no_count():
    setup()
    net = Net()
    p = net.node("nvp_lone")
    h = net.node("nvp_sh")
    net.link("nvp_lone", "nvp_sh")
    net.run(1000)
    n = len(net.wire)
    p.set_network_variable(make_packet(NV, "nvp_lone", [SINK], 5, b"\x05\x00"))
    assert net.sent(NV, None, n) == []  # nobody lists NV: nothing (4.2.7)
    assert p.cached_network_variable(NV).payload == b"\x05\x00"
    h.enable_network_variable(NVS, True, True)
    net.run(600)
    n = len(net.wire)
    p.set_network_variable(make_packet(NVS, "nvp_lone", [SINK], 6, b"go"))
    f, hdr = net.sent(NVS, "nvp_lone", n)[0][2:]
    assert bytes(f[hdr.contract_start:hdr.contract_end]) == contract(b"\x0d", ["nvp_sh"])
    assert h.cached_network_variable(NVS).payload == b"go"


def test_a_side_that_starts_listing_a_type_gets_the_cached_value_once():
    setup()
    net = Net()
    p = net.node("nvp_src")
    for name in ("nvp_a", "nvp_b"):
        net.node(name)
        net.link("nvp_src", name)
    pkt = make_packet(NV, "nvp_src", [SINK], 10, b"\x0a\x0b")
    p.seed_managed_variable(pkt)  # seeding sends nothing
    net.run(1000)
    assert net.sent(NV) == []
    n = len(net.wire)
    net.nodes["nvp_a"].enable_network_variable(NV, True, True)
    net.run(500)
    replay = net.sent(NV, "nvp_src", n)
    assert [(y, f) for _x, y, f, _h in replay] == [("nvp_a", pkt.pack())]  # as seeded: 88
    assert net.nodes["nvp_a"].cached_network_variable(NV).payload == b"\x0a\x0b"
    net.run(16000)  # later ADDRESS frames list it again: no new replay
    assert len(net.sent(NV, "nvp_src", n)) == 1
    p.enable_network_variable(NV, True, False)  # without can_write: no replay
    n = len(net.wire)
    net.nodes["nvp_b"].enable_network_variable(NV, True, True)
    net.run(500)
    assert net.sent(NV, "nvp_src", n) == []


def test_set_seed_and_get_list_the_type_in_our_address_cached_and_request_do_not():
    setup()
    from sedsnet.announce_codec import A_NETVARS, parse_address
    for call in ("set", "seed", "get", "cached", "request"):
        net = Net()
        r = net.node("nvp_l_" + call)
        net.node("nvp_peer")
        net.link("nvp_l_" + call, "nvp_peer")
        pkt = make_packet(NV, "nvp_l", [SINK], 1, b"\x00\x00")
        if call == "set":
            r.set_network_variable(pkt)
        elif call == "seed":
            r.seed_managed_variable(pkt)
        elif call == "get":
            r.get_network_variable(NV)
        elif call == "cached":
            r.cached_network_variable(NV)
        else:
            r.request_managed_variable(NV)
        net.run(300)
        f, h = net.sent(17, "nvp_l_" + call)[-1][2:]
        lst = parse_address(f[h.payload_start:h.payload_end])[A_NETVARS]
        assert lst == ((NV,) if call in ("set", "seed", "get") else ()), (call, lst)


def test_caches_in_the_memory_layout_and_the_budget_evict_the_oldest():
    setup()
    clock = Clock()
    r = Router(hostname="nvp_mem", now_ms=clock, discovery=False)
    base = json.loads(r.export_memory_layout_json())["shared_queue_bytes_used"]
    pkt = make_packet(NV, "nvp_mem", [SINK], 1, b"\x01\x00")
    r.seed_managed_variable(pkt)
    lay = json.loads(r.export_memory_layout_json())
    assert lay["network_variable_cache_len"] == 1
    assert lay["network_variable_cache_bytes_used"] == len(pkt.pack())
    assert lay["shared_queue_bytes_used"] >= base + len(pkt.pack())  # in max_queue_budget
    # leave 700 bytes of budget: six 100-byte values do not fit; the oldest go first
    r._budget.total = r._budget.used + 700
    for k in range(6):
        clock.t += 1
        r.seed_managed_variable(make_packet(NVB + k, "nvp_mem", [SINK], clock.t, bytes(100)))
        assert r._budget.used <= r._budget.total
    st = r.export_runtime_stats()["network_variables"]
    lay = json.loads(r.export_memory_layout_json())
    assert st["evicted"] >= 2 and lay["network_variable_cache_len"] == st["cached"] < 7
    assert r.cached_network_variable(NV) is None  # the oldest value went first
    assert r.cached_network_variable(NVB + 5).payload == bytes(100)  # the newest stays
    assert lay["network_variable_cache_bytes_used"] == st["cached_bytes"]
    # no room at all: a local seed raises BudgetError, a received value is dropped, counted
    r._budget.total = r._budget.used - st["cached_bytes"] + 50
    raises(sedsnet.BudgetError, r.seed_managed_variable,
           make_packet(NVB, "nvp_mem", [SINK], 1, bytes(100)))
    r.enable_network_variable(NVB + 1, True, True)
    sid = r.add_side_packed("in", lambda f: None)
    r.receive_packed_from_side(sid, make_packet(NVB + 1, "nvp_far", [SINK], 2, bytes(100)).pack())
    assert r.export_runtime_stats()["network_variables"]["dropped"] == 1
    assert r.cached_network_variable(NVB + 1) is None


def _forget_netvar_modules():
    saved = {}
    for name in ("netvar", "netvar_push"):
        full = "sedsnet." + name
        if full in sys.modules:
            saved[full] = sys.modules.pop(full)
    return saved


def test_plain_routers_with_discovery_never_import_the_netvar_modules():
    setup()
    saved = _forget_netvar_modules()
    try:
        net = Net()
        got = []
        a = net.node("nvp_plain_a", handlers=[(SINK, got.append, None)])
        b = net.node("nvp_plain_b")
        net.link("nvp_plain_a", "nvp_plain_b")
        net.run(1500)
        b.log_bytes(NV, b"\x01\x02")
        a.periodic(0)
        a.export_runtime_stats()
        assert len(got) == 1
        assert "sedsnet.netvar" not in sys.modules
        assert "sedsnet.netvar_push" not in sys.modules
    finally:
        for k, v in saved.items():
            sys.modules[k] = v


def _chain(mute=False):
    net = Net()
    for name in ("nvp_up", "nvp_mid", "nvp_down"):
        net.node(name)
    net.link("nvp_up", "nvp_mid")
    net.link("nvp_mid", "nvp_down")
    net.nodes["nvp_down"].enable_network_variable(NV, True, True)
    net.run(1500)
    if mute:
        net.mute.add(("nvp_down", "nvp_mid"))
    return net


def test_a_router_in_the_middle_lists_the_type_and_passes_the_push_on():
    setup()
    from sedsnet.announce_codec import A_NETVARS, parse_address
    net = _chain()
    last = {}
    for x, y, f, h in net.sent(17, "nvp_mid"):
        last[y] = parse_address(f[h.payload_start:h.payload_end])[A_NETVARS]
    assert last == {"nvp_up": (NV,), "nvp_down": ()}  # listed away from the holder only
    n = len(net.wire)
    net.nodes["nvp_up"].set_network_variable(make_packet(NV, "nvp_up", [SINK], 1450, b"\x12\x34"))
    up, down = net.sent(NV, "nvp_up", n), net.sent(NV, "nvp_mid", n)
    assert len(up) == len(down) == 1
    f1, h1 = up[0][2:]
    f2, h2 = down[0][2:]
    assert bytes(f1[h1.contract_start:h1.contract_end]) == contract(b"\x43\x01", ["nvp_mid"])
    assert bytes(f2[h2.contract_start:h2.contract_end]) == contract(b"\x43\x01", ["nvp_down"])
    assert (h2.nonce, h2.timestamp_ms, h2.src_addr) == (h1.nonce, h1.timestamp_ms, h1.src_addr)
    assert net.nodes["nvp_down"].cached_network_variable(NV).payload == b"\x12\x34"
    assert net.nodes["nvp_mid"].cached_network_variable(NV) is None  # passed on, not cached
    acks = [(x, y) for x, y, f in net.wire[n:] if f[2] == 1]
    assert acks == [("nvp_down", "nvp_mid"), ("nvp_mid", "nvp_up")]  # its own, after H's
    net.run(2000)
    later = net.sent(NV, None, n)[2:]  # nobody resends; P lists NV now (it set it), so M
    assert [(x, y) for x, y, _f, _h in later] == [("nvp_down", "nvp_mid")]  # lists it to H,
    assert later[0][2] == f2  # which replays its cached frame as it came (4.2.7 does too)


def test_the_middle_router_acks_upstream_only_once_the_holder_acked():
    setup()
    net = _chain(mute=True)
    n = len(net.wire)
    net.nodes["nvp_up"].set_network_variable(make_packet(NV, "nvp_up", [SINK], 1450, b"\x01\x00"))
    net.run(2500)
    assert len(net.sent(NV, "nvp_mid", n)) == 9 and len(net.sent(NV, "nvp_up", n)) == 9
    assert [(x, y) for x, y, f in net.wire[n:] if f[2] == 1 and x == "nvp_mid"] == []
    st = net.nodes["nvp_mid"].export_runtime_stats()["network_variables"]
    assert st["pushes_given_up"] == 1 and st["push_resends"] == 8
    assert st["holders"] == 2  # H, and P (which lists what it set)


def test_our_relay_sends_a_push_towards_its_holder_only():
    setup()
    from sedsnet.relay import Relay
    net = Net()
    net.node("nvp_r_up")
    net.nodes["nvp_r"] = Relay(hostname="nvp_r", now_ms=net.clock)
    for name in ("nvp_r_down", "nvp_r_other"):
        net.node(name)
    for name in ("nvp_r_up", "nvp_r_down", "nvp_r_other"):
        net.link("nvp_r", name)
    net.nodes["nvp_r_down"].enable_network_variable(NV, True, True)
    net.run(1500)
    n = len(net.wire)
    net.nodes["nvp_r_up"].set_network_variable(make_packet(NV, "nvp_r_up", [SINK], 9, b"\x09\x00"))
    assert [y for _x, y, _f, _h in net.sent(NV, "nvp_r", n)] == ["nvp_r_down"]
    assert net.nodes["nvp_r_down"].cached_network_variable(NV).payload == b"\x09\x00"
    net.run(1000)
    assert len(net.sent(NV, "nvp_r_up", n)) == 1  # ACKed through the Relay


def test_a_holder_acks_a_resent_push_again_when_its_ack_was_lost():
    setup()
    net, p, _h1, _h2, _got = star()
    net.lose_acks[("nvp_h1", "nvp_prod")] = 1  # H1's first ACK is lost
    n = len(net.wire)
    p.set_network_variable(make_packet(NV, "nvp_prod", [SINK], 2100, b"\x02\x00"))
    net.run(2000)
    to_h1 = [1 for _x, y, _f, _h in net.sent(NV, "nvp_prod", n) if y == "nvp_h1"]
    assert len(to_h1) == 2  # one resend, ACKed again (4.2.7 holders answer every copy)
    st = p.export_runtime_stats()["network_variables"]
    assert st["push_resends"] == 1 and st["pushes_pending"] == 0 and st["pushes_given_up"] == 0
