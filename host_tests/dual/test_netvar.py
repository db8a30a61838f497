# Network variables (lib/sedsnet/netvar.py) between our Routers on in-process links: the
# cache, permissions, MANAGED_VARIABLE_REQUEST (13) sent by get/request and answered from the
# cache, the update callback, budget-charged entries; 4.2.7's behaviour from
# verified-4.2.7.md "Network variables" and host_tests/test_netvar_interop.py.
import sedsnet
from sedsnet.packet import make_packet
from sedsnet.router import Router
from support import Clock, raises

SINK = 160
NV = 4200  # static u16 x1 -> SINK


def setup():
    if sedsnet.data_type_exists(NV):
        return
    sedsnet.register_endpoint(SINK, "NV_SINK")
    sedsnet.register_data_type(NV, "NV_U16", True, 1, 3, 0, [SINK])


def pair():
    """Producer P and consumer C joined by a link that keeps what crosses it."""
    clock = Clock()
    p = Router(hostname="prod", now_ms=clock, discovery=False)
    c = Router(hostname="cons", now_ms=clock, discovery=False)
    wire = []
    ids = [0, 0]

    def to_c(f):
        wire.append(("p", bytes(f)))
        c.receive_packed_from_side(ids[1], bytes(f))

    def to_p(f):
        wire.append(("c", bytes(f)))
        p.receive_packed_from_side(ids[0], bytes(f))
    ids[0] = p.add_side_packed("to-c", to_c)
    ids[1] = c.add_side_packed("to-p", to_p)
    return p, c, wire, clock


def test_refresh_fills_the_cache_and_fires_the_callback_once():
    setup()
    p, c, wire, clock = pair()
    p.enable_network_variable(NV, True, True)
    seen = []
    c.on_network_variable_update(NV, seen.append)
    p.seed_managed_variable(make_packet(NV, "prod", [SINK], 900, b"\x34\x12"))
    assert wire == []  # seeding sends nothing
    assert c.get_network_variable(NV) is None  # never seen: None, and a refresh asked for
    req = [f for who, f in wire if who == "c"]
    assert len(req) == 1 and req[0][:4] == bytes([0x4A, 1, 13, 4])  # flags, NEP, ty, size
    assert req[0][-10:-4] == b"\x84\x00" + bytes([NV & 0xFF, NV >> 8, 0, 0])
    assert len(seen) == 1 and seen[0].payload == b"\x34\x12" and seen[0].timestamp_ms == 900
    got = c.cached_network_variable(NV)
    assert got.data_as_u16() == [0x1234] and got.sender == "prod"
    # a fresh get answers from the cache without asking
    n = len(wire)
    assert c.get_network_variable(NV, 500).payload == b"\x34\x12"
    assert len(wire) == n
    clock.t += 600  # stale: the cached value, and a refresh; the same value fires nothing
    assert c.get_network_variable(NV, 500).payload == b"\x34\x12"
    assert len(wire) > n and len(seen) == 1


def test_set_sends_and_caches_without_a_callback_on_the_setter():
    setup()
    p, c, _wire, _clock = pair()
    mine = []
    p.on_network_variable_update(NV, mine.append)
    theirs = []
    c.on_network_variable_update(NV, theirs.append)
    p.set_network_variable(make_packet(NV, "prod", [SINK], 1200, b"\x01\x00"))
    assert mine == [] and p.cached_network_variable(NV).payload == b"\x01\x00"
    assert [t.payload for t in theirs] == [b"\x01\x00"]  # ordinary data fills the cache
    p.set_network_variable(make_packet(NV, "prod", [SINK], 1300, b"\x02\x00"))
    assert [t.payload for t in theirs] == [b"\x01\x00", b"\x02\x00"]
    assert c.cached_network_variable(NV).payload == b"\x02\x00"


