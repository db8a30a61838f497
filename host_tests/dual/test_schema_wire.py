# Our DISCOVERY_SCHEMA payload (schema_wire.py): 4.2.7's version-3 layout of the whole
# registry, under CPython and MicroPython; loaded only when a peer asks. Byte equality with
# 4.2.7's own payload: host_tests/test_schema_announce.py.
import struct
import sys

import sedsnet
from sedsnet.router import Router

EP_A, EP_B = 0x3401, 0x3402
T_W = 0x3411


def _schema():
    if not sedsnet.endpoint_exists(EP_A):
        sedsnet.register_endpoint(EP_B, "WEP_B", True, "kept here, not sent")
        sedsnet.register_endpoint(EP_A, "WEP_A")
        sedsnet.register_data_type(T_W, "WTYPE", True, 3, 1, 2, [EP_B, EP_A, EP_B], 1, 33,
                                   "desc", 0)


def _parse(pl):
    o = [0]

    def u32():
        o[0] += 4
        return struct.unpack_from("<I", pl, o[0] - 4)[0]

    def u8():
        o[0] += 1
        return pl[o[0] - 1]

    def s():
        n = u32()
        o[0] += n
        return bytes(pl[o[0] - n:o[0]]).decode()
    ver = u32()
    eps = [(u32(), u8(), s(), s()) for _ in range(u32())]
    tys = []
    for _ in range(u32()):
        ty, name, desc = u32(), s(), s()
        fields = (u8(), u32(), u8(), u8(), u8(), u8(), u8())
        tys.append((ty, name, desc, fields, [u32() for _ in range(u32())]))
    return ver, eps, tys, len(pl) - o[0]


def test_the_payload_lists_the_whole_registry_in_4_2_7s_layout():
    _schema()
    from sedsnet.schema_wire import schema_payload
    ver, eps, tys, left = _parse(bytes(schema_payload()))
    assert ver == 3 and left == 0
    ids = [e[0] for e in eps]
    # (other dual modules of the shared CPython process may have registered endpoints too)
    assert [i for i in ids if 200 <= i <= 202] == [200, 201, 202] and ids == sorted(ids)
    assert (EP_A, 0, "WEP_A", "") in eps and (EP_B, 1, "WEP_B", "") in eps
    assert [t[0] for t in tys][:19] == list(range(19)) and [t[0] for t in tys] == sorted(
        t[0] for t in tys)
    assert tys[0] == (0, "SEDSNET_ERROR", "", (1, 0, 13, 1, 0, 255, 0), [202])
    assert tys[17] == (17, "SEDSNET_DISCOVERY_ADDRESS", "", (1, 0, 2, 0, 1, 244, 0), [201])
    mine = next(t for t in tys if t[0] == T_W)
    # static, 3 x Float32, class 2, reliable 1, priority 33; endpoints as registered
    assert mine == (T_W, "WTYPE", "", (0, 3, 1, 2, 1, 33, 0), [EP_B, EP_A, EP_B])


def test_schema_wire_loads_only_when_a_peer_asks():
    _schema()
    sys.modules.pop("sedsnet.schema_wire", None)
    sent = []
    r = Router(now_ms=lambda: 0, hostname="W1", handlers=[(EP_A, lambda p: None, None)])
    r.add_side_packed("a", lambda f: sent.append(bytes(f)))
    r.log_f32(T_W, [1.0, 2.0, 3.0])
    r.periodic(0)
    other = Router(now_ms=lambda: 0, hostname="W2")
    got = []
    other.add_side_packed("a", lambda f: got.append(bytes(f)))
    other.periodic(0)
    for f in got:
        r.receive_packed_from_side(0, f)  # ADDRESS + TOPOLOGY of W2
    assert "sedsnet.schema_wire" not in sys.modules
    from sedsnet.wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, pack_into
    req = bytearray(64)  # a SCHEMA_REQUEST from W2 (source address 77), as 4.2.7 sends it
    n = pack_into(req, 12, 77, None, 0, 5, b"", None, REL_UNSEQUENCED | REL_HAS_SEQ, 0)
    del sent[:]
    r.receive_packed_from_side(0, bytes(req[:n]))
    assert "sedsnet.schema_wire" in sys.modules
    h = FrameHeader(max_endpoints=4)
    assert [h.parse(f).ty for f in sent] == [17, 9, 10]  # ADDRESS + full TOPOLOGY + SCHEMA


def test_a_link_that_refuses_the_schema_gets_the_empty_one():
    """A side whose tx refuses frames over 512 bytes (a UART link's MTU): the ~1.2 kB SCHEMA
    fails (counted), then the empty SCHEMA v3 goes out, which stops 4.2.7's requests."""
    _schema()
    from sedsnet.announce_codec import EMPTY_SCHEMA
    from sedsnet.wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, pack_into
    sent = []

    def uart(frame):
        if len(frame) > 512:
            raise ValueError("frame of %d bytes exceeds the link MTU" % len(frame))
        sent.append(bytes(frame))
    r = Router(now_ms=lambda: 0, hostname="W3", handlers=[(EP_A, lambda p: None, None)])
    r.add_side_packed("uart", uart)
    r.periodic(0)
    req = bytearray(64)
    n = pack_into(req, 12, 78, None, 0, 6, b"", None, REL_UNSEQUENCED | REL_HAS_SEQ, 0)
    del sent[:]
    before = r.export_runtime_stats()["sides"][0]["tx_handler_failures"]
    r.receive_packed_from_side(0, bytes(req[:n]))
    h = FrameHeader(max_endpoints=4)
    assert [h.parse(f).ty for f in sent] == [17, 9, 10]
    h.parse(sent[2])
    assert bytes(sent[2][h.payload_start:h.payload_end]) == EMPTY_SCHEMA
    assert r.export_runtime_stats()["sides"][0]["tx_handler_failures"] == before + 1


def test_no_heap_for_the_schema_sends_the_empty_one():
    """A board whose heap cannot hold the ~1.2 kB SCHEMA (MemoryError while building it)
    sends the empty SCHEMA, counted; nothing raises into the receive call."""
    _schema()
    import sedsnet.schema_wire as sw
    from sedsnet.announce_codec import EMPTY_SCHEMA
    from sedsnet.wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, pack_into
    sent = []
    r = Router(now_ms=lambda: 0, hostname="W4", handlers=[(EP_A, lambda p: None, None)])
    r.add_side_packed("a", lambda f: sent.append(bytes(f)))
    r.periodic(0)
    req = bytearray(64)
    n = pack_into(req, 12, 79, None, 0, 7, b"", None, REL_UNSEQUENCED | REL_HAS_SEQ, 0)

    def no_heap():
        raise MemoryError("memory allocation failed")
    keep = sw.schema_payload
    sw.schema_payload = no_heap
    try:
        del sent[:]
        r.receive_packed_from_side(0, bytes(req[:n]))
    finally:
        sw.schema_payload = keep
    h = FrameHeader(max_endpoints=4)
    assert [h.parse(f).ty for f in sent] == [17, 9, 10]
    h.parse(sent[2])
    assert bytes(sent[2][h.payload_start:h.payload_end]) == EMPTY_SCHEMA
    assert r.export_runtime_stats()["discovery"]["schema_fallbacks"] == 1
