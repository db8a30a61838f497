# Config mistakes a user makes (issue 11): each is a sedsnet_node ConfigError whose message names
# the file, the field and the allowed values, raised before the node is built.
import json
import sys

import sedsnet
from sedsnet_node import app
from sedsnet_node.config import ConfigError
from support import raises

_TAG = "%s-%d" % (sys.implementation.name, sys.maxsize > (1 << 32))  # two runtimes at once
SCHEMA = {"endpoints": [{"name": "CFGT_FC"}, {"name": "CFGT_GROUND"}],
          "types": [{"name": "CFGT_GPS", "data_type": "Float32", "count": 3,
                     "endpoints": ["CFGT_GROUND"]}]}


def _write(name, text):
    path = "/tmp/sedsnet-cfgtest-%s-%s" % (_TAG, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _config(schema_path, **extra):
    cfg = {"hostname": "cfgtest", "sides": [], "schema": schema_path.rpartition("/")[2]}
    cfg.update(extra)
    return _write("config.json", json.dumps(cfg))


def _cleanup():
    for t in ("CFGT_GPS", "CFGT_IMU"):
        try:
            sedsnet.remove_data_type_by_name(t)
        except Exception:
            pass
    for e in ("CFGT_FC", "CFGT_GROUND"):
        try:
            sedsnet.remove_endpoint_by_name(e)
        except Exception:
            pass


def _boot_error(cfg_path):
    try:
        return raises(ConfigError, app.boot, None, cfg_path, lambda *a: None)
    finally:
        _cleanup()


def test_handler_name_typo_names_file_field_and_endpoints():
    schema = _write("schema.json", json.dumps(SCHEMA))
    path = _config(schema, handlers=["CFGT_FCC"])
    msg = str(_boot_error(path))
    assert msg.startswith(path + ": handlers[0]: unknown endpoint 'CFGT_FCC'"), msg
    assert "allowed: CFGT_FC, CFGT_GROUND" in msg, msg


def test_sensor_type_typo_names_file_field_and_types():
    schema = _write("schema.json", json.dumps(SCHEMA))
    path = _config(schema, sensors=[{"name": "gps", "type": "CFGT_GSP", "kind": "sim_gps"}])
    msg = str(_boot_error(path))
    assert msg.startswith(path + ": sensors[0] (gps).type: unknown data type 'CFGT_GSP'"), msg
    assert "allowed: CFGT_GPS" in msg, msg


def test_data_type_spellings_of_the_schema_loader_are_accepted():
    doc = json.loads(json.dumps(SCHEMA))
    doc["types"][0]["data_type"] = "float32"
    doc["types"].append({"name": "CFGT_IMU", "data_type": "f32", "count": 6,
                         "endpoints": ["CFGT_GROUND"]})
    schema = _write("schema.json", json.dumps(doc))
    path = _config(schema, handlers=["CFGT_FC"])
    try:
        app.boot(None, path, lambda *a: None)
        assert sedsnet.data_type_info_by_name("CFGT_GPS")["message_data_type"] in (1, "Float32")
        assert sedsnet.data_type_info_by_name("CFGT_IMU")["message_data_type"] in (1, "Float32")
    finally:
        _cleanup()


def test_unknown_data_type_names_schema_file_field_and_allowed():
    doc = json.loads(json.dumps(SCHEMA))
    doc["types"][0]["data_type"] = "float33"
    schema = _write("schema.json", json.dumps(doc))
    msg = str(_boot_error(_config(schema)))
    assert msg.startswith(schema + ": types[0] (CFGT_GPS).data_type: unknown data_type 'float33'"), msg
    assert "allowed: Float64, Float32, UInt8" in msg, msg
    assert not sedsnet.endpoint_exists(sedsnet.endpoint_identity("CFGT_FC"))  # nothing half-done


def test_truncated_config_names_the_file():
    good = json.dumps({"hostname": "cfgtest", "sides": [], "schema": "schema.json"})
    path = _write("config.json", good[:len(good) // 2])
    msg = str(_boot_error(path))
    assert msg.startswith(path + ": config: not valid JSON ("), msg
    assert "truncated?" in msg, msg


def test_missing_schema_file_names_config_field_and_file():
    path = _config("/tmp/nowhere/schema-%s-missing.json" % _TAG)
    msg = str(_boot_error(path))
    missing = path.rpartition("/")[0] + "/schema-%s-missing.json" % _TAG
    assert msg.startswith(path + ": schema: no schema file " + missing), msg


def test_unknown_side_type_names_file_field_and_types():
    path = _write("config.json", json.dumps({"hostname": "x", "sides": [
        {"name": "RADIO", "type": "zigbee"}]}))
    msg = str(_boot_error(path))
    assert msg.startswith(path + ": sides[0] (RADIO).type: unknown side type 'zigbee'"), msg
    assert "allowed: uart, sx127x, nrf24" in msg, msg


# Features a board config turns on (issue 18): time sync, E2E keys, reliable sides.
KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


class _UartHw:  # sides of type "uart" on a do-nothing UART; no other hardware
    def uart(self, side):
        from linkfakes import FakeUart
        return FakeUart()


def _boot(cfg):
    cfg = dict(cfg)
    cfg.setdefault("hostname", "cfgtest")
    cfg.setdefault("sides", [])
    return app.boot(_UartHw(), _write("config.json", json.dumps(cfg)), lambda *a: None)


def _feature_error(cfg):
    cfg = dict(cfg)
    cfg.setdefault("hostname", "cfgtest")
    cfg.setdefault("sides", [])
    path = _write("config.json", json.dumps(cfg))
    return path, str(raises(ConfigError, app.boot, _UartHw(), path, lambda *a: None))


def test_router_section_sets_time_sync_role_and_priority():
    loop = _boot({"router": {"timesync_role": "source", "timesync_priority": 7,
                             "timesync_announce_interval_ms": 500}})
    opts = _opts(loop.router)
    assert opts["timesync_role"] == 1 and opts["timesync_priority"] == 7, opts
    assert opts["timesync_announce_interval_ms"] == 500, opts
    assert _opts(_boot({"router": {"timesync_role": 2}}).router)["timesync_role"] == 2
    assert _opts(_boot({}).router)["timesync_role"] == 0  # 4.2.7's default: consumer


def _opts(router):
    from sedsnet.options import NAMES  # the router keeps its options in this order
    return dict(zip(NAMES, router._opts))


def test_bad_time_sync_options_name_the_field():
    path, msg = _feature_error({"router": {"timesync_role": "master"}})
    assert msg.startswith(path + ": router.timesync_role: unknown role 'master'"), msg
    assert "allowed: consumer, source, auto" in msg, msg
    path, msg = _feature_error({"router": {"timesync_priority": "high"}})
    assert msg.startswith(path + ": router.timesync_priority: must be an int >= 0"), msg
    path, msg = _feature_error({"router": {"timesync_enabled": 1}})
    assert msg.startswith(path + ": router.timesync_enabled: must be true or false"), msg


def test_e2e_section_registers_the_keys_and_sets_the_key_id():
    from sedsnet import e2e
    e2e.remove_e2e_key(7)
    e2e.remove_e2e_key(8)
    try:
        loop = _boot({"e2e": {"keys": {"7": KEY_HEX, "8": KEY_HEX[:32]}, "key_id": 7}})
        assert e2e.has_key(7) and e2e.has_key(8)
        assert _opts(loop.router)["e2e_key_id"] == 7
        # the registered key is the configured one: it opens what the same key sealed
        nonce, aad, text = bytes(12), b"hdr", b"attack at dawn"
        out, tag = bytearray(len(text)), bytearray(16)
        e2e.seal_into(7, nonce, aad, text, out, tag)
        e2e.remove_e2e_key(7)
        sedsnet.register_e2e_key(7, unhex_key())
        out2, tag2 = bytearray(len(text)), bytearray(16)
        e2e.seal_into(7, nonce, aad, text, out2, tag2)
        assert out == out2 and tag == tag2
    finally:
        e2e.remove_e2e_key(7)
        e2e.remove_e2e_key(8)


def unhex_key():
    import binascii
    return binascii.unhexlify(KEY_HEX)


def test_bad_e2e_sections_name_the_field():
    path, msg = _feature_error({"e2e": {"keys": {"7": "zz"}}})
    assert msg.startswith(path + ": e2e.keys.7: the key must be a hex string"), msg
    path, msg = _feature_error({"e2e": {"keys": {"7": "00" * 8}}})
    assert msg.startswith(path + ": e2e.keys.7: a key needs at least 16 bytes"), msg
    path, msg = _feature_error({"e2e": {"keys": {"x": KEY_HEX}}})
    assert msg.startswith(path + ": e2e.keys.x: the key id must be an int"), msg
    path, msg = _feature_error({"e2e": {"keys": {"7": KEY_HEX}, "key_id": 9}})
    assert msg.startswith(path + ": e2e.key_id: 9 is not one of the config's keys"), msg
    assert "allowed: 7" in msg, msg
    path, msg = _feature_error({"e2e": {"key": {}}})
    assert msg.startswith(path + ": e2e.key: unknown key"), msg


def test_reliable_side_flag():
    loop = _boot({"sides": [{"name": "U0", "type": "uart", "reliable": True},
                            {"name": "U1", "type": "uart"}]})
    sides = {s["side_name"]: s["reliable_enabled"]
                 for s in loop.router.export_runtime_stats()["sides"]}
    assert sides == {"U0": True, "U1": False}, sides
    path, msg = _feature_error({"sides": [{"name": "U0", "type": "uart", "reliable": "yes"}]})
    assert msg.startswith(path + ": sides[0] (U0).reliable: must be true or false"), msg


def test_schema_types_can_be_reliable_and_require_e2e():
    doc = json.loads(json.dumps(SCHEMA))
    doc["types"][0]["reliable"] = 1
    doc["types"][0]["e2e_encryption"] = 2
    schema = _write("schema.json", json.dumps(doc))
    try:
        app.boot(None, _config(schema), lambda *a: None)
        info = sedsnet.data_type_info_by_name("CFGT_GPS")
        assert info["reliable"] in (1, "Ordered") and info["e2e_encryption"] in (2, "RequireOn"), info
    finally:
        _cleanup()
    doc["types"][0]["reliable"] = 3
    schema = _write("schema.json", json.dumps(doc))
    msg = str(_boot_error(_config(schema)))
    assert msg.startswith(schema + ": types[0] (CFGT_GPS).reliable: unknown reliable mode 3"), msg
