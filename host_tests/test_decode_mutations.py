"""Decode verdicts over mutated frames, against the reference (sedsnet 4.2.7): valid frames of
many shapes (every frame in host_tests/vectors/*.json and a sample of the contract/reliable
generator of test_decode_differential.py) are mutated with a fixed seed (bit flips, byte
replacements, flags-byte and endpoint-count changes, truncation, insertion, over-long ULEBs),
the CRC recomputed so each mutant reaches the parser, and decoded by both sides with
unpack_packet_py, peek_header_py and a fresh Router's receive_packed_from_side. Accept/reject
must agree everywhere and, when both accept, the decoded fields and who receives the frame.
The deliberate differences (README, "Decode and receive verdicts that differ") that mutants
reach are listed in TOLERATED below and checked to be exactly the ones left."""
import glob
import json
import os
import random
import re
import struct
import zlib

import pytest

import test_decode_differential as tdd
from peerproc import codec_peers

SEED = 4207
# the vector frames' schema (host_tests/vectors: types 100..103 and 200000), registered beside
# test_decode_differential's so their mutants decode as typed frames
VEC_TYPES = [
    (100, "MUT_F32X2", True, 2, 1, 0, [1, 2], 0),
    (101, "MUT_BIN", False, 0, 14, 0, [1], 0),
    (102, "MUT_REL_ORD", False, 0, 14, 0, [1], 1),
    (103, "MUT_REL_UNORD", False, 0, 14, 0, [1], 2),
    (200000, "MUT_BIGID", False, 0, 14, 0, [2], 0),
]
CALLS = tdd.CALLS + [{"call": "register_data_type", "args": list(t[:7]),
                      "kwargs": {"reliable": t[7]}} for t in VEC_TYPES]


def vector_frames():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
    out = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if "frame" in k and isinstance(v, str) and re.match("^([0-9a-f]{2}){6,}$", v):
                    out.add(v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    for path in sorted(glob.glob(os.path.join(here, "*.json"))):
        with open(path) as f:
            walk(json.load(f))
    return [bytes.fromhex(h) for h in sorted(out)]


def seal(body):
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


def uleb_spans(body):
    """(start, end) of the ty, data_size and timestamp ULEBs (the first three after NEP)."""
    spans = []
    p = 2
    for _ in range(3):
        q = p
        while q < len(body) and body[q] & 0x80:
            q += 1
        if q >= len(body):
            break
        spans.append((p, q + 1))
        p = q + 1
    return spans


def mutants(base, rng):
    """A fixed list of (class, frame) mutants of one valid frame."""
    body = bytearray(base[:-4])
    n = len(body)
    out = []
    for _ in range(3):
        b = bytearray(body)
        i = rng.randrange(n)
        b[i] ^= 1 << rng.randrange(8)
        out.append(("bitflip", b))
        b = bytearray(body)
        b[rng.randrange(n)] = rng.randrange(256)
        out.append(("byte", b))
    for bit in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80):
        b = bytearray(body)
        b[0] ^= bit
        out.append(("flags", b))
    b = bytearray(body)
    b[0] = rng.randrange(256)
    out.append(("flags", b))
    for nep in (0, body[1] - 1, body[1] + 1, rng.randrange(256)):
        b = bytearray(body)
        b[1] = nep & 0xFF
        out.append(("nep", b))
    for cut in (2, rng.randrange(2, n), n - 1):
        out.append(("truncate", body[:cut]))
    for _ in range(2):
        i = rng.randrange(2, n + 1)
        out.append(("insert", body[:i] + bytes([rng.randrange(256)]) + body[i:]))
    for (s, e) in uleb_spans(body):
        pad = rng.randrange(1, 8)  # same value, written with pad extra zero groups
        v = body[s:e]
        longer = bytes(v[:-1]) + bytes([v[-1] | 0x80]) + b"\x80" * (pad - 1) + b"\x00"
        out.append(("long_uleb", body[:s] + longer + body[e:]))
    out.append(("crc", bytes(body) + b"\x00\x00\x00\x00"))
    return [(c, m if c == "crc" else seal(m)) for c, m in out]


def mutant_set():
    rng = random.Random(SEED)
    bases = vector_frames()
    gen = tdd.contract_frames()
    bases += rng.sample(gen, 120)
    out = []
    for f in bases:
        out += mutants(f, rng)
    seen = set()
    uniq = []
    for c, m in out:
        if m not in seen:
            seen.add(m)
            uniq.append((c, m))
    return uniq


@pytest.fixture(scope="module")
def peers():
    with codec_peers(CALLS, "32M") as pair:
        yield pair


def verdict_key(r):
    u, p, t = r
    return ((u["ok"], u.get("ty"), u.get("sender"), u.get("endpoints"), u.get("timestamp_ms"),
             u.get("payload_hex")),
            (p["ok"], p.get("ty"), p.get("sender"), p.get("endpoints"), p.get("timestamp_ms")),
            (t["ok"], t.get("got"), t.get("sent")))


def where(a, b):
    """Which entry point disagrees and how: (op, 'we-accept' | 'we-reject' | 'fields', the
    reference's error or None)."""
    out = []
    for op, x, y in zip(("unpack", "peek", "route"), verdict_key(a), verdict_key(b)):
        if x == y:
            continue
        i = ("unpack", "peek", "route").index(op)
        if x[0] and not y[0]:
            out.append((op, "we-reject", b[i].get("error")))
        elif y[0] and not x[0]:
            out.append((op, "we-accept", a[i].get("error")))
        else:
            out.append((op, "fields", None))
    return out


def disagreements(peers, muts):
    frames = [m for _, m in muts]
    theirs = tdd.verdicts(peers[0], frames)
    ours = tdd.verdicts(peers[1], frames)
    bad = []
    for (cls, f), a, b in zip(muts, theirs, ours):
        w = where(a, b)
        if w:
            bad.append((cls, f.hex(), w, a, b))
    return theirs, bad


# Differences left, each (entry point, how, the reference's error or ours):
# - zstd: this port has no zstd decoder on the board (CompressedFrameError), so a frame with
#   FLAGS 0x01 that 4.2.7 inflates (or, empty, takes as it is) is refused: stricter, deliberate.
TOLERATED = (("unpack", "we-reject", "CompressedFrameError"),
             ("route", "we-reject", "CompressedFrameError"))


def tolerated(op, kind, err):
    for t in TOLERATED:
        if op == t[0] and kind == t[1] and (err or "").startswith(t[2]):
            return True
    return False


def test_mutated_frames_get_the_reference_verdicts(peers):
    muts = mutant_set()
    assert len(muts) > 3000
    theirs, bad = disagreements(peers, muts)
    accepted = sum(1 for r in theirs if r[0]["ok"])
    assert accepted > 300 and len(muts) - accepted > 1000  # both verdicts are exercised
    counts = {}
    for cls, f, w, a, b in bad:
        for op, kind, err in w:
            k = (op, kind, re.sub("[0-9]+", "N", (err or "").split(" (")[0])[:70])
            counts[k] = counts.get(k, 0) + 1
    print(len(muts), "mutants,", accepted, "accepted by unpack,", len(bad), "disagree")
    for k in sorted(counts):
        print(k, counts[k])
    # (a zstd frame, FLAGS 0x01, is refused by our Router whatever else it holds)
    left = [b for b in bad if not all(tolerated(*w) or (w[:2] == ("route", "we-reject")
                                                        and bytes.fromhex(b[1])[0] & 1)
                                      for w in b[2])]
    assert not left, (len(left), left[:2])
    assert len(bad) < 60  # (what the tolerated classes count today: 24)
