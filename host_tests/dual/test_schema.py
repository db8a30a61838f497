# Runtime schema: the reference's registration rules and info dicts, built-ins, bounded storage,
# and the JSON loader (reference-accepted documents, the seed's document, errors naming fields).
import sedsnet
from sedsnet import schema
from sedsnet.errors import ArgumentError, SchemaError, SedsError
from codec_helpers import fresh
from support import load_vectors, raises

SEED_JSON = b"""
{
"endpoints": [
{"rust": "SdCard", "name": "SD_CARD", "description": "Local storage endpoint"},
{"rust": "Radio", "name": "RADIO", "description": "External radio link"}
],
"types": [
{
"rust": "GpsData",
"name": "GPS_DATA",
"description": "Three f32 GPS values",
"priority": 80,
"class": "Data",
"element": {"kind": "Static", "data_type": "Float32", "count": 3},
"endpoints": ["Radio", "SdCard"]
}
]
}
"""


def test_builtins_match_reference_info():
    fresh()
    assert schema.data_type_info(1) == {
        "exists": True, "id": 1, "name": "SEDSNET_RELIABLE_ACK", "description": "",
        "is_static": True, "element_count": 2, "message_data_type": 4, "message_class": 0,
        "reliable": 0, "priority": 250, "e2e_encryption": 0, "fixed_size": 8, "endpoints": [202]}
    assert schema.data_type_info(0)["message_class"] == 1
    assert schema.data_type_info(6)["fixed_size"] == 32
    assert schema.data_type_info(9)["reliable"] == 1
    assert schema.endpoint_info(200) == {"exists": True, "id": 200, "name": "SEDSNET_TIME_SYNC",
                                         "description": "", "link_local_only": False}
    assert schema.endpoint_info(5) == {"exists": False, "id": 5}
    assert schema.data_type_info_by_name("NOPE") == {"exists": False, "name": "NOPE"}
    assert sedsnet.DataType.SEDSNET_P2P_MESSAGE == 18 and sedsnet.DataEndpoint.SEDSNET_ERROR == 202
    assert sedsnet.SEDSNET_ERROR == 202 and sedsnet.SEDSNET_ERROR_TYPE == 0  # as the reference


def test_register_rules():
    fresh()
    assert schema.register_endpoint(1, "EP_A", False, "d") == 1
    assert schema.register_endpoint(1, "EP_A", False, "d") == 1  # same definition: fine
    for args in ((1, "EP_A", False, "x"), (1, "EP_Z"), (2, "EP_A"), (200, "FOO"),
                 (5, "SEDSNET_ERROR")):
        raises(SchemaError, schema.register_endpoint, *args)
    raises(ArgumentError, schema.register_endpoint, 1 << 32, "BIG")
    assert schema.register_endpoint(0xFFFFFFFF, "MAX") == 0xFFFFFFFF
    raises(SchemaError, schema.register_data_type, 1, "X", True, 1, 2, 0, [1])
    raises(SchemaError, schema.register_data_type, 50, "SEDSNET_ERROR", True, 1, 2, 0, [1])
    raises(ArgumentError, schema.register_data_type, 53, "T53", True, 1, 16, 0, [1])
    raises(ArgumentError, schema.register_data_type, 54, "T54", True, 1, 2, 3, [1])
    raises(ArgumentError, schema.register_data_type, 55, "T55", True, 1, 2, 0, [1], reliable=3)
    raises(ArgumentError, schema.register_data_type, 56, "T56", True, 1, 2, 0, [1],
           e2e_encryption=3)
    raises(ArgumentError, schema.register_data_type, 57, "T57", True, 1, 2, 0, [1], priority=300)
    schema.register_data_type(58, "T58", False, 5, 2, 0, [8, 1])  # unregistered endpoint is ok
    info = schema.data_type_info(58)
    assert info["element_count"] == 0 and info["endpoints"] == [8, 1]
    assert schema.type_record(58)[schema.R_EPS] == (1, 8)
    schema.register_data_type(63, "T63", True, 2, 13, 0, [1])
    assert schema.data_type_info(63)["fixed_size"] == 2048
    schema.register_data_type(65, "T65", True, 2, 6, 0, [1], reliable=2, priority=7,
                              description="dd", e2e_encryption=1)
    assert schema.data_type_info_by_name("T65")["fixed_size"] == 32
    schema.register_data_type(65, "T65", True, 2, 6, 0, [1], reliable=2, priority=7,
                              description="dd", e2e_encryption=1)


