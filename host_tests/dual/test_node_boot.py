# sedsnet_node's boot checks: the minimum MicroPython/CircuitPython version is named and
# enforced, and the boot line says which codec kernels run (the library's own choice).
import sys

import sedsnet_node
from support import raises


class Impl:
    def __init__(self, name, version):
        self.name = name
        self.version = version


def test_too_old_micropython_is_refused_with_the_minimum_named():
    e = raises(RuntimeError, sedsnet_node.check_runtime, Impl("micropython", (1, 20, 0)))
    msg = str(e)
    assert "micropython >= 1.23.0" in msg and "runs micropython 1.20.0" in msg, msg
    e = raises(RuntimeError, sedsnet_node.check_runtime, Impl("circuitpython", (8, 2, 10)))
    assert "circuitpython >= 9.0.0" in str(e), str(e)


def test_supported_versions_pass():
    assert sedsnet_node.check_runtime(Impl("micropython", (1, 23, 0, ""))) == "micropython 1.23.0"
    assert sedsnet_node.check_runtime(Impl("micropython", (1, 29, 0))) == "micropython 1.29.0"
    assert sedsnet_node.check_runtime(Impl("circuitpython", (9, 2, 1))) == "circuitpython 9.2.1"
    here = sedsnet_node.check_runtime()
    assert here.startswith(sys.implementation.name + " "), here


def test_banner_names_the_kernels_the_library_chose():
    from sedsnet import wire
    kind, why = sedsnet_node.kernels()
    assert kind == wire.KERNELS, (kind, wire.KERNELS, why)
    line = sedsnet_node.banner()
    assert line.startswith("sedsnet: sedsnet ") and ("kernels: %s (" % kind) in line, line
    import sedsnet
    assert sedsnet.__version__ in line


def test_banner_loads_no_module_the_node_does_not_use():
    # reading sedsnet.KERNELS through the package's lazy __getattr__ would load sedsnet.consts
    # (a module a running node never needs) for the rest of the boot
    before = "sedsnet.consts" in sys.modules
    sedsnet_node.banner()
    assert ("sedsnet.consts" in sys.modules) == before


def test_preload_imports_in_order_and_skips_a_missing_part():
    # (code.py of a CircuitPython board lists its modules, dependencies first)
    sys.modules.pop("sedsnet.wire_parse", None)
    sedsnet_node.preload(("sedsnet.wire", "sedsnet.no_such_part", "sedsnet.wire_parse"))
    assert "sedsnet.wire_parse" in sys.modules and "sedsnet.no_such_part" not in sys.modules
    raises(ImportError, __import__, "sedsnet.no_such_part")


def test_the_board_loads_the_general_frame_parser_with_the_router():
    # the first control frame would load it mid-flight, in whatever holes the heap has left
    from sedsnet_node import app
    sys.modules.pop("sedsnet.wire_parse", None)
    app._import_router()
    assert "sedsnet.wire_parse" in sys.modules
