"""Issue 11 "Structure others would copy": the shape of lib/sedsnet, checked on the sources
(CPython). Modules stay small enough to compile on a board; each job has one module."""
import os

import toolchain

PKG = os.path.join(toolchain.LIB, "sedsnet")
MAX_LINES = 420  # "about 400" (STYLE.md)
NOT_OURS = set()  # (modules exempt from these checks: none since the kernels were split)
VIPER_ONLY = {"_fast.py", "_fast_frame.py", "_fast_sdt.py"}  # only under MicroPython (as text)


def _modules():
    return sorted(n for n in os.listdir(PKG) if n.endswith(".py"))


def _source(name):
    with open(os.path.join(PKG, name)) as f:
        return f.read()


def test_every_library_module_is_about_400_lines_or_fewer():
    long = {}
    for name in _modules():
        n = _source(name).count("\n")
        if n > MAX_LINES and name not in NOT_OURS:
            long[name] = n
    assert not long, long


def test_control_dispatch_and_logging_api_have_their_own_modules():
    # the hooks feature modules use stay on the classes; their bodies live in one place each
    import sys
    sys.path.insert(0, toolchain.LIB)
    from sedsnet import control, engine, router, router_log
    for name in ("_control", "_deliver", "_send", "send_control", "periodic", "_hop_ack"):
        assert hasattr(engine.Engine, name), name
    assert "def dispatch(" in _source("control.py") and "def send(" in _source("control.py")
    for name in ("log", "log_f32", "log_bytes", "_log_raw", "_log_frame", "_originate"):
        assert name in router_log.Logging.__dict__, name
        assert hasattr(router.Router, name), name
    assert callable(control.dispatch)


def test_control_type_codes_come_from_the_consts_table():
    # consts.py is the one table of built-in type codes. Modules that test a code keep a
    # private const() named after its entry (_SEDSNET_<NAME>: MicroPython folds only a
    # module's own consts, and importing consts costs ~7 KB of heap on a board); each must
    # equal the table's entry, and no code spells a control type as a bare number.
    import importlib
    import re
    import sys
    sys.path.insert(0, toolchain.LIB)
    from sedsnet import consts
    mirrors = 0
    literal = re.compile(r"(\bty\b\s*(==|<=|<|>=|>)\s*\d)|(\b[1-9]\d*\s*(<=|<)\s*(hdr\.)?ty\b)|\bTY_[A-Z]")
    for name in _modules():
        if name in NOT_OURS:
            continue
        mod = None if name == "__init__.py" or name in VIPER_ONLY else \
            importlib.import_module("sedsnet." + name[:-3])
        for k, v in sorted(vars(mod).items()) if mod else ():
            if k.startswith("_SEDSNET_"):
                assert getattr(consts, k[1:]) == v, (name, k, v)
                mirrors += 1
        for i, line in enumerate(_source(name).split("\n")):
            code = line.split("#")[0].replace("ty <= 0xFFFFFFFF", "")  # (u32 checks)
            code = code.replace("ty < 0", "")  # (_pure_frame: _u28's -1, "not decoded")
            assert not literal.search(code), "%s:%d: %s" % (name, i + 1, line.strip())
    assert mirrors >= 10, mirrors


def test_the_kernel_choice_is_made_in_kernels_py_only():
    # only kernels.py tries _fast and falls back to _pure
    # (the frame kernels take the CRC kernel from their own runtime's module; the SDT codec
    # takes its feature kernel, _fast_sdt, only where kernels.KIND is "viper")
    twins = {"_fast_frame.py": "from ._fast import", "_pure_frame.py": "from ._pure import",
             "sdt_codec.py": "from ._fast_sdt import"}
    found = [n for n in _modules() if n not in NOT_OURS and n != "kernels.py"
             and ("from ._fast" in _source(n).replace(twins.get(n, "@"), "")
                  or "from ._pure" in _source(n).replace(twins.get(n, "@"), ""))]
    assert not found, found
    assert "KIND = \"viper\"" in _source("kernels.py")


# what a Node shows besides its methods: the read-only interface feature modules use
# (node.Node's docstring); 4.2.7's Router and Relay show no data attributes at all
# (rel, netvar, ts: the feature objects, None until made; instance attributes, not class
# defaults, since the per-frame path reads them)
NODE_INTERFACE = {"discovery", "e2e_src", "hostname", "netvar", "now_ms", "rel", "sender_hash", "sides",
                  "src_addr", "ts"}


def _lib():
    import sys
    if toolchain.LIB not in sys.path:
        sys.path.insert(0, toolchain.LIB)
    import sedsnet
    return sedsnet


def test_router_and_relay_keep_their_internals_private():
    sedsnet = _lib()
    r = sedsnet.Router(discovery=False)
    r.add_side_packed("A", lambda f: None)
    assert {k for k in vars(r) if not k.startswith("_")} == NODE_INTERFACE
    relay = sedsnet.Relay(discovery=False)
    assert {k for k in vars(relay) if not k.startswith("_")} == NODE_INTERFACE


def test_every_public_method_of_router_relay_and_node_has_a_docstring():
    sedsnet = _lib()
    from sedsnet.node import Node
    missing = []
    for cls in (sedsnet.Router, sedsnet.Relay, Node):
        for k in dir(cls):
            v = getattr(cls, k)
            if not k.startswith("_") and (callable(v) or isinstance(v, property)) \
                    and not (getattr(v, "__doc__", None) or "").strip():
                missing.append(cls.__name__ + "." + k)
    assert not missing, missing


def test_router_log_private_consts_equal_the_names_they_stand_for():
    # router_log (and typed_log) keep schema.R_*, routes.LOCAL and wire._OWN as private
    # consts (folded by MicroPython, no module globals on a board): each must equal its
    # source's value
    import sys
    sys.path.insert(0, toolchain.LIB)
    from sedsnet import router_log, routes, schema, typed_log, wire
    for name in ("R_STATIC", "R_MDT", "R_EPS", "R_RELIABLE", "R_E2E", "R_FIXED"):
        assert getattr(router_log, "_" + name) == getattr(schema, name), name
    for name in ("R_STATIC", "R_MDT", "R_EPS", "R_FIXED"):  # typed_log's too
        assert getattr(typed_log, "_" + name) == getattr(schema, name), name
    assert router_log._LOCAL == routes.LOCAL
    assert router_log._OWN == wire._OWN


def test_engine_mirrors_of_other_modules_constants_agree():
    # const() folds only a module's own names: engine keeps copies of the few it reads per
    # frame (an imported name is a dict lookup on every use)
    _lib()
    from sedsnet import consts, engine, forward, routes, wire
    assert engine._LOCAL == forward._LOCAL == routes.LOCAL
    assert forward._ALL_SIDES == (1 << routes.MAX_SIDES) - 1
    assert [forward._SID_OF_BIT[(1 << s) % 37] for s in range(routes.MAX_SIDES)] == \
        list(range(routes.MAX_SIDES))
    assert forward._REL_ACK_ONLY == wire.REL_ACK_ONLY and forward._REL_HAS_SEQ == wire.REL_HAS_SEQ
    assert forward._SEDSNET_P2P_MESSAGE == engine._SEDSNET_P2P_MESSAGE == consts.SEDSNET_P2P_MESSAGE
    assert (forward._D_DUP, forward._D_INGRESS) == (engine.D_DUP, engine.D_INGRESS)
