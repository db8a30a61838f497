"""Board configs: every config loads with sedsnet_node.app's checks and names only known side
types and sensors, every schema names its endpoints, and a bad config fails with a message
naming the culprit (manifests: test_manifests.py)."""
import json
import os
import sys

import pytest

import toolchain

sys.path.insert(0, toolchain.FIRMWARE)
from sedsnet_node import app  # noqa: E402

BOARDS_DIR = os.path.join(toolchain.REPO, "boards")
BOARDS = sorted(d for d in os.listdir(BOARDS_DIR) if os.path.isdir(os.path.join(BOARDS_DIR, d)))


@pytest.mark.parametrize("board", BOARDS)
def test_config_and_schema(board):
    cfg = app.load_config(os.path.join(BOARDS_DIR, board, "config.json"))
    with open(os.path.join(BOARDS_DIR, board, cfg["schema"])) as f:
        schema = json.load(f)
    endpoints = {e["name"] for e in schema["endpoints"]}
    types = {t["name"] for t in schema["types"]}
    for t in schema["types"]:
        assert set(t["endpoints"]) <= endpoints, t
    for s in cfg["sensors"]:
        assert s["type"] in types and s["kind"] in ("sim_gps", "sim_imu"), s
    names = [side["name"] for side in cfg["sides"]]
    assert len(names) == len(set(names))
    for side in cfg["sides"]:
        if side["type"] == "sx127x":
            assert side["sf"] in range(7, 13) and 2 <= side["tx_power"] <= 20
            assert "cs" in side


def test_bad_config_names_the_side(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"hostname": "x", "sides": [{"name": "RADIO", "type": "zigbee"}]}))
    with pytest.raises(app.ConfigError) as e:
        app.load_config(str(p))
    assert "RADIO" in str(e.value) and "zigbee" in str(e.value)
    p.write_text(json.dumps({"sides": []}))
    with pytest.raises(app.ConfigError) as e:
        app.load_config(str(p))
    assert "hostname" in str(e.value)


@pytest.mark.parametrize("board", BOARDS)
def test_router_options_of_each_board(board):
    import sedsnet
    cfg = app.load_config(os.path.join(BOARDS_DIR, board, "config.json"))
    router = app.make_router(sedsnet, cfg, [])
    opts = cfg["router"]
    assert router._budget.total == opts["max_queue_budget"] <= 16384  # a small-heap budget
    modes = router.export_runtime_stats()["route_modes"]
    assert modes == [{"src_side_id": None, "selection_mode": opts["route_mode"], "cursor": 0}]


def test_esp32_gateway_config_is_the_same_board_in_another_role():
    # boards/esp32/gateway.json (make deploy ... CONFIG=, and the demo's gateway): the same
    # wiring as the board's own config, no sensors, no handlers, routes with 4.2.7's defaults
    import sedsnet
    here = os.path.join(BOARDS_DIR, "esp32")
    own = app.load_config(os.path.join(here, "config.json"))
    gw = app.load_config(os.path.join(here, "gateway.json"))
    assert gw["sides"] == own["sides"] and gw["schema"] == own["schema"]
    assert gw["sensors"] == [] and gw["handlers"] == [] and gw["hostname"] == "gateway"
    router = app.make_router(sedsnet, gw, [])
    assert router._budget.total == gw["router"]["max_queue_budget"]
    assert router.export_runtime_stats()["route_modes"] == []


def test_bad_route_mode_is_named():
    import sedsnet
    with pytest.raises(app.ConfigError) as e:
        app.make_router(sedsnet, {"hostname": "x", "router": {"route_mode": "Broadcast"}}, [])
    assert "Broadcast" in str(e.value) and "Fanout" in str(e.value)
    plain = app.make_router(sedsnet, {"hostname": "x"}, [])  # no "router": 4.2.7's defaults
    assert plain._budget.total == 102400 and plain.export_runtime_stats()["route_modes"] == []


def _ground(*args):
    import subprocess
    return subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "ground_station.py"),
                           "--port", "loop://", "--schema",
                           os.path.join(BOARDS_DIR, "rp2040", "schema.json"), "--seconds", "0.5"]
                          + list(args), capture_output=True, text=True, timeout=60)


def test_ground_station_is_a_router_by_default_and_decoder_mode_says_why_no_telemetry():
    plain = _ground()
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "(reference sedsnet Router node)" in plain.stdout, plain.stdout
    assert "no telemetry" not in plain.stdout
    dec = _ground("--decoder")
    assert dec.returncode == 0, dec.stdout + dec.stderr
    assert "(reference sedsnet decoder)" in dec.stdout, dec.stdout
    assert "ground: no telemetry: --decoder announces no GROUND_STATION" in dec.stdout, dec.stdout


def test_ground_station_reads_the_data_type_spellings_the_board_takes(tmp_path):
    with open(os.path.join(BOARDS_DIR, "rp2040", "schema.json")) as f:
        doc = json.load(f)
    for t in doc["types"]:
        t["data_type"] = t.get("data_type", "Float32").lower()  # "float32", as boards accept
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(doc))
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "ground_station.py"),
                          "--port", "loop://", "--schema", str(schema), "--seconds", "0.3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    doc["types"][0]["data_type"] = "float33"
    schema.write_text(json.dumps(doc))
    bad = subprocess.run([sys.executable, os.path.join(toolchain.REPO, "tools", "ground_station.py"),
                          "--port", "loop://", "--schema", str(schema), "--seconds", "0.3"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "data_type 'float33'; allowed: Float64, Float32" in bad.stderr
