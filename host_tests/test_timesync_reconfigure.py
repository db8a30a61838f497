"""configure_timesync(...) on a Source that has a time, ours against 4.2.7 (two processes: the
packages share the name `sedsnet`). A documented difference (README, time sync): 4.2.7 drops
the Source's time whatever the arguments (even the same role again; a Source still announces,
a Consumer or a disabled one does not); ours keeps the time. Seen first in the simulator's
failover work."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import json, sys
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet as seds
T = [1000]
res = {}
for name, kw in (("same_role", {"role": 1}), ("consumer", {"role": 0}),
                 ("disabled", {"enabled": False})):
    out = []
    T[0] = 1000
    src = seds.Router(hostname="TSR_" + name, now_ms=lambda: T[0], timesync_role=1)
    src.add_side_packed("A", lambda f: out.append(bytes(f)))
    src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
    src.periodic(0)
    before = src.network_time_ms()
    src.configure_timesync(**kw)
    n = len(out)
    for t in (2000, 3000, 4000):
        T[0] = t
        src.periodic(0)
    announces = sum(1 for f in out[n:] if seds.peek_header_py(f)["ty"] == 4)
    res[name] = [before is not None, src.network_time_ms() is not None, announces]
print(json.dumps(res))
"""


def test_configure_timesync_keeps_our_sources_time_where_4_2_7_drops_it():
    ref = run_script(SCRIPT, "reference", toolchain.LIB)
    ours = run_script(SCRIPT, "ours", toolchain.LIB)
    # 4.2.7: the time is gone after any configure_timesync call; a Source announces on
    assert ref == {"same_role": [True, False, 3], "consumer": [True, False, 0],
                   "disabled": [True, False, 0]}, ref
    # ours: the time stays whatever the call; a Source announces on, a disabled one does not
    assert all(ours[k][:2] == [True, True] for k in ref), ours
    assert ours["same_role"][2] == 3 and ours["disabled"][2] == 0, ours
