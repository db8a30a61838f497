"""Soak end-to-end reliable delivery against 4.2.7: an origin -> Relay -> holder chain, each
node in its own process on one fake clock (host_tests/netlab.py: the origin is ours in a
MicroPython process or 4.2.7's in a CPython one; the Relay and the holder are 4.2.7's, each in
its own CPython process). Discovery is on, so the origin names the holder in a wire contract
and tracks its E2E ACKs (reliable_origin.py); the sides are plain (no hop reliability), so
every resend is the origin's. Both origins run on the SAME seeded links (tools/linksim.py)
in the same run, one after the other: N packets, half of an ordered type, half of an
unordered one, logged as fast as the 32-packet window allows.

Faults (each lossy direction): 20% loss, 5% duplication, 10% held back 150 ms, 2% single-bit
corruption, the given delay + 0..2 ms jitter. The link from the Relay back to the origin is
delayed but clean: a 4.2.7 Relay drops an origin's resend once every holder's ACK has passed
it, so an ACK lost after it makes any origin exhaust its retries (README, differences).
Discovery runs 3 s on clean links first. Retries are raised on every node
(reliable_max_retries=40), and the holder remembers 1024 packet IDs (max_recent_rx_ids; --recent
128 for the default): a holder, 4.2.7's as ours, delivers a resend again once that many newer
packets have passed since it delivered the first copy, and with 20% loss the ACKs of one packet
are sometimes all lost for that long (4-12 duplicates per 2000 packets at 128, either origin).

Discovery frames cross the same lossy links: the 4.2.7 Relay forgets the holder now and then
(its announcements lost), and the origin with it for a moment (seed 2 at 150 ms: about 500 ms
at t=400 s). A 4.2.7 origin's logs then raise `no discovered route` and, while the Relay still
announces the endpoint but no TOPOLOGY board names the holder, go hop by hop without a contract
(origin_uncontracted_frames), untracked: some are lost and an ordered one may overtake the
stream (ours did the same: 16 such frames, 7 lost, 33 out of order). Ours keeps the contract
to a holder discovery named before that still ACKs (reliable_holders.py): those logs go to the
side of its last ACK, tracked (origin_graced_logs), or wait for the E2E window like any
(in that outage it was full throughout): 0 lost, 0 out of order at 150 ms (README).

Reported per origin: delivered, lost, duplicated, reordered (ordered type: must be 0;
unordered: arrivals after a later packet, allowed), frames per delivered packet (the origin's
data frames, the holder's E2E ACK frames, every data frame on every link), goodput, errors;
the JSON of every run and the per-delay totals on the last line.

    .venv/bin/python tools/soak_e2e.py [-n 2000] [--seeds 1,2,3] [--delays 5,150] [--step 10]
                                       [--recent 1024] [--origins ours,4.2.7] [--json]

Exit status 1 when our origin lost, duplicated or reordered an ordered packet.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "host_tests"))
sys.path.insert(0, os.path.join(REPO, "lib"))  # (this process only parses frames: ours)
sys.path.insert(0, HERE)

from linksim import Duplex  # noqa: E402
from netlab import Net  # noqa: E402
from peerproc import PeerError, micropython_peer, reference_peer  # noqa: E402

from sedsnet.wire import FrameHeader  # noqa: E402

EP = 0x1301
ORD, UNO = 0x2301, 0x2302
SCHEMA = [["register_endpoint", EP, "SE_H"],
          ["register_data_type", ORD, "SE_ORD", False, 0, 2, 0, [EP], 1],
          ["register_data_type", UNO, "SE_UNO", False, 0, 2, 0, [EP], 2]]
FAULTS = {"loss": 0.2, "dup": 0.05, "reorder": 0.1, "hold_ms": 150, "corrupt": 0.02,
          "jitter_ms": 2}
TUNING = {"reliable_max_retries": 40}
WARMUP_MS = 3000
PER_STEP = 8  # at most this many logs per type per step (the window stops them sooner)
HOLDER_RECENT = 1024
IDLE_MS = 60000  # give up when nothing new arrives for this long (the rest counts as lost)
ORIGIN_LAB = {"ours": "mp", "4.2.7": "ref"}
_h = FrameHeader(max_endpoints=8)


def open_net():
    """The four processes: ours (MicroPython), three references (origin, Relay, holder)."""
    ref = reference_peer("ref_router_lab.py")
    mp = micropython_peer("mp_router_lab.py", "8M")
    rr = reference_peer("ref_router_lab.py")
    rh = reference_peer("ref_router_lab.py")
    net = Net(ref, mp, SCHEMA)
    net.add_lab("rr", rr)
    net.add_lab("rh", rh)
    return net, (ref, mp, rr, rh)


def _step(net, t, step, errors):
    """netlab.Net.run's step, with a node's periodic() error counted instead of raised."""
    for key, lab in net.labs.items():
        try:
            lab.call("run", **{"from": t, "to": t, "step": step})
        except PeerError as e:
            errors.append([t, key, "periodic", str(e)[-200:]])
    net.t = t
    net.shuttle()


def _classify(frame):
    try:
        _h.parse(frame)
    except Exception:
        return "other"
    if _h.ty in (ORD, UNO):
        return "data" if _h.contract_start >= 0 else "plain"
    if _h.ty == 1 and _h.contract_start >= 0:
        return "ack"
    return "other"


def run_chain(net, origin, n, seed, delay_ms, step=10, recent=HOLDER_RECENT):
    """One origin (ours or 4.2.7) through the Relay to the holder; returns its figures."""
    net.reset(seed)
    for lab in net.labs.values():
        lab.call("fn", fn="set_runtime_tuning_config", kw=TUNING)
    net.node(ORIGIN_LAB[origin], "O", 1)
    net.node("rr", "R", 2, relay=True)
    net.node("rh", "H", 1, handlers=[EP], kw={"max_recent_rx_ids": recent})
    clean = {"delay_ms": delay_ms, "jitter_ms": FAULTS["jitter_ms"]}
    o_r = Duplex(seed=1000 * seed + 1, **clean)
    r_h = Duplex(seed=1000 * seed + 2, **clean)
    net.link("O", 0, "R", 0, sim=o_r)
    net.link("R", 1, "H", 0, sim=r_h)
    errors = []
    t = 0
    while t < WARMUP_MS:
        _step(net, t, step, errors)
        t += step
    lossy = (o_r.a_to_b, r_h.a_to_b, r_h.b_to_a)
    for sim in lossy:
        for k, v in FAULTS.items():
            setattr(sim, k, v)
    del net.trace[:]
    net.got("H")
    t0 = t
    half = n // 2
    total = {ORD: half, UNO: n - half}
    nxt = {ORD: 0, UNO: 0}
    got = {ORD: [], UNO: []}
    when = {ORD: [], UNO: []}  # delivery times, beside got
    window_full = 0
    last_new = t
    last_delivery = t
    wall = time.time()
    lab = net.labs[ORIGIN_LAB[origin]]
    while True:
        cmds = []
        for k in range(PER_STEP):
            for ty in (ORD, UNO):
                if nxt[ty] + k < total[ty]:
                    cmds.append({"op": "log_bytes", "node": "O", "ty": ty,
                                 "payload": (nxt[ty] + k).to_bytes(4, "little").hex()})
        if cmds:
            lab.call("at", t=t)
            res = lab.call("batch", cmds=cmds)["results"]
            failed = set()
            for c, r in zip(cmds, res):
                ty = c["ty"]
                if r.get("error") is None:
                    if ty in failed:  # (a value skipped: the soak's own bookkeeping fails)
                        raise RuntimeError("a log went through after a refused one")
                    nxt[ty] += 1
                    continue
                failed.add(ty)
                if "window full" in r["error"]:
                    window_full += 1
                else:
                    errors.append([t, "O", "log", r["error"]])
            net.shuttle()
        _step(net, t, step, errors)
        new = 0
        for at, _ep, ty, pl in net.got("H"):
            got[ty].append(int.from_bytes(bytes.fromhex(pl), "little"))
            when[ty].append(at)
            new += 1
        if new:
            last_new = last_delivery = t
        seen = len(set(got[ORD])) + len(set(got[UNO]))
        if seen >= n and nxt[ORD] >= total[ORD] and nxt[UNO] >= total[UNO]:
            break
        if t - last_new > IDLE_MS:
            break
        t += step
    # a settling second: late duplicates show, the last ACKs reach the origin
    for _ in range(1000 // step):
        t += step
        _step(net, t, step, errors)
        for at, _ep, ty, pl in net.got("H"):
            got[ty].append(int.from_bytes(bytes.fromhex(pl), "little"))
            when[ty].append(at)
    rel = net.call("O", "export_runtime_stats")["reliable"]
    frames = {}
    for name in "ORH":
        frames[name] = {"data": 0, "plain": 0, "ack": 0, "other": 0}
    for _t, name, _side, frame in net.trace:
        frames[name][_classify(bytes.fromhex(frame))] += 1
    for f in frames.values():  # ("plain": data without a contract, sent while discovery
        f["data"] += f["plain"]  # knew no holder: hop by hop, untracked, as 4.2.7)
    ords, unos = got[ORD], got[UNO]
    delivered = len(set(ords)) + len(set(unos))
    ooo = 0
    high = -1
    for v in ords:
        if v < high:
            ooo += 1
        high = max(high, v)
    uno_late = 0
    high = -1
    for v in unos:
        if v < high:
            uno_late += 1
        high = max(high, v)
    dups = []  # the first few packets delivered more than once: (type, value, times)
    for ty in (ORD, UNO):
        for v in sorted({x for x in got[ty] if got[ty].count(x) > 1})[:3]:
            dups.append([ty, v, [w for x, w in zip(got[ty], when[ty]) if x == v]])
    ms = max(1, last_delivery - t0)
    d = max(1, delivered)
    res = {
        "origin": origin, "seed": seed, "delay_ms": delay_ms, "n": n, "step_ms": step,
        "holder_recent_ids": recent,
        "delivered": delivered, "lost": n - delivered,
        "duplicated": len(ords) + len(unos) - delivered,
        "ordered_out_of_order": ooo, "unordered_reordered": uno_late,
        "origin_data_frames": frames["O"]["data"], "holder_ack_frames": frames["H"]["ack"],
        "origin_uncontracted_frames": frames["O"]["plain"],
        "origin_graced_logs": rel.get("e2e", {}).get("graced"),  # (ours only)
        "relay_data_frames": frames["R"]["data"], "relay_ack_frames": frames["R"]["ack"],
        "data_frames_per_packet": round(frames["O"]["data"] / d, 3),
        "ack_frames_per_packet": round(frames["H"]["ack"] / d, 3),
        "link_data_frames_per_packet": round((frames["O"]["data"] + frames["R"]["data"]) / d, 3),
        "control_frames": sum(f["other"] for f in frames.values()),
        "goodput_pps": round(delivered * 1000.0 / ms, 2),
        "sim_ms": ms, "wall_s": round(time.time() - wall, 1),
        "window_full": window_full, "dups": dups, "errors": errors[:10], "error_count": len(errors),
        "origin_pending_after": rel.get("end_to_end_pending_count"),
        "link_lost": sum(s.stats["lost"] for s in lossy),
        "link_corrupted": sum(s.stats["corrupted"] for s in lossy),
    }
    return res


def totals(results):
    """Per (delay, origin): the sums over seeds and their ratios."""
    out = {}
    for r in results:
        k = "%s@%dms" % (r["origin"], r["delay_ms"])
        a = out.setdefault(k, {"origin": r["origin"], "delay_ms": r["delay_ms"], "runs": 0,
                               "n": 0, "delivered": 0, "lost": 0, "duplicated": 0,
                               "ordered_out_of_order": 0, "origin_data_frames": 0,
                               "holder_ack_frames": 0, "relay_data_frames": 0, "sim_ms": 0})
        a["runs"] += 1
        for f in ("n", "delivered", "lost", "duplicated", "ordered_out_of_order",
                  "origin_data_frames", "holder_ack_frames", "relay_data_frames", "sim_ms"):
            a[f] += r[f]
    for a in out.values():
        d = max(1, a["delivered"])
        a["data_frames_per_packet"] = round(a["origin_data_frames"] / d, 3)
        a["ack_frames_per_packet"] = round(a["holder_ack_frames"] / d, 3)
        a["link_data_frames_per_packet"] = round(
            (a["origin_data_frames"] + a["relay_data_frames"]) / d, 3)
        a["goodput_pps"] = round(a["delivered"] * 1000.0 / max(1, a["sim_ms"]), 2)
    return out


def _ints(argv, flag, default):
    if flag not in argv:
        return default
    return [int(x) for x in argv[argv.index(flag) + 1].split(",")]


def main(argv):
    n = _ints(argv, "-n", [2000])[0]
    seeds = _ints(argv, "--seeds", [1, 2, 3])
    delays = _ints(argv, "--delays", [5, 150])
    step = _ints(argv, "--step", [10])[0]
    recent = _ints(argv, "--recent", [HOLDER_RECENT])[0]
    origins = ("ours", "4.2.7")
    if "--origins" in argv:  # (one of them only, to look into a run)
        origins = argv[argv.index("--origins") + 1].split(",")
    results = []
    for delay in delays:
        for seed in seeds:
            for origin in origins:
                # fresh processes for each run: a 4.2.7 process keeps state across a lab
                # reset (its nonce counter, sender names), so a run repeats exactly only so
                net, procs = open_net()
                try:
                    r = run_chain(net, origin, n, seed, delay, step, recent)
                finally:
                    for p in procs:
                        p.close()
                results.append(r)
                if "--json" not in argv:
                    print("%-6s delay %3d ms seed %d: delivered %d lost %d dup %d "
                          "ooo %d | data %.3f ack %.3f link %.3f frames/pkt | %.1f pkt/s"
                          " | %.0f s" % (origin, delay, seed, r["delivered"], r["lost"],
                                         r["duplicated"], r["ordered_out_of_order"],
                                         r["data_frames_per_packet"],
                                         r["ack_frames_per_packet"],
                                         r["link_data_frames_per_packet"],
                                         r["goodput_pps"], r["wall_s"]), flush=True)
    tot = totals(results)
    if "--json" not in argv:
        print("soak_e2e: %d packets per run (half ordered, half unordered), origin -> 4.2.7 "
              "Relay -> 4.2.7 holder (%d recent IDs), faults %s, seeds %s"
              % (n, recent, FAULTS, seeds))
        print("%-14s %9s %5s %4s %4s %10s %10s %10s %9s" % (
            "origin@delay", "delivered", "lost", "dup", "ooo", "data/pkt", "ack/pkt",
            "link/pkt", "pkt/s"))
        for k, a in sorted(tot.items(), key=lambda kv: (kv[1]["delay_ms"], kv[0])):
            print("%-14s %9d %5d %4d %4d %10.3f %10.3f %10.3f %9.2f" % (
                k, a["delivered"], a["lost"], a["duplicated"], a["ordered_out_of_order"],
                a["data_frames_per_packet"], a["ack_frames_per_packet"],
                a["link_data_frames_per_packet"], a["goodput_pps"]))
    print(json.dumps({"runs": results, "totals": tot}))
    ours = [r for r in results if r["origin"] == "ours"]
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 and r["ordered_out_of_order"] == 0
             for r in ours)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
