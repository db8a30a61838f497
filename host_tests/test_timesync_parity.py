"""Time sync, ours against 4.2.7: the same script in two processes (the packages share the
name `sedsnet`). TIME_SYNC ANNOUNCE and RESPONSE frames byte for byte, the REQUEST's shape,
the clock setters and network_time(), the slew of a later set, log timestamps, what a
consumer takes from an announce, who announces (role, promotion, a set time), when a
Consumer whose source went silent promotes itself, what a Source does on hearing a better
or a worse one, and which options each refuses."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import json, sys
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet as seds
T = [1000]
now = lambda: T[0]
res = {}
seds.register_endpoint(101, "RADIO")
seds.register_data_type(3003, "F1", True, 1, 1, 0, [101])
out = []
src = seds.Router(hostname="TSP_SRC", now_ms=now, timesync_role=1, timesync_priority=7)
sid = src.add_side_packed("A", lambda f: out.append(bytes(f)))
src.set_local_network_datetime_millis(2026, 1, 1, 12, 0, 0, 0)
for t in (1000, 1500, 2000, 2600, 3000):
    T[0] = t
    src.periodic(0)
ty = lambda f: seds.peek_header_py(f)["ty"]
res["announce"] = [f.hex() for f in out if ty(f) == 4]
req = seds.make_packet(5, "TSP_CON", [200], 1234, bytes([3, 0, 0, 0, 0, 0, 0, 0])
                       + (1767268801111).to_bytes(8, "little")).pack()
n = len(out)
T[0] = 3100
src.receive_packed_from_side(sid, req)
res["response"] = [f.hex() for f in out[n:] if ty(f) == 6]
out.clear()
T[0] = 1000
bare = seds.Router(hostname="TSP_BARE", now_ms=now, timesync_role=1)
bare.add_side_packed("A", lambda f: out.append(bytes(f)))
bare.periodic(0)
res["bare_announce"] = [seds.unpack_packet_py(f).payload.hex() for f in out if ty(f) == 4]
res["bare_time"] = bare.network_time_ms()
# a consumer hearing an announce of a sender it cannot name (another process's)
got = []
con = seds.Router(hostname="TSP_CON2", now_ms=now,
                  handlers=[(101, lambda p: got.append(p.timestamp_ms), None)])
csid = con.add_side_packed("A", lambda f: out.append(bytes(f)))
before = con.network_time_ms()
ann = seds.make_packet(4, "FOREIGN", [200], 1767268800000,
                       (5).to_bytes(8, "little") + (1767268800000).to_bytes(8, "little")).pack()
T[0] = 5000
con.receive_packed_from_side(csid, ann)
res["consumer"] = [before, con.network_time_ms()]
T[0] = 5250
con.log_f32(3003, [1.0])
res["log_stamp"] = got
# setters, the dict, slew
def probe(calls, at=None):
    T[0] = 1000
    r = seds.Router(hostname="TSP_SET", now_ms=now)
    for name, args in calls:
        try:
            getattr(r, name)(*args)
        except Exception as e:
            return "raised"
    if at is not None:
        T[0] = at
    return [r.network_time_ms(), r.network_time()]
res["setters"] = [
    probe([("set_local_network_datetime_millis", (2026, 1, 1, 12, 0, 0, 0))], 1500),
    probe([("set_local_network_date", (2026, 2, 3))]),
    probe([("set_local_network_time_hms", (1, 2, 3))]),
    probe([("set_local_network_date", (2026, 2, 3)), ("set_local_network_time_hm", (4, 5))]),
    probe([("set_local_network_date", (2026, 2, 3)),
           ("set_local_network_time_hms_millis", (4, 5, 6, 7))]),
    probe([("set_local_network_time_hms", (4, 5, 6)), ("set_local_network_date", (2026, 2, 3))]),
    probe([("set_local_network_datetime", (2026, 2, 30, 0, 0, 0))]),
    probe([("set_local_network_datetime_nanos", (2026, 1, 1, 0, 0, 0, 1500000))]),
    probe([("set_local_network_datetime", (2026, 1, 1, 0, 0, 0)),
           ("set_local_network_datetime", (2026, 1, 1, 0, 0, 1))], 21000),
    probe([("set_local_network_datetime", (2026, 1, 1, 0, 0, 1)),
           ("set_local_network_datetime", (2026, 1, 1, 0, 0, 0))], 11000),
]
slew = []
T[0] = 1000
r = seds.Router(hostname="TSP_SLEW", now_ms=now)
r.set_local_network_datetime(2026, 1, 1, 0, 0, 0)
base = r.network_time_ms()
r.set_local_network_datetime(2026, 1, 1, 0, 0, 1)
for t in range(1000, 3001, 7):
    T[0] = t
    slew.append(r.network_time_ms() - base - (t - 1000))
res["slew"] = slew
# who announces: role x promotion x a set time; a Consumer whose source went silent
ann = []
for role, promo, settime in ((0, True, True), (0, False, True), (2, True, True),
                             (2, True, False), (0, True, False)):
    box = []
    T[0] = 1000
    r = seds.Router(hostname="TSP_R%d%d%d" % (role, promo, settime), now_ms=now,
                    timesync_role=role, timesync_consumer_promotion_enabled=promo)
    r.add_side_packed("A", lambda f: box.append(ty(bytes(f))))
    if settime:
        r.set_local_network_datetime(2026, 1, 1, 0, 0, 0)
    for t in range(1000, 4001, 100):
        T[0] = t
        r.periodic(0)
    ann.append(4 in box)
res["who_announces"] = ann
box = []
T[0] = 1000
c = seds.Router(hostname="TSP_PROMO", now_ms=now)
reqs = []
csid = c.add_side_packed("A", lambda f: (box.append((T[0], ty(bytes(f)))),
                                         ty(bytes(f)) == 5 and reqs.append(bytes(f))))
for t in range(1000, 12001, 100):
    T[0] = t
    if t <= 4000 and t % 1000 == 0:
        c.receive_packed_from_side(csid, seds.make_packet(
            4, "TSP_GONE", [200], 5, (50).to_bytes(8, "little")
            + (1767268800000 + t).to_bytes(8, "little")).pack())
    c.periodic(0)
res["promoted_at"] = [t for t, k in box if k == 4][:2]
q = seds.unpack_packet_py(reqs[0])
res["request"] = [reqs[0][0], [int(e) for e in q.endpoints], len(q.payload),
                  int.from_bytes(q.payload[:8], "little"),
                  int.from_bytes(q.payload[8:], "little"), q.timestamp_ms - 1767268800000,
                  box.index((1000, 5)) >= 0]
# a Source hearing a better (50) or a worse (200) source, with and without its own time
srcs = []
for other in (50, 200):
    for own in (False, True):
        box = []
        T[0] = 1000
        a = seds.Router(hostname="TSP_S%d%d" % (other, own), now_ms=now, timesync_role=1)
        asid = a.add_side_packed("A", lambda f: box.append((T[0], ty(bytes(f)))))
        if own:
            a.set_local_network_datetime(2026, 1, 1, 0, 0, 0)
        for t in range(1000, 8001, 100):
            T[0] = t
            if t % 1000 == 0 and t <= 4000:
                a.receive_packed_from_side(asid, seds.make_packet(
                    4, "TSP_OTHER", [200], 5, other.to_bytes(8, "little")
                    + (1767268800000 + t).to_bytes(8, "little")).pack())
            a.periodic(0)
        srcs.append([[t for t, k in box if k == 4], 1000 in [t for t, k in box if k == 5],
                     a.network_time_ms() - 1767268800000])
res["sources"] = srcs
refused = {}
for name, make in (("role3", lambda: seds.Router(now_ms=now, timesync_role=3)),
                   ("cfg_role3", lambda: seds.Router(now_ms=now).configure_timesync(role=3))):
    try:
        make()
        refused[name] = None
    except Exception as e:
        refused[name] = type(e).__name__
res["refused"] = refused
print(json.dumps(res))
"""


