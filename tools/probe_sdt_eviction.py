"""Probe of sedsnet 4.2.7's side-transport dictionaries and chunk ids (issue 17): which header
template a profiled side forgets once it holds max_side_transport_templates shapes (sending and
receiving, Router and Relay), and how it numbers chunked frames.

    python tools/probe_sdt_eviction.py [--cases N] [--seed S]

The reference runs in a child process (it never shares a process with our `sedsnet`). It logs
random sequences of distinct header shapes (one f32 type each) with re-uses onto a `template`
side of limit 1..4; this script decodes the kinds (1 full, 2 compact) and template ids it sent
and replays every candidate eviction rule over the same sequence, with 4.2.7's refresh (a known
template goes compact 8 times, then in full once more). It prints, per rule, how many cases it
explains. The receive side: full frames with chosen template ids, then one compact frame of
each; which of those the reference still decodes shows which ids its rx table kept. Chunks: the
message id of each chunked frame against mix64(mix64(0x517CC1B727220A95, sender), chunked bytes)
folded to 32 bits (low ^ high, 0 -> 1), sender = the hostname ("RELAY" for a Relay).
Findings: docs/side-transport.md.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
SHAPES = 8
TYPE0 = 3100
REFRESH = 8
M64 = (1 << 64) - 1

CHILD = r"""
import json, sys, zlib
import sedsnet as seds
cases = json.loads(sys.stdin.read())
seds.register_endpoint(101, "RADIO")
for i in range(%d):
    seds.register_data_type(%d + i, "T%%d" %% i, True, 1, 1, 0, [101])
seds.register_data_type(%d, "BLOB", False, 0, 2, 0, [101])
res = {"tx": [], "relay": [], "rx": [], "chunks": []}
for c in cases["tx"]:
    t = [1000]
    out = []
    r = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    r.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile="template",
                              max_side_transport_templates=c["limit"])
    for s in c["seq"]:
        t[0] += 10
        r.log_f32(%d + s, [1.0])
    st = r.export_runtime_stats()["sides"][0]
    res["tx"].append({"frames": out, "evictions": st["side_transport_template_evictions"],
                      "count": st["side_transport_tx_template_count"]})
for c in cases["relay"]:
    t = [1000]
    out = []
    src = []
    rl = seds.Relay(now_ms=lambda: t[0])
    ps = rl.add_side_packed("plain", lambda f: None)
    rl.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile="template",
                               max_side_transport_templates=c["limit"])
    a = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    a.add_side_packed("x", lambda f: src.append(bytes(f)))
    for s in c["seq"]:
        t[0] += 10
        del src[:]
        a.log_f32(%d + s, [1.0])
        for f in src:
            rl.rx_packed_from_side(ps, f)
        rl.process_all_queues()
    st = rl.export_runtime_stats()["sides"][1]
    res["relay"].append({"frames": out, "evictions": st["side_transport_template_evictions"],
                         "count": st["side_transport_tx_template_count"]})
for c in cases["rx"]:
    t = [1000]
    got = []
    r = seds.Router(hostname="beta", now_ms=lambda: t[0],
                    handlers=[(101, lambda p: got.append(p.ty), None)])
    sid = r.add_side_packed_profile("S", lambda f: None, profile="template",
                                    max_side_transport_templates=c["limit"])
    for f in c["full"]:
        r.receive_packed_from_side(sid, bytes.fromhex(f))
    r.process_all_queues()
    kept = []
    for f in c["compact"]:
        k = len(got)
        try:
            r.receive_packed_from_side(sid, bytes.fromhex(f))
            r.process_all_queues()
        except Exception:
            pass
        kept.append(got[k] - %d if len(got) > k else None)
    st = r.export_runtime_stats()["sides"][0]
    res["rx"].append({"kept": kept, "evictions": st["side_transport_template_evictions"],
                      "count": st["side_transport_rx_template_count"]})
for c in cases["chunks"]:
    t = [1000]
    out = []
    if c["node"] == "relay":
        n = seds.Relay(now_ms=lambda: t[0])
        ps = n.add_side_packed("plain", lambda f: None)
    else:
        n = seds.Router(hostname=c["host"], now_ms=lambda: t[0])
        if c["forward"]:  # (a logging Router has the profiled side only)
            ps = n.add_side_packed("plain", lambda f: None)
    n.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile=c["profile"],
                              max_frame_bytes=c["mf"])
    if c.get("rename"):
        n.set_sender_id(c["rename"])
    if c["node"] == "relay" or c["forward"]:
        src = []
        a = seds.Router(hostname="alpha", now_ms=lambda: t[0])
        a.add_side_packed("x", lambda f: src.append(bytes(f)))
        for i in range(c["count"]):
            t[0] += 10
            a.log_bytes(%d, bytes(range(i, i + c["size"])))
        for f in src:
            (n.rx_packed_from_side if c["node"] == "relay" else n.receive_packed_from_side)(ps, f)
        n.process_all_queues()
    else:
        n.periodic(0)
        for i in range(c["count"]):
            t[0] += 10
            n.log_bytes(%d, bytes(range(i, i + c["size"])))
        n.process_all_queues()
    res["chunks"].append({"frames": out})
