"""boards/*/manifest.py freeze the right modules (every lib/sedsnet module as the package, every
firmware module the board's runtime imports) and include the manifest their MicroPython port
really has; tools/firmware.py (`make firmware`) hands each port's make the board's manifest."""
import os
import sys

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import boards  # noqa: E402
import firmware  # noqa: E402


def _read_manifest(board_name):
    calls = {"include": [], "package": [], "module": [], "metadata": []}
    path = firmware.manifest_of(board_name)
    here = os.path.dirname(path)
    g = {
        "metadata": lambda **kw: calls["metadata"].append(kw),
        "include": lambda p, **kw: calls["include"].append(p),
        "package": lambda name, base_path=".", **kw: calls["package"].append(
            (name, os.path.normpath(os.path.join(here, base_path)))),
        "module": lambda name, base_path=".", **kw: calls["module"].append(
            os.path.normpath(os.path.join(here, base_path, name))),
    }
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), g)
    return calls


def _firmware_modules(skip):
    root = os.path.join(toolchain.REPO, "firmware")
    return sorted(os.path.join(root, n) for n in os.listdir(root)
                  if n.endswith(".py") and n not in skip)


def test_micropython_manifests_freeze_library_and_runtime_and_include_the_port_manifest():
    for name in ("rp2040", "esp32", "pyboard", "unix"):
        calls = _read_manifest(name)
        assert calls["package"] == [("sedsnet", toolchain.LIB)], (name, calls["package"])
        assert sorted(calls["module"]) == _firmware_modules(("hw_circuitpython.py",)), name
        assert calls["include"] == [firmware.PORTS[name][2]], (name, calls["include"])
        assert calls["metadata"] and calls["metadata"][0]["version"]


def test_circuitpython_manifest_lists_its_runtime():
    calls = _read_manifest("feather_rp2040_rfm")
    assert calls["package"] == [("sedsnet", toolchain.LIB)]
    assert sorted(calls["module"]) == _firmware_modules(("hw_machine.py",))
    assert calls["include"] == []


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
