"""Live network-variable pushes between our Router (MicroPython) and reference 4.2.7 nodes
(each in its own process, one fake clock; netlab.py), as probed from 4.2.7:
- set_network_variable with holders announced: ONE frame (flags 8c) whose contract names every
  holder (cflags 03, the type's shape, target hashes ascending), sent on the holders' sides
  only (a node holding the type's endpoint but listing no variable gets nothing), E2E-ACKed by
  each holder, resent every 200 ms to the sides not ACKed, 8 times, then dropped silently.
  Ours sends the same contract on the same sides on the same schedule.
- a holder of a cached value (with can_write) replays it on a side whose announcers start
  listing the type: the cached frame as it is (a seeded value: the Packet's own frame, 88).
- the seed's RequireOn FLIGHT_STATE variable (e2e_mode=1, key id 7) pushed each way: sealed,
  opened by the holder, its callback fires once.
- a Router in the middle lists towards each side the types the holders on its other sides
  list, so the producer's push names it; it passes the push on (the same frame, a contract
  naming those holders, resent as above) and E2E-ACKs upstream only once they all ACKed. It
  caches only what it enabled itself: a 4.2.7 Router passing a push on keeps
  network_variable_cache_len 0 (and a 4.2.7 Relay, which floods ADDRESS, has no cache). Ours
  does the same, frame for frame."""
import pytest

from netlab import network, nv
from peerproc import reference_peer
from sedsnet.wire import FrameHeader

SINK = 0x1301
NV = 0x2301  # static u16 x1
RADIO = 101
FLIGHT_STATE = 3100  # the seed's: static Float64 x1, RequireOn
SCHEMA = [["register_endpoint", SINK, "NVP_SINK"],
          ["register_data_type", NV, "NVP_U16", True, 1, 3, 0, [SINK]],
          ["register_endpoint", RADIO, "RADIO"],
          ["register_data_type", FLIGHT_STATE, "FLIGHT_STATE", True, 1, 0, 0, [RADIO], 0, 90, "",
           2]]  # (reliable 0, priority 90, no description, e2e_encryption 2: RequireOn)
KEY = bytes(range(32)).hex()


@pytest.fixture(scope="module")
def net_factory():
    with network(SCHEMA) as net, reference_peer("ref_router_lab.py") as r1, \
            reference_peer("ref_router_lab.py") as r2:
        net.add_lab("ref1", r1)  # one reference node per process: every frame is traced
        net.add_lab("ref2", r2)
        yield net.reset


def frames(net, since, ty, who=None):
    out = []
    for t, w, side, f in net.trace[since:]:
        b = bytes.fromhex(f)
        h = FrameHeader(max_endpoints=8)
        h.parse(b)
        if h.ty == ty and (who is None or w == who):
            out.append((t, w, side, b, h))
    return out


@pytest.mark.parametrize("mute", [False, True])
def test_our_push_matches_the_references_contract_sides_and_resends(net_factory, mute):
    seen = {}
    for plab, xlab in (("ref", "mp"), ("mp", "ref")):
        net = net_factory()
        net.node(plab, "P", 3, hostname="nvp_prod")
        net.node("ref1", "H1", 1, hostname="nvp_h1")
        net.node("ref2", "H2", 1, hostname="nvp_h2")
        net.node(xlab, "X", 1, hostname="nvp_x", handlers=[SINK])  # an endpoint holder only
        for i, h in enumerate(("H1", "H2", "X")):
            net.link("P", i, h, 0)
        nv(net, "H1", "enable", ty=NV, read=True, write=True)
        nv(net, "H2", "enable", ty=NV, read=True, write=True)
        nv(net, "H1", "on_update", ty=NV)
        net.run(1500)
        if mute:
            del net.cross[("H1", 0)]  # H1's ACKs (and all else it sends) are lost
        n = len(net.trace)
        t0 = net.t
        nv(net, "P", "set", ty=NV, sender="nvp_prod", endpoints=[SINK], ts=1400,
           payload="cdab")
        net.run(net.t + 1900)
        push = frames(net, n, NV, "P")
        contract = {bytes(b[h.contract_start:h.contract_end]) for _t, _w, _s, b, h in push}
        assert len(contract) == 1 and all(b[0] == 0x8C for _t, _w, _s, b, _h in push)
        seen[plab] = (contract.pop(), [(t - t0, s) for t, _w, s, _b, _h in push])
        assert nv(net, "H1", "updates")["result"] == [[NV, 1400, "cdab"]]
        assert nv(net, "H2", "cached", ty=NV) == {"result": [1400, "cdab"]}
        assert net.got("X") == []
    assert seen["mp"] == seen["ref"], seen
    schedule = seen["ref"][1]
    assert sorted(s for _t, s in schedule[:2]) == [0, 1]  # the two holders' sides
    assert len(schedule) == (10 if mute else 2)  # muted: 8 resends to H1's side only
    if mute:
        assert [s for _t, s in schedule[2:]] == [0] * 8
        times = [t for t, _s in schedule[1:]]
        assert [b - a for a, b in zip(times, times[1:])] == [200] * 8


