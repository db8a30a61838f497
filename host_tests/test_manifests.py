"""boards/*/manifest.py include the parts (packages/<part>/manifest.py, tools/packages.py) the
board runs and the manifest their MicroPython port really has; the parts together hold every
module exactly once; tools/firmware.py (`make firmware`) hands each port's make the board's
manifest, and `make mpy`/`make deploy` take exactly what the manifest names."""
import os
import sys

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import boards  # noqa: E402
import build  # noqa: E402
import firmware  # noqa: E402
import manifest  # noqa: E402
import packages  # noqa: E402

NODE = os.path.join(toolchain.FIRMWARE, "sedsnet_node")


def _modules(root, pkg, skip=()):
    return sorted(pkg + "/" + n for n in os.listdir(root) if n.endswith(".py") and n not in skip)


def _dests(board_name):
    return sorted(d for _s, d in manifest.read(firmware.manifest_of(board_name)).files)


def test_micropython_manifests_take_library_runtime_and_their_port_manifest():
    lib = _modules(os.path.join(toolchain.LIB, "sedsnet"), "sedsnet")
    for name in ("rp2040", "esp32", "pyboard", "unix"):
        m = manifest.read(firmware.manifest_of(name))
        dests = sorted(d for _s, d in m.files)
        assert m.port_includes == [firmware.PORTS[name][2]], (name, m.port_includes)
        assert "sedsnet/_fast.py" in dests and "sedsnet/announce.py" in dests, name
        assert "sedsnet_node/hw_machine.py" in dests, name
        assert "sedsnet_node/hw_circuitpython.py" not in dests, name
        # a board takes only the add-ons it uses: no relay, no JSON loader, no export_*
        for unused in ("sedsnet/relay.py", "sedsnet/schema_json.py", "sedsnet/stats.py"):
            assert unused not in dests, (name, unused)
        assert set(dests) <= set(lib) | set(_modules(NODE, "sedsnet_node")), name


def test_circuitpython_manifest_has_no_viper_and_no_machine():
    dests = _dests("feather_rp2040_rfm")
    assert "sedsnet_node/hw_circuitpython.py" in dests and "sedsnet/router.py" in dests
    assert "sedsnet/_fast.py" not in dests and "sedsnet_node/hw_machine.py" not in dests


def test_parts_cover_every_module_once_and_generated_files_are_current():
    seen = []
    for p in packages.PARTS:
        seen += [p[1] + "/" + f for f in packages.files_of(p[0])]
    every = (_modules(os.path.join(toolchain.LIB, "sedsnet"), "sedsnet")
             + _modules(NODE, "sedsnet_node"))
    assert sorted(seen) == sorted(every)  # each module in exactly one part
    for rel, text in packages.outputs().items():
        with open(os.path.join(toolchain.REPO, rel)) as f:
            assert f.read() == text, rel + " is stale: run `python tools/packages.py`"


def test_mpy_build_takes_what_the_manifest_names(tmp_path):
    out = build.build_mpy("rp2040", str(tmp_path / "rp2040"))
    built = sorted(os.path.relpath(os.path.join(r, f), os.path.join(out, "lib"))[:-4] + ".py"
                   for r, _d, fs in os.walk(os.path.join(out, "lib")) for f in fs)
    assert built == _dests("rp2040")


def test_firmware_tool_gives_each_port_the_board_manifest():
    for name, (port, default, _inc, _img) in firmware.PORTS.items():
        cmds = firmware.commands(name, "/mp")
        assert cmds[0] == ["make", "-C", "/mp/mpy-cross", "-j2"]
        assert cmds[1][:3] == ["make", "-C", "/mp/ports/" + port] and cmds[1][-1] == "submodules"
        last = cmds[2]
        assert last[:3] == ["make", "-C", "/mp/ports/" + port]
        assert "FROZEN_MANIFEST=" + firmware.manifest_of(name) in last
        if default:
            assert "BOARD=" + default in last
        assert boards.board(name)["runtime"] == "micropython"
    assert "BOARD=RPI_PICO_W" in firmware.commands("rp2040", "/mp", "RPI_PICO_W")[2]
    m32 = firmware.commands("unix", "/mp", m32=True)[2]
    assert "CFLAGS_EXTRA=-m32" in m32 and "MPY_CROSS_FLAGS=-march=x86" in m32


def test_m32_manifest_keeps_the_parts_without_the_port_manifest():
    m = manifest.read(firmware.m32_manifest())
    assert m.port_includes == [] and sorted(d for _s, d in m.files) == _dests("unix")


def test_one_version_in_one_place():
    version = packages.version()  # lib/sedsnet/__init__.py's __version__
    hand_written = []
    for top in ("boards", "firmware", "tools", "lib"):
        for root, _dirs, files in os.walk(os.path.join(toolchain.REPO, top)):
            for f in files:
                path = os.path.join(root, f)
                if f.endswith((".py", ".json")) and path != packages.__file__:
                    text = open(path).read()
                    if "version=" in text.replace(" ", "") and "metadata(" in text:
                        hand_written.append(path)
                    if '"' + version + '"' in text and not path.endswith("__init__.py"):
                        hand_written.append(path)
    assert hand_written == [], hand_written
    with open(os.path.join(toolchain.REPO, "CHANGELOG.md")) as f:
        assert "\n## " + version + "\n" in f.read()
    with open(os.path.join(toolchain.REPO, "LICENSE")) as f:
        assert f.readline().strip() == "MIT License"
