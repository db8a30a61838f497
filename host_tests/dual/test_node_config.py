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
