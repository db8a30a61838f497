# Reference router lab: reference sedsnet 4.2.7 Routers and Relays in their own CPython process,
# on one fake clock, driven as black boxes by the JSON commands of router_lab.RouterLab (also
# behind mp_router_lab.py) from host_tests/test_reference_router_facts.py, netlab.py, ...
import sedsnet as ref

import stdio_link
from router_lab import RouterLab

# the reference queues what it receives (process_all_queues after each input) and raises
# its own exception types; its Relay takes no hostname
_lab = RouterLab(ref, ref.Router, ref.Relay, Exception, settle=True, quiet_links=False,
                 relay_hostname=False)


def _e2e_key(cmd):
    """{"key_id", "key": hex}: a software key through the exported C API (the reference's
    Python has no key call); the keyring is process-wide."""
    import ctypes

    import sedsnet.sedsnet as native
    key = bytes.fromhex(cmd["key"])
    rc = ctypes.CDLL(native.__file__).seds_crypto_register_software_key(
        ctypes.c_uint32(cmd["key_id"]), key, ctypes.c_size_t(len(key)))
    return {"rc": rc}


_lab.handlers["e2e_key"] = _e2e_key
stdio_link.serve(_lab.handlers)