def test_remove_rules_and_cascade():
    fresh()
    schema.register_endpoint(1, "EP_A")
    schema.register_data_type(66, "T66", True, 2, 6, 0, [1])
    schema.register_data_type(67, "T67", True, 2, 6, 0, [2])
    raises(SchemaError, schema.remove_endpoint, 200)
    raises(SchemaError, schema.remove_data_type, 1)
    raises(SchemaError, schema.remove_data_type_by_name, "SEDSNET_RELIABLE_ACK")
    assert schema.remove_endpoint(1) is True  # also removes the types that list it
    assert not schema.data_type_exists(66) and schema.data_type_exists(67)
    assert schema.remove_endpoint(1) is False
    assert schema.remove_data_type_by_name("T67") is True
    assert schema.remove_data_type(67) is False
    assert schema.endpoint_exists(200) and not schema.endpoint_exists(1)


def test_bounded_storage_and_byte_use():
    fresh()
    assert schema.schema_bytes_used() == 0
    schema.register_endpoint(1, "EP_A")
    used = schema.schema_bytes_used()
    assert used > 0
    schema.register_data_type(100, "T", False, 0, 14, 0, [1])
    assert schema.schema_bytes_used() > used
    schema.remove_endpoint(1)
    assert schema.schema_bytes_used() == 0
    schema.configure(max_endpoints=2, max_types=1, max_type_endpoints=2)
    try:
        schema.register_endpoint(1, "A")
        schema.register_endpoint(2, "B")
        e = raises(SchemaError, schema.register_endpoint, 3, "C")
        assert "full" in str(e)
        schema.register_data_type(100, "T", False, 0, 14, 0, [1, 2])
        raises(SchemaError, schema.register_data_type, 101, "U", False, 0, 14, 0, [1])
        raises(SchemaError, schema.configure)
    finally:
        fresh()
        schema.configure()


def test_reference_json_vectors():
    for c in load_vectors("schema-json.json"):
        fresh()
        doc = c["inputs"]["json"]
        import json
        data = json.dumps(doc).encode()
        ref_ok = c["result"] == "ok"
        if ref_ok:
            schema.register_schema_json_bytes(data)
            for ep in c["endpoints_after"]:
                assert schema.endpoint_info_by_name(ep["name"]) == ep, c["case"]
        elif c["case"] in ("schema_json_type_4_0_2_style", "schema_json_type_minimal"):
            # 4.2.7 rejects every type entry; we load them with the reference's IDs
            schema.register_schema_json_bytes(data)
            t = schema.data_type_info_by_name("T_A")
            assert t["exists"] and t["id"] == sedsnet.data_type_identity("T_A")
            assert t["endpoints"] == [sedsnet.endpoint_identity("EP_A")]
        else:
            raises(SchemaError, schema.register_schema_json_bytes, data)
            for ep in c["endpoints_after"]:
                assert not schema.endpoint_info_by_name(ep["name"])["exists"], c["case"]


def test_seed_document_loads_with_reference_ids():
    fresh()
    sedsnet.register_schema_json_bytes(SEED_JSON)
    sd = sedsnet.endpoint_info_by_name("SD_CARD")
    radio = sedsnet.endpoint_info_by_name("RADIO")
    gps = sedsnet.data_type_info_by_name("GPS_DATA")
    assert (sd["id"], radio["id"], gps["id"]) == (100, 101, 100)
    assert sd["description"] == "Local storage endpoint"
    assert gps["is_static"] and gps["element_count"] == 3 and gps["message_data_type"] == 1
    assert gps["fixed_size"] == 12 and gps["priority"] == 80 and gps["endpoints"] == [101, 100]
    sedsnet.register_schema_json_bytes(SEED_JSON)  # loading the same document again is fine