print(json.dumps(res))
""" % (SHAPES, TYPE0, TYPE0 + SHAPES, TYPE0, TYPE0, TYPE0, TYPE0 + SHAPES, TYPE0 + SHAPES)


# ---- the frames -------------------------------------------------------------------------------
def mix64(h, data):
    for b in data:
        h ^= b
        h = (h * 0x9E3779B1) & M64
        h ^= h >> 27
    return h


def fold(h):
    return (h & 0xFFFFFFFF) ^ (h >> 32)


def uleb(f, p):
    v = 0
    s = 0
    while True:
        b = f[p]
        p += 1
        v |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return v, p


def shape_hash(fr):
    """4.2.7's 64-bit header-template hash of a canonical frame (its id is fold() of it)."""
    fl = fr[0]
    _, p = uleb(fr, 2)
    size_off = p
    _, p = uleb(fr, p)
    _, p = uleb(fr, p)
    if fl & 0x08:
        _, p = uleb(fr, p)
    src_off = p
    _, p = uleb(fr, p)
    if fl & 0x80:
        for _ in range(fr[1]):
            _, p = uleb(fr, p)
    if fl & 0x04:
        c, p = uleb(fr, p)
        p += c
    h = mix64(0xD1B54A329C7E01F3, [fl & 0xF6])
    h = mix64(h, fr[1:size_off])
    return mix64(h, fr[src_off:p])


def decode(hexframes):
    """[(kind, template id, inner canonical frame or None)] of the SDT frames."""
    out = []
    for x in hexframes:
        f = bytes.fromhex(x)
        if f[:3] != b"SDT":
            continue
        k = f[3]
        tid, p = uleb(f, 4 if k == 1 else 5)
        out.append((k, tid, f[p:-4] if k == 1 else None))
    return out


def observed(hexframes):
    """(kinds, shape hashes) of the wrapped frames a side sent: a full frame's hash from its
    header; a compact one's from the last full frame of its template id (a Relay numbers its
    templates 1, 2, ..., a Router sends fold(hash))."""
    kinds = []
    seq = []
    by_id = {}
    for k, tid, inner in decode(hexframes):
        if k == 1:
            by_id[tid] = shape_hash(inner)
        kinds.append(k)
        seq.append(by_id[tid])
    return kinds, seq


def run_child(cases):
    with tempfile.TemporaryDirectory() as tmp:  # (a private cwd: nothing can shadow a module)
        path = os.path.join(tmp, "probe_child.py")
        with open(path, "w") as f:
            f.write(CHILD)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        out = subprocess.run([PYTHON, path], input=json.dumps(cases), capture_output=True,
                             text=True, cwd=tmp, env=env, timeout=600, check=False)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- candidate rules: each picks the entry to forget (table: list of [key, added, used, n]) ---
def _k(e):
    return e[0]


RULES = {
    "FIFO (oldest added)": lambda t, new, h: min(t, key=lambda e: e[1]),
    "LRU (least recently used)": lambda t, new, h: min(t, key=lambda e: e[2]),
    "MRU added (newest)": lambda t, new, h: max(t, key=lambda e: e[1]),
    "LFU, ties oldest": lambda t, new, h: min(t, key=lambda e: (e[3], e[1])),
    "smallest 64-bit hash": lambda t, new, h: min(t, key=_k),
    "largest 64-bit hash": lambda t, new, h: max(t, key=_k),
    "smallest 32-bit id": lambda t, new, h: min(t, key=lambda e: fold(e[0])),
    "largest 32-bit id": lambda t, new, h: max(t, key=lambda e: fold(e[0])),
    "smallest hash, new one included": lambda t, new, h: min(t + [new], key=_k),
    "slot id mod limit": lambda t, new, h: ([e for e in t if fold(e[0]) % len(t)
                                            == fold(new[0]) % len(t)] or [t[0]])[0],
}