@pytest.mark.parametrize("holder_lab", ["ref1", "mp"])
def test_a_side_that_starts_listing_the_type_gets_the_cached_frame(net_factory, holder_lab):
    net = net_factory()
    plab = "mp" if holder_lab == "ref1" else "ref"
    net.node(plab, "P", 1, hostname="nvp_src")
    net.node(holder_lab, "H", 1, hostname="nvp_late")
    net.link("P", 0, "H", 0)
    seeded = nv(net, "P", "seed", ty=NV, sender="nvp_src", endpoints=[SINK], ts=10,
                payload="0a0b", packed=True)["packed"]
    net.run(1500)
    assert frames(net, 0, NV) == []  # seeding sends nothing, a plain neighbour asks nothing
    n = len(net.trace)
    nv(net, "H", "on_update", ty=NV)
    net.run(net.t + 1000)
    replay = frames(net, n, NV, "P")
    assert [b.hex() for _t, _w, _s, b, _h in replay] == [seeded]  # once, as seeded (88)
    assert nv(net, "H", "updates")["result"] == [[NV, 10, "0a0b"]]
    net.run(net.t + 16000)  # its later ADDRESS frames list the type again: no new replay
    assert len(frames(net, n, NV, "P")) == 1


@pytest.mark.parametrize("producer_lab", ["ref", "mp"])
def test_the_seeds_require_on_variable_is_pushed_sealed_each_way(net_factory, producer_lab):
    net = net_factory()
    holder_lab = "mp" if producer_lab == "ref" else "ref"
    for lab in ("ref", "mp"):
        assert net.labs[lab].call("e2e_key", key_id=7, key=KEY)["rc"] == 0
    kw = {"e2e_mode": 1, "e2e_key_id": 7}  # the seed's RequiredOnly router
    net.node(producer_lab, "P", 1, hostname="nvp_fc", kw=kw)
    net.node(holder_lab, "G", 1, hostname="nvp_ground", kw=kw)
    net.link("P", 0, "G", 0)
    for who in ("P", "G"):
        nv(net, who, "enable", ty=FLIGHT_STATE, read=True, write=True)
    nv(net, "G", "on_update", ty=FLIGHT_STATE)
    net.run(1500)
    n = len(net.trace)
    nv(net, "P", "set", ty=FLIGHT_STATE, sender="nvp_fc", endpoints=[RADIO], ts=1450,
       payload="000000000000f03f")
    net.run(net.t + 1500)
    push = frames(net, n, FLIGHT_STATE, "P")
    assert push and push[0][3][0] & 0x14 == 0x14  # sealed (0x10), with a contract (0x04)
    assert len(push) == 1  # ACKed: no resends
    assert nv(net, "G", "updates")["result"] == [[FLIGHT_STATE, 1450, "000000000000f03f"]]
    assert nv(net, "G", "get", ty=FLIGHT_STATE, stale=1000) == \
        {"result": [1450, "000000000000f03f"]}


