# Router options (issue 11, dead code): options no module implements yet are checked as 4.2.7
# checks them and not stored; address_mode/requested_address work through configure_address
# (options.py, loaded on first use); export_runtime_stats() reports E2E ACKs not sent.
from sedsnet import ArgumentError, Relay, Router
from support import raises


def test_router_keeps_no_options_dict():
    r = Router(discovery=False, timesync_role=1, e2e_mode=3)
    assert not hasattr(r, "options")
    assert not hasattr(Router(discovery=False), "options")


def test_bad_option_values_are_still_refused_naming_the_option():
    for kw in ({"timesync_role": 3}, {"e2e_mode": 256}, {"timesync_enabled": "yes"},
               {"timesync_priority": 100.0}, {"address_mode": -1}, {"requested_address": 1 << 32}):
        e = raises(ArgumentError, Router, discovery=False, **kw)
        assert next(iter(kw)) in str(e), (kw, str(e))


def test_address_modes_work_through_configure_address():
    dyn = Router(hostname="N1", discovery=False)
    assert Router(hostname="N1", discovery=False, address_mode=0,
                  requested_address=9).current_address == dyn.current_address
    assert Router(hostname="N1", discovery=False, address_mode=2,
                  requested_address=7).current_address == 7
    assert Router(hostname="N1", discovery=False, address_mode=1).current_address == 1
    r = Router(hostname="N1", discovery=False)
    r.configure_address(2, 55)
    assert r.current_address == 55
    r.configure_address()
    assert r.current_address == dyn.current_address
    raises(ArgumentError, r.configure_address, 3, 0)


def test_runtime_stats_report_e2e_acks_not_sent():
    assert Router(discovery=False).export_runtime_stats()["e2e_unacked"] == 0
    assert Relay(discovery=False).export_runtime_stats()["e2e_unacked"] == 0