def _run(kind):
    return run_script(SCRIPT, kind, toolchain.LIB)

def test_time_sync_matches_the_reference():
    ref = _run("reference")
    ours = _run("ours")
    assert len(ref["announce"]) == 3  # every 1000 ms from the first periodic
    assert ours["announce"] == ref["announce"]
    assert len(ref["response"]) == 1 and ours["response"] == ref["response"]
    assert ours["bare_announce"] == ref["bare_announce"]  # [priority 100, uptime 1000]
    assert ours["bare_time"] is None and ref["bare_time"] is None
    assert ours["consumer"] == ref["consumer"] == [None, 1767268800000]
    assert ours["log_stamp"] == ref["log_stamp"] == [1767268800250]
    assert ours["setters"] == ref["setters"]
    assert ours["slew"] == ref["slew"]
    assert ours["who_announces"] == ref["who_announces"] == [True, False, True, False, False]
    assert ours["promoted_at"] == ref["promoted_at"] == [9100, 10100]  # timeout 5000 after 4000
    # t1 = the local clock (now_ms), the header stamp = the network time; (a 4.2.7 consumer
    # requests only when it can name the source: in one process, as here)
    assert ours["request"] == ref["request"] == [8, [200], 16, 1, 1000, 1000, True]
    # a better source silences a Source, which follows it (slews: 350 ms over 7 s); a worse
    # one lends its time to a Source without one, which announces on
    assert ours["sources"] == ref["sources"]
    assert ref["sources"][0] == [[], True, 8000] and ref["sources"][1][:2] == [[], True]
    assert ref["sources"][2][0] == list(range(1000, 8001, 1000))
    assert ref["refused"] == {"role3": "ValueError", "cfg_role3": "ValueError"}
    assert ours["refused"] == {"role3": "ArgumentError", "cfg_role3": "ArgumentError"}
