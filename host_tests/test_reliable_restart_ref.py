"""A hop-reliable side whose far end restarts (a board reboots: a fresh Router, its sequence
counters from 1, on the same link), 4.2.7 against ours, the same script in two processes: Router
A (the handler) and Router B on reliable sides, B logs a plain type to A every 500 ms, at 10 s
B is replaced by a new Router. 4.2.7 keeps both ends' old counters: the new B never learns A's
endpoint (A's ADDRESS frames are held behind the seq 1 B waits for, B's own are dropped as old)
and its telemetry stops about 6 s after the restart. Ours takes the streams up again
(lib/sedsnet/reliable.py HopReliable._restarted; dual test: dual/test_reliable_restart.py)."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import json, sys
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet as s
s.register_endpoint(101, "EPB", False, "")
s.register_data_type(3002, "PLAIN", False, 0, 2, 0, [101], reliable=0)
rel = sys.argv[3] == "1"
t = [0]
q = []
got = []
A = s.Router(hostname="A", now_ms=lambda: t[0],
             handlers=[(101, lambda p: got.append(t[0]), None)])
sa = A.add_side_packed("r", lambda f: q.append((1, bytes(f))), reliable_enabled=rel)
def boot():
    b = s.Router(hostname="B", now_ms=lambda: t[0])
    return b, b.add_side_packed("r", lambda f: q.append((0, bytes(f))), reliable_enabled=rel)
B, sb = boot()
def pump():
    while q:
        d, f = q.pop(0)
        if d == 0:
            A.receive_packed_from_side(sa, f)
        else:
            B.receive_packed_from_side(sb, f)
sent = [0, 0]
while t[0] < 40000:
    t[0] += 50
    if t[0] == 10000:
        B, sb = boot()
    if t[0] % 500 == 0:
        B.log_bytes(3002, b"\x01")
        sent[t[0] >= 10000] += 1
    for r in (A, B):
        r.periodic(0)
        pump()
        if hasattr(r, "process_all_queues"):
            r.process_all_queues()
            pump()
after = [g for g in got if g >= 10000]
print(json.dumps({"before": [sent[0], len(got) - len(after)], "after": [sent[1], len(after)],
                  "last": got[-1] if got else None}))
"""


def _run(kind, reliable):
    return run_script(SCRIPT, kind, toolchain.LIB, "1" if reliable else "0")


def test_restart_on_a_reliable_side_stalls_in_4_2_7_not_in_ours():
    ref, ours = _run("ref", True), _run("ours", True)
    assert ref["before"] == [19, 19] and ours["before"] == [19, 19]
    # 4.2.7: the new B's telemetry stops for good a few seconds after its restart
    assert ref["after"][0] == 61 and ref["after"][1] < 20 and ref["last"] < 20000
    # ours: it keeps arriving (a second or so without a route while B learns A again)
    assert ours["after"][0] == 61 and ours["after"][1] >= 57 and ours["last"] == 40000


def test_restart_on_a_plain_side_is_fine_in_both():
    for kind in ("ref", "ours"):
        r = _run(kind, False)
        assert r["after"] == [61, 61], (kind, r)
