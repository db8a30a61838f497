"""Live network-variable interop (issue 15, second half): a reference 4.2.7 Router in CPython
and ours in MicroPython (netlab.py). Each way: the consumer's first get returns None and sends
MANAGED_VARIABLE_REQUEST (13); the producer answers from its cache; the reply fills the
consumer's cache and fires its callback once; a stale get refreshes, the unchanged reply fires
nothing; permissions raise PermissionDenied on both; our middle router answers with the
producer gone, and a reference middle router answers our consumer; a type our router enables is in its ADDRESS list, so 4.2.7 pushes the value to
it (contract naming it) and our E2E ACK stops its resends. Our pushes:
test_netvar_push_interop.py."""
import pytest

from netlab import network, nv

SINK = 0x1201
NV = 0x2201  # static u16 x1
SCHEMA = [["register_endpoint", SINK, "NV_SINK"],
          ["register_data_type", NV, "NV_U16", True, 1, 3, 0, [SINK]]]


@pytest.fixture(scope="module")
def net_factory():
    with network(SCHEMA) as net:
        yield net.reset


@pytest.mark.parametrize("producer_lab", ["ref", "mp"])
def test_first_get_refreshes_from_the_producer_and_fires_once(net_factory, producer_lab):
    net = net_factory()
    consumer_lab = "mp" if producer_lab == "ref" else "ref"
    net.node(producer_lab, "P", 1, hostname="nv_prod")
    net.node(consumer_lab, "C", 1, hostname="nv_cons")
    net.link("P", 0, "C", 0)
    # C watches first: a holder replays its cached value to a side that starts listing the
    # type (netvar_push.py), so the value is seeded after C's listing went out
    nv(net, "C", "on_update", ty=NV)
    net.run(500)
    assert nv(net, "P", "enable", ty=NV, read=True, write=True) == {"result": None}
    assert nv(net, "P", "seed", ty=NV, sender="nv_prod", endpoints=[SINK], ts=400,
              payload="3412") == {"result": None}
    n = len(net.trace)
    assert nv(net, "C", "get", ty=NV) == {"result": None}
    net.run(net.t + 100)
    reqs = [f for _, who, _, f in net.trace[n:] if who == "C" and f[4:6] == "0d"]
    assert reqs and reqs[0][:8] == "4a010d04" and reqs[0][-20:-8] == "840001220000"
    assert nv(net, "C", "cached", ty=NV) == {"result": [400, "3412"]}
    assert nv(net, "C", "updates")["result"] == [[NV, 400, "3412"]]
    # a stale get returns the cached value and asks again; the same value fires nothing
    net.run(net.t + 1000)
    assert nv(net, "C", "get", ty=NV, stale=100) == {"result": [400, "3412"]}
    net.run(net.t + 100)
    assert nv(net, "C", "updates")["result"] == []


@pytest.mark.parametrize("lab", ["ref", "mp"])
def test_permissions_raise_permission_denied(net_factory, lab):
    net = net_factory()
    net.node(lab, "X", 1, hostname="nv_ro")
    nv(net, "X", "enable", ty=NV, read=False, write=False)
    for op, kw in (("get", {}), ("cached", {}),
                   ("set", {"sender": "nv_ro", "endpoints": [SINK], "ts": 1, "payload": "0000"})):
        err = nv(net, "X", op, ty=NV, **kw).get("error") or ""
        assert "PermissionDenied" in err, (lab, op, err)


def test_our_middle_node_answers_from_its_cache_with_the_producer_gone(net_factory):
    # reference producer P - our router M - reference consumer C; M enabled the variable
    net = net_factory()
    net.node("ref", "P", 1, hostname="nv_prod")
    net.node("mp", "M", 2, hostname="nv_mid")
    net.node("ref", "C", 1, hostname="nv_cons")
    net.link("P", 0, "M", 0)
    net.link("M", 1, "C", 0)
    nv(net, "M", "enable", ty=NV, read=True, write=True)  # (listed before any value exists:
    nv(net, "C", "on_update", ty=NV)  # a holder replays its value to a side that lists it)
    net.run(500)
    nv(net, "P", "enable", ty=NV, read=True, write=True)
    nv(net, "P", "seed", ty=NV, sender="nv_prod", endpoints=[SINK], ts=450, payload="7856")
    assert nv(net, "M", "get", ty=NV) == {"result": None}
    net.run(net.t + 100)
    assert nv(net, "M", "cached", ty=NV) == {"result": [450, "7856"]}
    del net.cross[("P", 0)], net.cross[("M", 0)]  # the producer is gone
    assert nv(net, "C", "get", ty=NV) == {"result": None}
    net.run(net.t + 100)
    assert nv(net, "C", "cached", ty=NV) == {"result": [450, "7856"]}
    assert nv(net, "C", "updates")["result"] == [[NV, 450, "7856"]]


def test_a_reference_middle_node_answers_our_consumer_with_our_producer_gone(net_factory):
    # the reverse: our producer P - reference router M - our consumer C. C only gets (no
    # on_update before: a 4.2.7 holder sends its value to a side that starts listing the type)
    net = net_factory()
    net.node("mp", "P", 1, hostname="nv_prod")
    net.node("ref", "M", 2, hostname="nv_mid")
    net.node("mp", "C", 1, hostname="nv_cons")
    net.link("P", 0, "M", 0)
    net.link("M", 1, "C", 0)
    nv(net, "M", "enable", ty=NV, read=True, write=True)
    net.run(500)
    nv(net, "P", "enable", ty=NV, read=True, write=True)
    nv(net, "P", "seed", ty=NV, sender="nv_prod", endpoints=[SINK], ts=450, payload="7856")
    assert nv(net, "M", "get", ty=NV) == {"result": None}
    net.run(net.t + 100)
    assert nv(net, "M", "cached", ty=NV) == {"result": [450, "7856"]}
    del net.cross[("P", 0)], net.cross[("M", 0)]  # the producer is gone
    assert nv(net, "C", "get", ty=NV) == {"result": None}
    net.run(net.t + 100)
    assert nv(net, "C", "cached", ty=NV) == {"result": [450, "7856"]}


def test_reference_pushes_to_our_announced_holder_which_acks(net_factory):
    # our M enables the variable: its ADDRESS lists it, so a reference set_network_variable
    # sends the value to M (contract naming M); M caches it, fires its callback and E2E-ACKs
    net = net_factory()
    net.node("ref", "P", 1, hostname="nv_prod")
    net.node("mp", "M", 1, hostname="nv_hold")
    net.link("P", 0, "M", 0)
    nv(net, "M", "enable", ty=NV, read=True, write=True)
    nv(net, "M", "on_update", ty=NV)
    net.run(1500)
    n = len(net.trace)
    nv(net, "P", "set", ty=NV, sender="nv_prod", endpoints=[SINK], ts=1400, payload="cdab")
    net.run(net.t + 1500)
    assert nv(net, "M", "updates")["result"] == [[NV, 1400, "cdab"]]
    assert nv(net, "M", "cached", ty=NV) == {"result": [1400, "cdab"]}
    pushes = [f for _, who, _, f in net.trace[n:] if who == "P" and f[4:8] == "8144"]
    acks = [f for _, who, _, f in net.trace[n:] if who == "M" and f[4:6] == "01"]
    assert pushes and pushes[0][:2] == "8c"  # a push with a contract
    assert acks  # our E2E ACK
    assert len(pushes) <= 2  # ACKed: no resends every 200 ms for 1.5 s
