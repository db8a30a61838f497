# When does logging or transmitting raise Io("no discovered route")? The same scenario for the
# reference (CPython) and ours (MicroPython); prints one JSON line per case
# (host_tests/test_no_route_parity.py compares them).
import json

import sedsnet as r

E = [0x1A01, 0x1A02, 0x1A03, 0x1A04]
for i in range(4):
    r.register_endpoint(E[i], "NR%d" % i)
r.register_data_type(0x2A01, "NR_PLAIN", True, 1, 1, 0, [E[3]])
r.register_data_type(0x2A02, "NR_REL", False, 0, 1, 0, [E[3]], 1)
r.register_data_type(0x2A03, "NR_REL_PART_LOCAL", False, 0, 1, 0, [E[0], E[3]], 1)
r.register_data_type(0x2A04, "NR_REL_LOCAL", False, 0, 1, 0, [E[0]], 1)
r.register_data_type(0x2A05, "NR_REL_ORDERED", False, 0, 1, 0, [E[3]], 2)
r.register_data_type(0x2A06, "NR_REL_PEER", False, 0, 1, 0, [E[1]], 1)
TYPES = (0x2A01, 0x2A02, 0x2A03, 0x2A04, 0x2A05, 0x2A06)
t = [0]
got = []
_n = [0]


def clock():
    return t[0]


def fresh(nsides, announced):
    """X with nsides sides; announced: a peer router holding E[1] on every side."""
    _n[0] += 1
    x = r.Router(now_ms=clock, hostname="NRX%d" % _n[0],
                 handlers=[(E[0], lambda p: got.append(p.ty), None)])
    q = []
    peers = []
    for i in range(nsides):
        x.add_side_packed("s%d" % i, lambda f, i=i: q.append((i, bytes(f))))
        if announced:
            p = r.Router(now_ms=clock, hostname="NRP%d_%d" % (_n[0], i),
                         handlers=[(E[1], lambda pk: None, None)])
            p.add_side_packed("x", lambda f, i=i: q.append((100 + i, bytes(f))))
            peers.append(p)
    for k in range(40):
        t[0] = k * 50
        x.periodic(0)
        for p in peers:
            p.periodic(0)
        while q:
            i, f = q.pop(0)
            if i >= 100:
                x.receive_packed_from_side(i - 100, f)
            elif peers:
                peers[i].receive_packed_from_side(0, f)
    return x, q


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:
        return "no discovered route" if "no discovered route" in str(e) else "other: " + str(e)


for nsides in (0, 1, 2):
    for announced in (False, True):
        if announced and not nsides:
            continue
        for ty in TYPES:
            for how in ("log", "log_queue", "transmit"):
                x, q = fresh(nsides, announced)
                del got[:]
                if how == "log":
                    res = outcome(lambda: x.log_f32(ty, [1.5]))
                elif how == "log_queue":
                    res = outcome(lambda: (x.log_f32(ty, [1.5], queue=True),
                                           x.process_all_queues()))
                else:
                    eps = list(r.data_type_info(ty)["endpoints"])
                    pkt = r.make_packet(ty, x.sender_id, eps, 0, bytes(4))
                    res = outcome(lambda: x.transmit_message(pkt))
                print(json.dumps([nsides, announced, ty, how, res, len(got)]))