def simulate(rule, seq, limit):
    """Kinds a side with this eviction rule sends for seq (the shapes' 64-bit hashes, in the
    order the side wrapped them, discovery frames included); and its eviction count."""
    table = []
    uses = {}
    kinds = []
    ev = 0
    for step, h in enumerate(seq):
        e = next((x for x in table if x[0] == h), None)
        if e is not None:
            e[2] = step
            e[3] += 1
            if uses[h] < REFRESH:
                uses[h] += 1
                kinds.append(2)
            else:
                uses[h] = 0
                kinds.append(1)
            continue
        kinds.append(1)
        if limit == 0:
            continue
        new = [h, step, step, 0]
        if len(table) >= limit:
            old = rule(table, new, None)
            ev += 1
            if old is new:
                continue
            table.remove(old)
        table.append(new)
        uses[h] = 0
    return kinds, ev


def shape_hashes():
    """The 64-bit hash of each shape, from a 64-template run that sends each once in full."""
    res = run_child({"tx": [{"limit": 64, "seq": list(range(SHAPES))}], "relay": [], "rx": [],
                     "chunks": []})
    got = decode(res["tx"][0]["frames"])
    hashes = [shape_hash(inner) for _, _, inner in got]
    assert [fold(h) for h in hashes] == [tid for _, tid, _ in got], "template id algorithm"
    return hashes, [inner.hex() for _, _, inner in got]


def tx_cases(rng, n):
    cases = []
    for i in range(n):
        limit = 1 + i % 4
        width = min(SHAPES, limit + 1 + rng.randrange(3))
        cases.append({"limit": limit, "seq": [rng.randrange(width) for _ in range(30)]})
    cases.append({"limit": 2, "seq": [0, 1, 0, 2, 0, 1, 2, 1]})  # test_sdt_parity's
    cases.append({"limit": 3, "seq": [0] * 20 + [1, 2, 3, 0]})  # refreshes, then a full table
    return cases


def _sdt(kind, body):
    b = b"SDT" + bytes((kind,)) + body
    return (b + zlib.crc32(b).to_bytes(4, "little")).hex()


def _ul(v):
    o = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        o.append(b | (0x80 if v else 0))
        if not v:
            return bytes(o)


def rx_cases(rng, inners, n):
    """Full frames (template id, shape) into a side of limit 1..4, ids and shapes drawn from
    small pools so both repeat; then one compact frame per id seen (which shape, if any, the
    reference restores for it shows its table)."""
    cases = []
    for i in range(n):
        limit = 1 + i % 4
        pool = rng.sample(range(1, 5000), limit + 2)
        learn = [(rng.choice(pool), rng.randrange(min(SHAPES, limit + 3))) for _ in range(8)]
        full = [_sdt(1, _ul(tid) + bytes.fromhex(inners[s])) for tid, s in learn]
        probe = sorted({tid for tid, _ in learn})
        compact = []
        for k, tid in enumerate(probe):
            inner = bytes.fromhex(inners[0])  # (any shape: the body has no header fields)
            sp = spans(inner)
            # compact body: flags, id, data_size, timestamp, nonce, payload; distinct
            # timestamps and nonces so the duplicate filter lets each one through
            body = bytes((inner[0],)) + _ul(tid) + inner[sp[0]:sp[0] + 1] + _ul(900000 + k)
            if inner[0] & 0x08:
                body += _ul(7000 + k)
            compact.append(_sdt(2, body + inner[sp[2]:-4]))
        cases.append({"limit": limit, "learn": learn, "full": full, "probe": probe,
                      "compact": compact})
    return cases


def spans(fr):
    """(size_off, src_off, hdr_end) of a canonical frame (no contract: our probe frames)."""
    fl = fr[0]
    _, p = uleb(fr, 2)
    size_off = p
    _, p = uleb(fr, p)
    _, p = uleb(fr, p)
    if fl & 0x08:
        _, p = uleb(fr, p)
    src_off = p
    _, p = uleb(fr, p)
    if fl & 0x80:
        for _ in range(fr[1]):
            _, p = uleb(fr, p)
    return size_off, src_off, p


def rx_table(learn, limit, hashes, pick, by_shape, by_id):
    """The id -> shape table a receiver with this rule holds after learn; its evictions.
    pick(table entries [id, shape, order]) -> the entry to forget; by_shape: a known shape under
    a new id replaces its entry (else a second entry); by_id: a known id with another shape is
    overwritten in place (else the old entry stays and is overwritten when...)."""
    t = []
    ev = 0
    for n, (tid, s) in enumerate(learn):
        e = next((x for x in t if x[0] == tid), None)
        if e is not None:
            if by_id:
                if by_shape:
                    t = [x for x in t if x is e or x[1] != s]
                e[1] = s
            continue
        if by_shape:
            e = next((x for x in t if x[1] == s), None)
            if e is not None:
                e[0] = tid
                continue
        if len(t) >= limit:
            t.remove(pick(t, hashes))
            ev += 1
        t.append([tid, s, n])
    return {x[0]: x[1] for x in t}, ev