@pytest.mark.parametrize("mute", [False, True])
def test_a_router_in_the_middle_lists_takes_and_passes_on_pushes_as_4_2_7(net_factory, mute):
    # P - M - H: M (a Router that enabled nothing) lists H's variable towards P, so P's push
    # names M; M passes it on to H (the same frame, a contract naming H) and E2E-ACKs P only
    # once H has ACKed (muted: both resend 8 times and M never ACKs)
    seen = {}
    for lab in ("ref1", "mp"):
        net = net_factory()
        net.node("ref", "P", 1, hostname="nvp_up")
        net.node(lab, "M", 2, hostname="nvp_mid")
        net.node("ref2", "H", 1, hostname="nvp_down")
        net.link("P", 0, "M", 0)
        net.link("M", 1, "H", 0)
        nv(net, "H", "enable", ty=NV, read=True, write=True)
        nv(net, "H", "on_update", ty=NV)
        net.run(1500)
        if mute:
            del net.cross[("H", 0)]
        n = len(net.trace)
        t0 = net.t
        nv(net, "P", "set", ty=NV, sender="nvp_up", endpoints=[SINK], ts=1450, payload="3412")
        net.run(net.t + 1900)
        got = []
        for t, w, side, b, h in frames(net, n, NV) + frames(net, n, 1):
            if h.ty == 1:  # (E2E ACK: contract targets the acker, then the origin)
                got.append((t - t0, w, "ack", bytes(b[h.contract_start:h.contract_end])))
            else:
                got.append((t - t0, w, "push", bytes(b[h.contract_start:h.contract_end]),
                            bytes(b[h.payload_start:h.payload_end])))
        seen[lab] = sorted(got)
        assert nv(net, "H", "updates")["result"] == [[NV, 1450, "3412"]]
        assert nv(net, "M", "layout")["result"] == [0, 0]  # passed on, not cached
        assert nv(net, "M", "cached", ty=NV) == {"result": None}
    assert seen["mp"] == seen["ref1"], seen
    pushes = [g for g in seen["ref1"] if g[2] == "push"]
    acks_to_p = [g for g in seen["ref1"] if g[2] == "ack" and g[1] == "M"]
    assert len(pushes) == (18 if mute else 2) and len(acks_to_p) == (0 if mute else 1)


@pytest.mark.parametrize("middle", ["ref-relay", "mp-enabled"])
def test_a_relay_caches_nothing_and_an_enabled_middle_router_caches(net_factory, middle):
    net = net_factory()
    lab = "ref1" if middle.startswith("ref") else "mp"
    net.node("ref", "P", 1, hostname="nvp_up")
    net.node(lab, "M", 2, hostname="nvp_mid", relay=middle == "ref-relay")
    net.node("ref2", "H", 1, hostname="nvp_down")
    net.link("P", 0, "M", 0)
    net.link("M", 1, "H", 0)
    nv(net, "H", "enable", ty=NV, read=True, write=True)
    if middle == "mp-enabled":
        nv(net, "M", "enable", ty=NV, read=True, write=True)
    net.run(1500)
    nv(net, "P", "set", ty=NV, sender="nvp_up", endpoints=[SINK], ts=1450, payload="3412")
    net.run(net.t + 500)
    assert nv(net, "H", "cached", ty=NV) == {"result": [1450, "3412"]}
    layout = nv(net, "M", "layout")["result"]
    if middle == "ref-relay":
        assert layout == [None, None]  # a 4.2.7 Relay has no variable cache
    else:
        assert layout[0] == 1 and nv(net, "M", "cached", ty=NV) == {"result": [1450, "3412"]}


@pytest.mark.parametrize("relay_lab", ["ref1", "mp"])
def test_a_relay_sends_the_push_towards_the_holder_only(net_factory, relay_lab):
    # P - R (a Relay, 3 sides) - H (holder) / X (neither endpoint nor variable): the push
    # names H (a Relay floods ADDRESS), and R sends it to H's side only, as 4.2.7's does
    net = net_factory()
    net.node("ref", "P", 1, hostname="nvp_up")
    net.node(relay_lab, "R", 3, relay=True, hostname="nvp_relay")
    net.node("ref2", "H", 1, hostname="nvp_down")
    net.node("mp" if relay_lab == "ref1" else "ref1", "X", 1, hostname="nvp_other")
    net.link("P", 0, "R", 0)
    net.link("R", 1, "H", 0)
    net.link("R", 2, "X", 0)
    nv(net, "H", "enable", ty=NV, read=True, write=True)
    net.run(1500)
    n = len(net.trace)
    nv(net, "P", "set", ty=NV, sender="nvp_up", endpoints=[SINK], ts=1450, payload="3412")
    net.run(net.t + 700)
    assert [s for _t, _w, s, _b, _h in frames(net, n, NV, "R")] == [1]
    assert len(frames(net, n, NV, "P")) == 1  # H's ACK came back: no resend
    assert nv(net, "H", "cached", ty=NV) == {"result": [1450, "3412"]}