def test_json_errors_name_entry_and_field():
    fresh()
    bad = (
        (b'{"endpoints": [{"name": "A"}]}', "types"),
        (b'{"endpoints": [{"rust": "A"}], "types": []}', "endpoints[0]"),
        ((b'{"endpoints": [], "types": [{"name": "T", "element": {"kind": "Static", '
          b'"data_type": "Float33", "count": 1}, "endpoints": []}]}'), "element.data_type"),
        ((b'{"endpoints": [], "types": [{"name": "T", "element": {"kind": "Static", '
          b'"data_type": "Float32"}, "endpoints": []}]}'), "element.count"),
        ((b'{"endpoints": [], "types": [{"name": "T", "element": {"kind": "Dynamic", '
          b'"data_type": "Float32"}, "endpoints": ["Nope"]}]}'), "unknown endpoint"),
        ((b'{"endpoints": [], "types": [{"name": "T", "priority": 999, "element": {"kind": '
          b'"Dynamic", "data_type": "Float32"}, "endpoints": []}]}'), "priority"),
        ((b'{"endpoints": [], "types": [{"name": "T", "class": "Loud", "element": {"kind": '
          b'"Dynamic", "data_type": "Float32"}, "endpoints": []}]}'), "class"),
        (b'not json', "JSON"),
    )
    for doc, word in bad:
        e = raises(SchemaError, schema.register_schema_json_bytes, doc)
        assert word in str(e), (doc, str(e))
        if b'"name": "T"' in doc:
            assert "types[0] (T)" in str(e), str(e)
    assert not schema.endpoint_exists(sedsnet.endpoint_identity("A"))
    assert issubclass(SchemaError, SedsError)


def test_json_reliable_and_e2e_spellings():
    fresh()
    schema.register_schema_json_bytes(
        b'{"endpoints": [{"name": "EP_A", "broadcast_mode": "Never"}], "types": [{"name": "T",'
        b' "reliable_mode": "Unordered", "e2e_encryption": "RequireOn", "class": "Warning",'
        b' "element": {"kind": "Dynamic", "data_type": "UInt16"}, "endpoints": ["EP_A"]}]}')
    t = schema.data_type_info_by_name("T")
    assert (t["reliable"], t["e2e_encryption"], t["message_class"], t["message_data_type"]) == (
        2, 2, 2, 3)
    assert schema.endpoint_info_by_name("EP_A")["link_local_only"] is True