RX_RULES = {
    "FIFO": lambda t, h: min(t, key=lambda x: x[2]),
    "smallest id": lambda t, h: min(t, key=lambda x: x[0]),
    "largest id": lambda t, h: max(t, key=lambda x: x[0]),
    "smallest 64-bit hash": lambda t, h: min(t, key=lambda x: h[x[1]]),
}


def chunk_cases():
    cases = []
    for node, host, fwd in (("router", "alpha", False), ("router", "GB", False),
                            ("router", "b\u00e9ta", False), ("router", "bravo", True),
                            ("relay", "", True)):
        for profile, mf in (("canonical", 32), ("template", 32), ("ipv6_like", 40)):
            cases.append({"node": node, "host": host, "forward": fwd, "profile": profile,
                          "mf": mf, "count": 3, "size": 60})
    for node in ("router", "relay"):  # renamed after the side was added
        cases.append({"node": node, "host": "alpha", "forward": node == "relay",
                      "profile": "canonical", "mf": 32, "count": 3, "size": 60,
                      "rename": "zulu"})
    return cases


def chunk_check(case, frames):
    sender = (case.get("rename") or ("RELAY" if case["node"] == "relay" else case["host"]))
    sender = sender.encode()
    msgs = {}
    for x in frames:
        f = bytes.fromhex(x)
        if f[:4] == b"SDT\x03":
            msgs.setdefault(f[4:8], []).append(f)
    good = 0
    for mid, parts in msgs.items():
        data = b"".join(p[12:-4] for p in parts)
        want = fold(mix64(mix64(0x517CC1B727220A95, sender), data)) or 1
        good += int.from_bytes(mid, "little") == want
    return good, len(msgs)


def main(argv):
    n = int(argv[argv.index("--cases") + 1]) if "--cases" in argv else 60
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 17
    rng = random.Random(seed)
    hashes, inners = shape_hashes()
    print("shapes (type, 64-bit hash, template id):")
    for i, h in enumerate(hashes):
        print("  %d  %016x  %d" % (TYPE0 + i, h, fold(h)))
    tx = tx_cases(rng, n)
    rx = rx_cases(rng, inners, n // 2)
    ch = chunk_cases()
    res = run_child({"tx": tx, "relay": tx, "rx": rx, "chunks": ch})
    found = []  # (what, explained, cases) of the rules docs/side-transport.md states
    for label, key in (("Router tx", "tx"), ("Relay tx", "relay")):
        print("%s: %d sequences, limits 1-4, shapes re-used" % (label, len(tx)))
        refs = [observed(r["frames"]) for r in res[key]]
        for name, rule in RULES.items():
            ok = 0
            for c, r, (ref, seq) in zip(tx, res[key], refs):
                kinds, ev = simulate(rule, seq, c["limit"])
                ok += kinds == ref and ev == r["evictions"]
            print("  %-34s explains %3d / %d" % (name, ok, len(tx)))
            if name == "smallest 64-bit hash":
                found.append((label, ok, len(tx)))
    print("Router rx: %d tables, full frames (id, shape) with repeats, then a compact per id"
          % len(rx))
    for name, pick in RX_RULES.items():
        for by_shape in (True, False):
            for by_id in (True, False):
                ok = 0
                for c, r in zip(rx, res["rx"]):
                    table, ev = rx_table(c["learn"], c["limit"], hashes, pick, by_shape, by_id)
                    ok += [table.get(i) for i in c["probe"]] == r["kept"] and \
                        ev == r["evictions"] and len(table) == r["count"]
                print("  %-22s %-22s %-20s explains %3d / %d" % (
                    name, "shape re-keyed" if by_shape else "shape twice",
                    "id overwritten" if by_id else "id kept", ok, len(rx)))
                if name == "smallest 64-bit hash" and by_shape and by_id:
                    found.append(("Router rx", ok, len(rx)))
    print("chunk message ids = fold(mix64(mix64(0x517CC1B727220A95, sender), chunked bytes)):")
    good = total = 0
    for c, r in zip(ch, res["chunks"]):
        g, t = chunk_check(c, r["frames"])
        good += g
        total += t
        print("  %-6s %-6s %-8s %-9s mf=%-3d %d / %d messages" % (
            c["node"], c.get("rename") or c["host"] or "-",
            "forward" if c["forward"] else "log", c["profile"],
            c["mf"], g, t))
    found.append(("chunk ids", good, total))
    bad = [f for f in found if f[1] != f[2] or not f[2]]
    print("documented rules: %s" % ("all hold" if not bad else "FAIL %r" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
