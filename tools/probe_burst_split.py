"""Probe: how sedsnet 4.2.7 splits a queued burst between equal-cost discovered paths.

    .venv/bin/python tools/probe_burst_split.py [--quick]

Reference nodes only (this imports the reference `sedsnet`, never ours): a Router X with K
sides (2 or 3), each to a reference Router holding endpoint EP1, on one fake clock. After
convergence X gets bursts of N = 1..40 `log_f32(queue=True)` + one `process_all_queues()`,
each at a time X's links have been quiet for over 1 s (the burst opens the windows itself)
and again 1 ms later (same windows), with small (27 B) and large (~185 B) frames, under each
route mode and with route weights. Every data frame's side is recorded, and compared with
the rule written out below (`Rule`), which is replayed from X's own log of sent frames.
Findings: docs/router-interop.md section 9. Prints one line per configuration.
"""
import sys

import sedsnet as ref

EP0, EP1 = 0x1001, 0x1002
SMALL, BIG = 0x2002, 0x2005  # static f32 x2 / dynamic f32, both -> EP1
# 40 distinct floats: 4.2.7 zstd-compresses payloads >= 128 B when smaller; these stay raw
BIG_VALUES = [1.0 + k * 0.7391 + k * k * 0.01337 for k in range(40)]
T = [0]


class Rule:
    """4.2.7's choice with no route mode set (adaptive): per side the samples of every frame
    sent (bytes * 1000 / max(1, ms the tx call took): the fake clock stands still, so bytes *
    1000); peak = the largest sample; a 1 s window of bytes (reset by the first send more than
    1000 ms after it opened; a window opened at t=0 counts as none); usage = window bytes *
    1000 / max(1, now - window start); weight = max(1, max(peak, estimate) - usage). One
    cursor per source: sides that never sent take turns (cursor modulo their count, in side
    order), else the cursor modulo the sum of weights lands in one side's range (side order).
    The cursor advances once per choice."""

    def __init__(self):
        self.peak, self.start, self.wbytes = {}, {}, {}
        self.cursor = 0

    def sent(self, side, n, t):
        self.peak[side] = max(self.peak.get(side, 0), n * 1000)
        if self.start.get(side, 0) == 0 or t - self.start[side] > 1000:
            self.start[side] = t
            self.wbytes[side] = 0
        self.wbytes[side] += n

    def weight(self, side, t):
        s = self.start[side]
        use = 0 if s == 0 else self.wbytes[side] * 1000 // max(1, t - s)
        return max(1, max(self.peak[side], 1) - use)

    def pick(self, sides, t):
        c = self.cursor
        self.cursor += 1
        fresh = [s for s in sides if s not in self.peak]
        if fresh:
            return fresh[c % len(fresh)]
        w = [self.weight(s, t) for s in sides]
        c %= sum(w)
        for s, ws in zip(sides, w):
            if c < ws:
                return s
            c -= ws


def network(k):
    """X and k holders, joined and converged at 3000 ms; returns (X, side IDs, tx log,
    run(to), pump)."""
    T[0] = 0
    pending, txlog, nodes, links = [], [], {}, {}

    def tx_of(name, idx):
        def tx(b):
            b = bytes(b)
            if name == "X":
                txlog.append((T[0], idx, len(b), ref.peek_header_py(b)["ty"]))
            pending.append((name, idx, b))
        return tx
    x = ref.Router(now_ms=lambda: T[0], hostname="X", handlers=[(EP0, lambda p: None, None)])
    xs = [x.add_side_packed("s%d" % i, tx_of("X", i)) for i in range(k)]
    nodes["X"] = (x, xs)
    for i in range(k):
        h = ref.Router(now_ms=lambda: T[0], hostname="H%d" % i,
                       handlers=[(EP1, lambda p: None, None)])
        nodes["H%d" % i] = (h, [h.add_side_packed("s0", tx_of("H%d" % i, 0))])
        links[("X", i)] = ("H%d" % i, 0)
        links[("H%d" % i, 0)] = ("X", i)

    def pump():
        while pending:
            name, idx, b = pending.pop(0)
            d = links[(name, idx)]
            r, ss = nodes[d[0]]
            r.receive_packed_from_side(ss[d[1]], b)
            r.process_all_queues()

    def run(to):
        t = T[0]
        while t <= to:
            T[0] = t
            for r, _ in nodes.values():
                r.periodic(0)
            pump()
            t += 50
    run(3000)
    return x, xs, txlog, run, pump


def probe(k, mode=None, weights=(), ns=range(1, 41), big=False):
    """Bursts of each N (at a quiet time, then 1 ms later); returns (sequences, rule_ok)."""
    x, xs, txlog, run, pump = network(k)
    if mode is not None:
        x.set_source_route_mode(None, mode)
    for side, w in weights:
        x.set_route_weight(None, xs[side], w)
    seqs = []
    t = 4000
    for n in ns:
        for dt in (0, 1):
            run(t + dt - 50)
            T[0] = t + dt
            k0 = len(txlog)
            for i in range(n):
                if big:
                    x.log_f32(BIG, BIG_VALUES + [float(i)], queue=True)
                else:
                    x.log_f32(SMALL, [float(i), 0.0], queue=True)
            x.process_all_queues()
            seqs.append("".join(str(s) for _, s, _, ty in txlog[k0:] if ty in (SMALL, BIG)))
            pump()
        t += 1300
    rule = Rule()
    ok = True
    for t, s, n, ty in txlog:
        if ty in (SMALL, BIG) and mode is None:
            ok = ok and rule.pick(list(range(k)), t) == s
        rule.sent(s, n, t)
    return seqs, ok


def main():
    ref.register_endpoint(EP0, "EP0")
    ref.register_endpoint(EP1, "EP1")
    ref.register_data_type(SMALL, "SMALL", True, 2, 1, 0, [EP1])
    ref.register_data_type(BIG, "BIG", False, 0, 1, 0, [EP1])
    quick = "--quick" in sys.argv
    ns = (1, 2, 5, 12, 40) if quick else range(1, 41)
    configs = [("default", None, ()), ("default + weights 0:3 1:0", None, ((0, 3), (1, 0))),
               ("Fanout (0)", 0, ()), ("Weighted (1)", 1, ()),
               ("Weighted (1) + weights 0:3", 1, ((0, 3),)), ("Failover (2)", 2, ())]
    for k in (2, 3):
        for label, mode, weights in configs:
            for big in (False, True):
                seqs, ok = probe(k, mode, weights, ns, big)
                split = sum(1 for s in seqs if len(set(s)) > 1)
                show = ["%d:%s" % (n, seqs[2 * i]) for i, n in enumerate(ns) if n in (5, 12, 40)]
                print("K=%d %-28s %s frames: %2d/%d bursts split; rule %s; e.g. %s" % (
                    k, label, "big" if big else "small", split, len(seqs),
                    "n/a" if mode is not None else ("agrees" if ok else "DIFFERS"),
                    " ".join(show)))


if __name__ == "__main__":
    main()
