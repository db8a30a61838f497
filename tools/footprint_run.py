# MicroPython script (issue 10): the code footprint of the core library, loaded from .mpy.
# Prints one JSON line: heap taken by the code of `import sedsnet` + a Router with one plain
# side (discovery=False), the sedsnet modules that loaded it, and the modules that a typed log
# call, a named constant and a tuning call load afterwards (each feature on its first use).
import gc
import json
import sys


def mods():
    return sorted(k for k in sys.modules if k.startswith("sedsnet"))


gc.collect()
base = gc.mem_alloc()
import sedsnet  # noqa: E402 (measured: the heap before and after this import)

Router = sedsnet.Router
gc.collect()
code = gc.mem_alloc() - base
out = []
r = Router(hostname="fp", now_ms=lambda: 0, discovery=False)
r.add_side_packed("UART", out.append)
core = mods()
res = {"code": code, "core": core}
before = set(mods())
try:
    r.log_u8(999999, [1])  # unknown type: refused, but the helper module is loaded for it
except sedsnet.SedsError:
    pass
res["log_u8"] = sorted(set(mods()) - before)
before = set(mods())
res["FLOAT32"] = sedsnet.FLOAT32
res["const"] = sorted(set(mods()) - before)
before = set(mods())
res["tuning_retries"] = sedsnet.runtime_tuning_config()["max_handler_retries"]
res["tuning"] = sorted(set(mods()) - before)
print(json.dumps(res))
