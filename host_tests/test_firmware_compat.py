"""Issue 11: the firmware takes every runtime difference from sedsnet.compat (const, integer
ticks) instead of repeating a `const` fallback or float time.monotonic() ticks per module."""
import ast
import os

import toolchain

NODE = os.path.join(toolchain.FIRMWARE, "sedsnet_node")
# cobs.py also loads beside the reference sedsnet (tools/ground_station.py, NetSim), which has
# no sedsnet.compat: it keeps its one-line fallback
OWN_CONST = {"cobs.py"}


def _trees():
    for name in sorted(os.listdir(NODE)):
        if name.endswith(".py"):
            with open(os.path.join(NODE, name)) as f:
                yield name, ast.parse(f.read(), name)


def test_firmware_has_no_own_const_fallback_or_float_ticks():
    found = []
    for name, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "micropython" and any(
                    a.name == "const" for a in node.names) and name not in OWN_CONST:
                found.append("%s:%d imports const from micropython" % (name, node.lineno))
            if isinstance(node, ast.FunctionDef) and node.name in (
                    "const", "_ticks_ms", "_ticks_diff", "ticks_ms", "ticks_diff") and not (
                    node.name == "const" and name in OWN_CONST):
                found.append("%s:%d defines %s" % (name, node.lineno, node.name))
            if isinstance(node, ast.Attribute) and node.attr == "monotonic":
                found.append("%s:%d uses time.monotonic" % (name, node.lineno))
    assert not found, found


def test_cobs_imports_beside_the_reference_sedsnet():
    # the ground station's process: the reference package and firmware/, never our lib/
    import subprocess
    code = ("import sys; sys.path.insert(0, %r); import sedsnet; from sedsnet_node import cobs\n"
            "assert not hasattr(sedsnet, 'compat'), sedsnet.__file__\n"
            "buf = bytearray(8)\n"
            "print(bytes(buf[:cobs.encode_into(b'a\\x00b', 3, buf)]).hex())\n"
            % toolchain.FIRMWARE)
    out = subprocess.run([toolchain.reference_python(), "-c", code], capture_output=True,
                         text=True, timeout=60, check=False, env={"PATH": os.environ["PATH"]})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "02610262"


def test_radio_drivers_default_to_the_compat_ticks():
    from sedsnet import compat  # lib/ and firmware/ are on sys.path (conftest.py)
    from sedsnet_node import nrf24l01, radio_queue, sx127x
    # both drivers take their clock defaults from the shared TX queue (radio_queue.py)
    assert issubclass(sx127x.SX127x, radio_queue.RadioQueue)
    assert issubclass(nrf24l01.NRF24L01, radio_queue.RadioQueue)
    mod = radio_queue
    assert mod._ticks_ms is compat.ticks_ms and mod._ticks_diff is compat.ticks_diff
