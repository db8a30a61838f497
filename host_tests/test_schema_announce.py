"""Issue 13: our DISCOVERY_SCHEMA (10) is 4.2.7's (schema_wire.py; docs/router-interop.md
section 10): the same payload bytes for the same registry, and a reference node that asks
learns our types by name. Each node in its own process (netlab), one fake clock."""
import pytest

from netlab import network
from test_reference_router_facts import ctrl
from sedsnet.wire import FrameHeader

SCHEMA = [
    ["register_endpoint", 0x1601, "S_GROUND", False, "a ground"],
    ["register_endpoint", 0x1600, "S_LOCAL", True, ""],
    ["register_data_type", 0x2601, "S_GPS", True, 3, 1, 0, [0x1601, 0x1600], 0, 80, "gps"],
    ["register_data_type", 0x2600, "S_LOG", False, 0, 14, 1, [0x1600, 0x1601, 0x1600]],
    ["register_data_type", 0x2603, "S_REL", False, 0, 1, 0, [0x1601], 2, 7, "", 0],
]
BOARD_ONLY = ["register_data_type", 0x2610, "S_BOARD_ONLY", True, 2, 8, 2, [0x1601], 0, 9,
              "only the board has it"]


@pytest.fixture(scope="module")
def net():
    with network(SCHEMA) as n:
        yield n


def _payloads(trace, name, ty):
    out = []
    for _, node, _, f in trace:
        b = bytes.fromhex(f)
        h = FrameHeader(max_endpoints=8).parse(b)
        if node == name and h.ty == ty:
            out.append(b[h.payload_start:h.payload_end])
    return out


@pytest.mark.parametrize("relay", [False, True], ids=["router", "relay"])
def test_our_schema_answer_is_the_reference_answer(net, relay):
    """The SCHEMA a node sends in answer to a foreign SCHEMA_REQUEST (and, for a Router, on
    announce_discovery()): the reference's payload, byte for byte."""
    got = {}
    for lab in ("ref", "mp"):
        net.reset()
        net.node(lab, "X", 1, handlers=[0x1601], relay=relay)
        net.run(100)
        n0 = len(net.trace)
        net.labs[lab].call("rx", node="X", side=0, frames=[ctrl(12, "FOREIGN", b"", 100)])
        net.shuttle()
        if not relay:
            net.call("X", "announce_discovery")
        got[lab] = _payloads(net.trace[n0:], "X", 10)
    assert len(got["ref"]) == (1 if relay else 2) and len(got["ref"][0]) > 1000  # built-ins
    assert got["mp"] == got["ref"]


def test_a_reference_node_learns_our_types_from_our_schema(net):
    """Ours (B) holds a type the reference ground (G) never registered; G asks for our schema
    ~1 s after our full TOPOLOGY and registers what we send, by name."""
    net.reset()
    lab = net.labs["mp"]
    lab.call("fn", fn="register_data_type", args=BOARD_ONLY[1:])
    ref = net.labs["ref"]
    assert not ref.call("fn", fn="data_type_exists", args=[0x2610])["result"]
    net.node("mp", "B", 1, handlers=[0x1601])
    net.node("ref", "G", 1, handlers=[0x1600])
    net.link("B", 0, "G", 0)
    net.run(2500)
    assert len(_payloads(net.trace, "G", 12)) >= 1  # G asked (SCHEMA_REQUEST)
    assert len(_payloads(net.trace, "B", 10)) == 1  # we answered once; it stopped asking
    info = ref.call("fn", fn="data_type_info", args=[0x2610])["result"]
    want = {"name": "S_BOARD_ONLY", "is_static": True, "element_count": 2,
            "message_data_type": 8, "message_class": 2, "priority": 9, "endpoints": [0x1601]}
    assert {k: info[k] for k in want} == want
    assert info["description"] == ""  # 4.2.7 sends no descriptions
