# DISCOVERY_ADDRESS semantics 4.2.7 refuses (host_tests/test_discovery_verdicts.py probes them
# against the reference): a node address of 0, in any address mode, and an empty hostname are
# Unpack("bad discovery address") there; here a DecodeError, counted as a decode drop, with
# nothing learned. The same payloads with an address and a name are taken.
from sedsnet import announce_codec as an
from sedsnet.errors import DecodeError
from sedsnet.ids import source_address
from sedsnet.router import Router
from sedsnet.wire import frame_size, pack_into
from support import Clock, raises

EP = 591


def _frame(payload):
    a = source_address("fnode")
    buf = bytearray(frame_size(0, 17, a, 0, 1, len(payload), -1, 0x84))
    pack_into(buf, 17, a, None, 0, 1, payload, None, 0x84)
    return bytes(buf)


def test_a_zero_address_or_an_empty_hostname_is_a_bad_discovery_address():
    bad = [an.address_payload(b"peer", 0, 1, 2, [EP], mode=m) for m in (0, 1, 2)]
    bad.append(an.address_payload(b"peer", 0, 1, 2, [EP], mode=1, requested=5))
    bad.append(an.address_payload(b"", 77, 1, 2, [EP]))
    good = [an.address_payload(b"peer", 77, 1, 2, [EP], mode=m) for m in (0, 1, 2)]
    good.append(an.address_payload(b"\x00", 1, 0, 0, [EP]))
    for p in bad:
        e = raises(DecodeError, an.parse_address, p)
        assert "bad discovery address" in str(e), str(e)
    for p in good:
        assert an.parse_address(p)[an.A_ENDPOINTS] == (EP,)
    r = Router(hostname="ME", now_ms=Clock())
    s = r.add_side_packed("S", lambda f: None)
    for p in bad:
        raises(DecodeError, r.receive_packed_from_side, s, _frame(p))
    assert r.export_runtime_stats()["sides"][0]["drops"]["decode"] == len(bad)
    assert r.export_topology()["routers"] == [] or all(
        x.get("sender_id") != "peer" for x in r.export_topology()["routers"])
    r.receive_packed_from_side(s, _frame(good[0]))
    assert r.export_runtime_stats()["sides"][0]["drops"]["decode"] == len(bad)
