# app.boot in phases (issue 10, the CircuitPython Feather): the config and its schema are read
# first, then config.py and identity.py are dropped before the library compiles; the config's
# "preload" list is imported next; ConfigError stays one class however often config.py loads.
import json
import sys

import sedsnet
import sedsnet_node
from sedsnet_node import app
from sedsnet_node.config import ConfigError
from support import micropython_only, raises

_TAG = "%s-%d" % (sys.implementation.name, sys.maxsize > (1 << 32))  # two runtimes at once
SCHEMA = {"endpoints": [{"name": "PHZ_FC"}, {"name": "PHZ_GROUND"}],
          "types": [{"name": "PHZ_GPS", "data_type": "Float32", "count": 3,
                     "endpoints": ["PHZ_GROUND"]}]}


def _write(name, text):
    path = "/tmp/sedsnet-phztest-%s-%s" % (_TAG, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _cleanup():
    try:
        sedsnet.remove_data_type_by_name("PHZ_GPS")
    except Exception:
        pass
    for e in ("PHZ_FC", "PHZ_GROUND"):
        try:
            sedsnet.remove_endpoint_by_name(e)
        except Exception:
            pass


def _boot(**extra):
    _cleanup()
    _write("schema.json", json.dumps(SCHEMA))
    cfg = {"hostname": "phztest", "sides": [], "schema": "sedsnet-phztest-%s-schema.json" % _TAG,
           "handlers": ["PHZ_FC"]}
    cfg.update(extra)
    return app.boot(None, _write("config.json", json.dumps(cfg)), lambda *a: None)


def test_boot_drops_the_config_reader_and_identity_before_building():
    mod = "phz_preload_" + _TAG.replace("-", "_")  # a module nothing else imports
    try:
        import os
        os.mkdir("/tmp/sedsnet-phztest-" + _TAG)
    except OSError:
        pass
    with open("/tmp/sedsnet-phztest-%s/%s.py" % (_TAG, mod), "w") as f:
        f.write("LOADED = 1\n")
    sys.path.insert(0, "/tmp/sedsnet-phztest-" + _TAG)
    sys.modules.pop(mod, None)
    loop = _boot(preload=["sedsnet.wire_parse", "sedsnet.no_such_part", mod])
    sys.path.pop(0)
    assert "sedsnet_node.config" not in sys.modules
    assert sys.modules[mod].LOADED == 1
    assert "sedsnet.wire_parse" in sys.modules  # the config's preload list (a missing part skipped)
    sys.modules.pop(mod)
    assert loop.router.hostname == "phztest"
    # the names the schema gave are resolved: the handler's endpoint, the schema's type
    gps = sedsnet.data_type_info_by_name("PHZ_GPS")["id"]
    assert gps == sedsnet.data_type_identity("PHZ_GPS")  # (identity.py loads again on demand)
    assert loop.router._handlers[0][0] == sedsnet.endpoint_identity("PHZ_FC")
    _cleanup()


@micropython_only("CPython's `from .ids import x` asks ids.__getattr__ for __path__, which "
                  "loads identity.py again")
def test_boot_leaves_identity_unloaded():
    _boot()
    assert "sedsnet.identity" not in sys.modules
    d = sedsnet.__dict__  # nor the names it lent the package
    assert "identity" not in d and "endpoint_identity" not in d and "data_type_identity" not in d
    _cleanup()


def test_config_error_is_one_class_across_reloads_of_config_py():
    sys.modules.pop("sedsnet_node.config", None)
    from sedsnet_node import config
    assert config.ConfigError is ConfigError and sedsnet_node.ConfigError is ConfigError
    _boot()  # drops config.py again: a later mistake is still this ConfigError
    e = raises(ConfigError, _boot, router={"route_mode": "Broadcast"})
    assert "router.route_mode" in str(e) and "Fanout" in str(e), str(e)
    e = raises(ConfigError, app.make_router, sedsnet, {"hostname": "x",
                                                       "router": {"route_mode": "Sideways"}}, [])
    assert "Sideways" in str(e), str(e)
    _cleanup()


def test_boot_drops_its_boot_time_helpers():
    _boot()
    assert "sedsnet_node.bootinfo" not in sys.modules
    d = sedsnet_node.__dict__
    assert "banner" not in d and "preload" not in d and "bootinfo" not in d
    assert sedsnet_node.banner().startswith("sedsnet: sedsnet ")  # (loaded again on demand)
    from sedsnet_node import check_runtime, mainloop  # a helper, a submodule: both import
    assert callable(check_runtime) and mainloop.MainLoop is not None
    _cleanup()