def test_permissions_raise_permission_denied():
    setup()
    p, c, wire, _clock = pair()
    c.enable_network_variable(NV, False, False)
    pkt = make_packet(NV, "cons", [SINK], 5, b"\x00\x00")
    for call, args in ((c.get_network_variable, (NV,)), (c.cached_network_variable, (NV,)),
                       (c.set_network_variable, (pkt,)), (c.seed_managed_variable, (pkt,))):
        e = raises(sedsnet.PermissionDenied, call, *args)
        assert "PermissionDenied" in str(e)
    assert wire == []
    # a type never enabled is read+write (4.2.7)
    assert p.get_network_variable(NV + 1) is None
    # a holder without write permission does not answer refreshes
    p.enable_network_variable(NV, True, True)
    p.seed_managed_variable(make_packet(NV, "prod", [SINK], 7, b"\x07\x00"))
    p.enable_network_variable(NV, True, False)
    c.enable_network_variable(NV, True, True)
    assert c.get_network_variable(NV) is None and c.cached_network_variable(NV) is None


def test_bad_arguments_and_the_bound():
    setup()
    r = Router(hostname="nvb", now_ms=lambda: 1, discovery=False)
    raises(sedsnet.ArgumentError, r.enable_network_variable, -1, True, True)
    raises(sedsnet.ArgumentError, r.enable_network_variable, NV, "yes", True)
    raises(sedsnet.ArgumentError, r.on_network_variable_update, NV, 5)
    raises(sedsnet.ArgumentError, r.set_network_variable, b"not a packet")
    raises(sedsnet.ArgumentError, r.get_network_variable, NV, -5)
    from sedsnet.netvar import MAX_VARS
    for i in range(MAX_VARS):
        r.enable_network_variable(5000 + i, True, True)
    e = raises(sedsnet.SedsError, r.enable_network_variable, 6000, True, True)
    assert "network variable" in str(e)


def test_request_is_flooded_on_by_a_router_in_the_middle():
    setup()
    clock = Clock()
    p = Router(hostname="prod", now_ms=clock, discovery=False)
    m = Router(hostname="mid", now_ms=clock, discovery=False)
    c = Router(hostname="cons", now_ms=clock, discovery=False)
    side = {}

    def link(a, b, name):
        side[(a, b)] = a.add_side_packed(name, lambda f: b.receive_packed_from_side(side[(b, a)],
                                                                                  bytes(f)))
    link(p, m, "pm")
    link(m, p, "mp")
    link(m, c, "mc")
    link(c, m, "cm")
    p.seed_managed_variable(make_packet(NV, "prod", [SINK], 42, b"\x2a\x00"))
    m.enable_network_variable(NV, True, True)
    assert c.get_network_variable(NV) is None
    assert c.cached_network_variable(NV).payload == b"\x2a\x00"
    assert m.cached_network_variable(NV).payload == b"\x2a\x00"  # passing through, cached


def test_require_on_variable_is_answered_sealed_never_in_clear():
    setup()
    if not sedsnet.data_type_exists(NV + 10):
        sedsnet.register_data_type(NV + 10, "NV_SECRET", True, 1, 3, 0, [SINK], e2e_encryption=2)
    sedsnet.register_e2e_key(7, bytes(range(32)))
    try:
        clock = Clock()
        p = Router(hostname="prod", now_ms=clock, discovery=False, e2e_mode=1, e2e_key_id=7)
        c = Router(hostname="cons", now_ms=clock, discovery=False, e2e_mode=1, e2e_key_id=7)
        wire = []
        ids = [0, 0]

        def to_c(f):
            wire.append(bytes(f))
            c.receive_packed_from_side(ids[1], bytes(f))
        ids[0] = p.add_side_packed("to-c", to_c)
        ids[1] = c.add_side_packed("to-p", lambda f: p.receive_packed_from_side(ids[0], bytes(f)))
        p.seed_managed_variable(make_packet(NV + 10, "prod", [SINK], 5, b"\x99\x00"))
        seen = []
        c.on_network_variable_update(NV + 10, seen.append)
        assert c.get_network_variable(NV + 10) is None
        assert len(wire) == 1 and wire[0][0] & 0x10  # the reply went out sealed
        assert [s.payload for s in seen] == [b"\x99\x00"]
        sedsnet.remove_e2e_key(7)  # without the key a RequireOn value is never sent
        n = len(wire)
        assert c.get_network_variable(NV + 10, 0).payload == b"\x99\x00"  # asks; no answer
        assert len(wire) == n
        raises(sedsnet.E2EError, p.set_network_variable,
               make_packet(NV + 10, "prod", [SINK], 6, b"\x98\x00"))
        assert len(wire) == n  # refused: nothing sent
    finally:
        sedsnet.remove_e2e_key(7)
