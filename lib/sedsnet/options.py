# Router constructor options beyond the defaults, and configure_address: loaded only when a
# Router is given a non-default option or configure_address() is called (a board that keeps
# the defaults never loads it). Options are checked as 4.2.7 checks them; time sync and
# E2E read the checked values from Router._opts (in NAMES order).
from . import ids
from .errors import ArgumentError
from .node import flag, opt_int

# Router's options beyond the queues, in the order of Router._opts
NAMES = ("address_mode", "requested_address", "timesync_enabled", "timesync_role",
         "timesync_priority", "timesync_source_timeout_ms", "timesync_announce_interval_ms",
         "timesync_request_interval_ms", "timesync_consumer_promotion_enabled",
         "timesync_max_slew_ppm", "e2e_mode", "e2e_key_id")

# largest value of each option (None: a bool); 4.2.7 takes timesync_role 0..2, e2e_mode a u8
_MAX = (2, 0xFFFFFFFF, None, 2, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
        0xFFFFFFFFFFFFFFFF, None, 0xFFFFFFFF, 0xFF, 0xFFFFFFFF)


def check(values):
    """Check every option as 4.2.7 does (an ArgumentError naming the option)."""
    for i in range(len(values)):
        if _MAX[i] is None:
            flag(values[i], NAMES[i])
        else:
            opt_int(values[i], NAMES[i], _MAX[i])


def configure_address(router, address_mode, requested_address):
    """Router.configure_address (router.py says the modes)."""
    mode = opt_int(address_mode, "address_mode", 0xFF)
    req = opt_int(requested_address, "requested_address", 0xFFFFFFFF)
    if mode > 2:
        raise ArgumentError("address_mode: bad address_mode %d (0 dynamic, 1 requested, "
                            "2 static)" % mode)
    router._address_mode = mode
    if mode == 0:
        router._requested_address = 0
        router._address = ids.node_address(router.hostname)
    else:
        router._requested_address = router._address = req or 1
