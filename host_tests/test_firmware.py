"""Board configs and manifests: every config loads with firmware/app.py's checks and names only
known side types and sensors, every manifest lists modules that exist, every schema names its
endpoints, and a bad config fails with a message naming the culprit."""
import json
import os
import sys

import pytest

import toolchain

sys.path.insert(0, toolchain.FIRMWARE)
import app  # noqa: E402

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


@pytest.mark.parametrize("board", BOARDS)
def test_manifest_lists_existing_modules(board):
    seen = {"modules": [], "packages": []}
    here = os.path.join(BOARDS_DIR, board)

    def module(name, base_path=".", opt=None):
        path = os.path.normpath(os.path.join(here, base_path, name))
        assert os.path.exists(path), path
        seen["modules"].append(name)

    def package(name, base_path=".", opt=None, files=None):
        path = os.path.normpath(os.path.join(here, base_path, name))
        assert os.path.isdir(path), path
        seen["packages"].append(name)

    env = {"metadata": lambda **kw: None, "include": lambda *a, **kw: None,
           "module": module, "package": package, "require": lambda *a, **kw: None}
    with open(os.path.join(here, "manifest.py")) as f:
        exec(compile(f.read(), "manifest.py", "exec"), env)
    assert seen["packages"] == ["sedsnet"]
    other_hw = "hw_machine.py" if board == "feather_rp2040_rfm" else "hw_circuitpython.py"
    for needed in sorted(os.listdir(toolchain.FIRMWARE)):
        if needed.endswith(".py") and needed != other_hw:
            assert needed in seen["modules"], (board, needed)


def test_bad_config_names_the_side(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"hostname": "x", "sides": [{"name": "RADIO", "type": "zigbee"}]}))
    with pytest.raises(ValueError) as e:
        app.load_config(str(p))
    assert "RADIO" in str(e.value) and "zigbee" in str(e.value)
    p.write_text(json.dumps({"sides": []}))
    with pytest.raises(ValueError) as e:
        app.load_config(str(p))
    assert "hostname" in str(e.value)


@pytest.mark.parametrize("board", BOARDS)
def test_router_options_of_each_board(board):
    import sedsnet
    cfg = app.load_config(os.path.join(BOARDS_DIR, board, "config.json"))
    router = app.make_router(sedsnet, cfg, [])
    opts = cfg["router"]
    assert router.budget.total == opts["max_queue_budget"] <= 16384  # a small-heap budget
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
    assert router.budget.total == gw["router"]["max_queue_budget"]
    assert router.export_runtime_stats()["route_modes"] == []


def test_bad_route_mode_is_named():
    import sedsnet
    with pytest.raises(ValueError) as e:
        app.make_router(sedsnet, {"hostname": "x", "router": {"route_mode": "Broadcast"}}, [])
    assert "Broadcast" in str(e.value) and "Fanout" in str(e.value)
    plain = app.make_router(sedsnet, {"hostname": "x"}, [])  # no "router": 4.2.7's defaults
    assert plain.budget.total == 102400 and plain.export_runtime_stats()["route_modes"] == []
