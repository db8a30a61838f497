# Our Routers and Relays in a MicroPython process, on one fake clock, driven by the same JSON
# commands as ref_router_lab.py (the reference's lab; both are router_lab.RouterLab), so a test
# can build one network out of both.
import sedsnet
import stdio_link
from router_lab import RouterLab
from sedsnet.relay import Relay
from sedsnet.router import Router

# ours drains its queues inside each call; a frame a lab link refuses is counted on its side
_lab = RouterLab(sedsnet, Router, Relay, sedsnet.SedsError, settle=False, quiet_links=True,
                 relay_hostname=True)


def _e2e_key(cmd):
    sedsnet.register_e2e_key(cmd["key_id"], bytes.fromhex(cmd["key"]))
    return {"rc": 0}


_lab.handlers["e2e_key"] = _e2e_key
stdio_link.serve(_lab.handlers)