def test_names_and_descriptions_are_bounded():
    fresh()
    hi = schema.MAX_NAME_BYTES
    schema.register_endpoint(10, "N" * hi, description="d" * schema.MAX_DESCRIPTION_BYTES)
    e = raises(SchemaError, schema.register_endpoint, 11, "N" * 100000)
    assert "'name'" in str(e) and len(str(e)) < 200, str(e)
    e = raises(SchemaError, schema.register_endpoint, 12, "E", False,
               "d" * (schema.MAX_DESCRIPTION_BYTES + 1))
    assert "'description'" in str(e)
    # UTF-8 bytes count, not characters
    raises(SchemaError, schema.register_endpoint, 13, "\u00e9" * (hi // 2 + 1))
    e = raises(SchemaError, schema.register_data_type, 3100, "T" * (hi + 1), False, 0, 14, 0,
               [10])
    assert "'name'" in str(e)
    raises(SchemaError, schema.register_data_type, 3101, "T", False, 0, 14, 0, [10],
           description="d" * 100000)
    assert not schema.endpoint_exists(11) and not schema.data_type_exists(3100)
    assert not schema.data_type_exists(3101)
    # a router can still be made afterwards (a 100k name used to exceed every budget)
    from sedsnet.router import Router
    Router(hostname="A", discovery=False)
    fresh()


def test_static_payload_size_is_bounded():
    fresh()
    hi = schema.MAX_STATIC_PAYLOAD
    schema.register_endpoint(101, "RADIO")
    schema.register_data_type(3200, "BIG_OK", True, hi // 4, 1, 0, [101])  # f32 x hi/4
    assert schema.data_type_info(3200)["fixed_size"] == hi
    for count, mdt in ((0xFFFFFFFF, 2), (hi + 1, 2), (hi // 8 + 1, 0), (9, 13)):
        e = raises(SchemaError, schema.register_data_type, 3201, "BIG", True, count, mdt, 0,
                   [101])
        assert "'element_count'" in str(e), str(e)
    assert not schema.data_type_exists(3201)
    schema.register_data_type(3202, "DYN", False, 0xFFFFFFFF, 2, 0, [101])  # count unused
    pkt = sedsnet.make_packet(3200, "x", [101], 0, bytes(hi))
    assert len(pkt.payload) == hi
    fresh()


def _registry():
    return (sorted(schema.user_endpoints()),
            sorted((r[schema.R_ID], r[schema.R_NAME]) for r in schema.user_types()),
            schema.schema_bytes_used())


def _doc(types, eps=('{"name": "J_EP"}',)):
    return ('{"endpoints": [%s], "types": [%s]}' % (", ".join(eps), ", ".join(types))).encode()


def _jt(name, count=1):
    return ('{"name": "%s", "element": {"kind": "Static", "data_type": "UInt8", "count": %d},'
            ' "endpoints": ["J_EP"]}' % (name, count))


def test_a_json_document_registers_all_or_nothing():
    fresh()
    schema.register_endpoint(50, "KEEP")
    schema.register_data_type(sedsnet.data_type_identity("J_OLD"), "J_OLD", True, 4, 2, 0, [50])
    before = _registry()
    docs = (
        ("duplicate", _doc([_jt("J_T1"), _jt("J_T2"), _jt("J_T2", 2)])),
        ("reserved", _doc([_jt("J_T1"), _jt("SEDSNET_ERROR")])),
        ("reserved endpoint", _doc([_jt("J_T1")], ('{"name": "J_EP"}',
                                                   '{"name": "SEDSNET_DISCOVERY"}'))),
        ("conflicting id", _doc([_jt("J_T1"), _jt("J_OLD", 3)])),
        ("name bound", _doc([_jt("J_T1"), _jt("N" * 1000)])),
        ("size bound", _doc([_jt("J_T1"), _jt("J_T3", 0xFFFFFFFF)])),
    )
    for what, doc in docs:
        raises(SchemaError, schema.register_schema_json_bytes, doc)
        assert _registry() == before, what
    fresh()
    schema.configure(max_endpoints=2, max_types=2, max_type_endpoints=8)
    try:
        schema.register_endpoint(50, "KEEP")
        before = _registry()
        for what, doc in (("endpoints full", _doc([_jt("J_T1")], ('{"name": "J_EP"}',
                                                                 '{"name": "J_EP2"}'))),
                          ("types full", _doc([_jt("J_T1"), _jt("J_T2"), _jt("J_T3")]))):
            e = raises(SchemaError, schema.register_schema_json_bytes, doc)
            assert "full" in str(e), str(e)
            assert _registry() == before, what
        schema.register_schema_json_bytes(_doc([_jt("J_T1"), _jt("J_T2")]))  # fits: all of it
        assert len(schema.user_types()) == 2 and len(schema.user_endpoints()) == 2
    finally:
        fresh()
        schema.configure()


def test_builtin_type_records_made_on_demand_match_their_names():
    # schema.py keeps the 19 built-ins as a compact table and makes a record on first use
    from sedsnet import schema
    want = {0: (False, 0, 13, 1, (202,), 0, 255), 1: (True, 2, 4, 0, (202,), 0, 250),
            6: (True, 4, 5, 0, (200,), 0, 245), 9: (False, 0, 2, 0, (201,), 1, 240),
            18: (False, 0, 2, 0, (201,), 1, 246)}
    for ty in range(19):
        r = schema.type_record(ty)
        assert r is schema.type_record(ty)  # cached
        assert r[schema.R_ID] == ty and r[schema.R_NAME].startswith("SEDSNET_")
        assert schema.data_type_info_by_name(r[schema.R_NAME])["id"] == ty
        if ty in want:
            w = want[ty]
            assert (r[schema.R_STATIC], r[schema.R_COUNT], r[schema.R_MDT], r[schema.R_CLASS],
                    r[schema.R_EPS], r[schema.R_RELIABLE], r[schema.R_PRIORITY]) == w
    assert schema.type_record(6)[schema.R_FIXED] == 32
    assert schema.type_record(0)[schema.R_NAME] == "SEDSNET_ERROR"
    assert schema.type_record(18)[schema.R_NAME] == "SEDSNET_P2P_MESSAGE"
    assert schema.data_type_info_by_name("SEDSNET_NOPE")["exists"] is False
    assert schema.data_type_info_by_name("ERROR")["exists"] is False
