"""Our typed log helpers (log_u8 ... log_u64, log_i8 ... log_i64, log_f32, log_f64, log_bool,
log_string: only log, log_bytes and log_f32 exist in 4.2.7) judged by the reference's decoding.

Our Router logs every case in a child process (MicroPython Unix port, CPython with lib/ on the
path, and the 32-bit MicroPython when /work/shared/toolchain has it); the runs must print the same
frames. A reference child (never sharing a process with our sedsnet) then decodes each frame with
unpack_packet_py and data_as_<type>(), which must give back what was logged (edges included), and
builds the same frame itself (log_f32, or log()/log_bytes() of the values' bytes) to compare bytes.
log_f32 and log_bytes are also run on the same inputs through both Routers and compared byte for
byte: 4.2.7's first log() builds its two discovery announcements (ADDRESS, TOPOLOGY) and takes
their nonces first, so our discovery-free Router burns two nonces before logging (checked)."""
import json
import math
import os
import struct
import subprocess
import tempfile

import toolchain

MP32 = os.environ.get("MICROPYTHON32", "/work/shared/toolchain/micropython32")
TS = (None, 0, 1, 1 << 32, (1 << 48) - 1, (1 << 64) - 1)  # None: the clock (4242)
FLOAT, F32, BOOL, STRING = 0, 1, 12, 13
INTS = {2: ("u8", "<B", 0, 0xFF), 3: ("u16", "<H", 0, 0xFFFF), 4: ("u32", "<I", 0, 0xFFFFFFFF),
        5: ("u64", "<Q", 0, (1 << 64) - 1), 7: ("i8", "<b", -0x80, 0x7F),
        8: ("i16", "<h", -0x8000, 0x7FFF), 9: ("i32", "<i", -(1 << 31), (1 << 31) - 1),
        10: ("i64", "<q", -(1 << 63), (1 << 63) - 1)}
NAMES = {k: v[0] for k, v in INTS.items()}
NAMES.update({FLOAT: "f64", F32: "f32", BOOL: "bool", STRING: "string"})
WIDTH = {FLOAT: 8, F32: 4, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 8: 2, 9: 4, 10: 8, BOOL: 1, STRING: 1}
COUNT = 3  # elements of the static types (String: 1, i.e. 1024 bytes)


def static_ty(mdt):
    return 5000 + 2 * mdt


def dynamic_ty(mdt):
    return 5001 + 2 * mdt


def fixed(mdt):
    return 1024 if mdt == STRING else COUNT * WIDTH[mdt]


NAN, INF = float("nan"), float("inf")
F64_EDGES = [NAN, INF, -INF, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
             -1.7976931348623157e308, 0.1, -1, 1, True, 1 << 70]
F32_EDGES = [0.1, 3.4028234663852886e38, 3.4028235e38, 3.4028236e38, 1e300, -1e300, 1e-46,
             1.401298464324817e-45, 7e-46, NAN, -0.0, INF, -INF, 16777217, 1 << 200, True, 2.5]
BIG_STR = "a" * 1023 + "\u00e9"  # the 2-byte char straddles the 1024-byte static size


def _cases():
    """(method, ty, values, timestamp_ms, accepted) in the order the children log them."""
    out = []

    def add(mdt, static, values, ok=True):
        ty = static_ty(mdt) if static else dynamic_ty(mdt)
        out.append(("log_" + NAMES[mdt], ty, values, TS[len(out) % len(TS)], ok))

    for mdt, (name, fmt, lo, hi) in sorted(INTS.items()):
        mid = -1 if lo else 1
        for static in (True, False):
            add(mdt, static, [])
            add(mdt, static, [lo])
            add(mdt, static, [lo, hi, 0])
            add(mdt, static, [hi, lo, mid, 0, hi])  # static: cut to 3
            add(mdt, static, (hi - 1, lo + 1))  # a tuple
            add(mdt, static, [hi + 1], False)
            add(mdt, static, [lo - 1], False)
            add(mdt, static, [1.0], False)
        add(mdt, False, [lo, hi, 0, mid, lo + 1, hi - 1, True, False])
        add(mdt, False, [(lo + (hi - lo) * k // 39) for k in range(40)])  # 40 elements
    for mdt, edges in ((FLOAT, F64_EDGES), (F32, F32_EDGES)):
        for static in (True, False):
            add(mdt, static, [])
            add(mdt, static, [-0.0])
            add(mdt, static, edges[:2])
            add(mdt, static, edges[2:7])  # static: cut
        add(mdt, False, edges)
        add(mdt, False, [NAN, -NAN, INF, -INF])
        add(mdt, False, [1 << 1100], False)  # too large for a float (4.2.7: OverflowError)
        add(mdt, False, ["1"], False)
    for static in (True, False):
        add(BOOL, static, [])
        add(BOOL, static, [True])
        add(BOOL, static, [True, False, True, True])
        add(BOOL, static, [0, 1, 2, None, "", "a", -1])
    add(BOOL, False, [True, False] * 20)
    for static in (True, False):
        for text in ("", "h\u00e9llo", "a\x00b", "ab\x00\x00", "\x00", "\u65e5\u672c \U0001f680",
                     b"caf\xc3\xa9", BIG_STR, "\u20ac" * 400, "x" * 1100):
            add(STRING, static, text)
        add(STRING, static, b"\xff", False)
        add(STRING, static, b"ab\xe2\x82", False)
        add(STRING, static, 5, False)
    add(STRING, True, "a" * 1022 + "\U0001f680")  # a 4-byte char from byte 1022: cut before it
    # the element type must be the type's (log_u8 into a u16 type, log_string into a u8 type)
    out.append(("log_u8", dynamic_ty(3), [1, 2], None, False))
    out.append(("log_string", dynamic_ty(2), "ab", None, False))
    out.append(("log_bool", dynamic_ty(2), [True], None, False))
    out.append(("log_f64", dynamic_ty(F32), [1.0], None, False))
    return out


CASES = _cases()


def _byte_cases():
    """(method, ty, data) through log_f32 / log_bytes of both Routers (4.2.7's own API)."""
    out = []
    for mdt in sorted(NAMES):
        for ty in (static_ty(mdt), dynamic_ty(mdt)):
            out.append(("log_f32", ty, [1.0]))
            out.append(("log_f32", ty, [0.0, 0.0]))
            for n in (0, 1, 3, 4, 8, 17):
                out.append(("log_bytes", ty, bytes(range(0x30, 0x30 + n))))
    for ty in (static_ty(F32), dynamic_ty(F32)):
        for k in range(0, len(F32_EDGES), 3):
            out.append(("log_f32", ty, F32_EDGES[k:k + 3]))
        out.append(("log_f32", ty, (1.5, -2.0)))
        out.append(("log_f32", ty, [1 << 1100]))
        out.append(("log_f32", ty, ["1.0"]))
    for ty in (static_ty(STRING), dynamic_ty(STRING)):
        for data in (b"", "h\u00e9llo".encode(), b"\xff", b"ab\xe2\x82", BIG_STR.encode()):
            out.append(("log_bytes", ty, data))
    return out


BYTE_CASES = _byte_cases()


def _lit(v):
    """Python source for a case value, the same under CPython and MicroPython (floats by their
    bits: decimal parsing of denormals differs between runtimes)."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return "%d" % v
    if isinstance(v, float):
        return "F('%s')" % struct.pack("<d", v).hex()
    if isinstance(v, str):
        return "S('%s')" % v.encode("utf-8").hex()
    if isinstance(v, bytes):
        return "B('%s')" % v.hex()
    if isinstance(v, list):
        return "[" + ", ".join(_lit(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + "".join(_lit(x) + ", " for x in v) + ")"
    raise TypeError(v)


COMMON = r"""
import struct, binascii
def F(h):
    return struct.unpack("<d", binascii.unhexlify(h))[0]
def B(h):
    return binascii.unhexlify(h)
def S(h):
    return str(binascii.unhexlify(h), "utf-8")
def hx(b):
    return str(binascii.hexlify(bytes(b)), "ascii")
def schema(seds):
    seds.register_endpoint(101, "RADIO")
    seds.register_endpoint(102, "SD")
    for mdt in MDTS:
        n = 1 if mdt == 13 else 3
        seds.register_data_type(5000 + 2 * mdt, "S%d" % mdt, True, n, mdt, 0, [101])
        seds.register_data_type(5001 + 2 * mdt, "D%d" % mdt, False, 0, mdt, 0, [102, 101])
def router(seds, out):
    r = seds.Router(hostname="typed", now_ms=lambda: 4242, **OPTS)
    r.add_side_packed("A", lambda f: out.append(bytes(f)))
    return r
def call(r, out, method, args):
    n = len(out)
    try:
        getattr(r, method)(*args)
    except Exception as e:
        return "refused " + type(e).__name__
    return " ".join(hx(f) for f in out[n:] if f[2] >= 0x80)  # ty >= 5000 (2-byte ULEB)
"""

OURS = r"""
import sys
if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
import sedsnet as seds
from sedsnet import ids
OPTS = {"discovery": False}
%s
MDTS = %s
BYTE_CASES = %s
CASES = %s
schema(seds)
out = []
r = router(seds, out)
print("burn %%d %%d" %% (ids.next_nonce(), ids.next_nonce()))
for c in BYTE_CASES:
    print("B " + call(r, out, c[0], (c[1], c[2])))
for c in CASES:
    print("T " + call(r, out, c[0], (c[1], c[2], c[3])))
"""

REF = r"""
import json, sys
import sedsnet as seds
OPTS = {}
%s
MDTS = %s
BYTE_CASES = %s
CASES = %s
FMT = {0: "d", 2: "B", 3: "H", 4: "I", 5: "Q", 7: "b", 8: "h", 9: "i", 10: "q"}
KIND = {0: 2, 2: 0, 3: 0, 4: 0, 5: 0, 7: 1, 8: 1, 9: 1, 10: 1, 12: 0}
def cut_utf8(b, n):
    if len(b) <= n:
        return b
    while n and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n]
def same_frame(r, out, method, ty, values, ts):
    # the frame 4.2.7 makes for the same values through its own API
    mdt = seds.data_type_info(ty)["message_data_type"]
    if method == "log_f32":
        return call(r, out, "log_f32", (ty, values, ts))
    if method == "log_string":
        data = values.encode() if isinstance(values, str) else values
        if seds.data_type_info(ty)["is_static"]:
            data = cut_utf8(data, 1024)
        return call(r, out, "log_bytes", (ty, data, ts))
    if method == "log_bool":
        data = bytes(1 if v else 0 for v in values)
    else:
        data = struct.pack("<%%d%%s" %% (len(values), FMT[mdt]), *values)
    if not data:  # 4.2.7's log() refuses b"" when elem_size > 1 ("not divisible"): same frame
        return call(r, out, "log_bytes", (ty, data, ts))
    return call(r, out, "log", (ty, data, 1 if mdt == 12 else struct.calcsize(FMT[mdt]),
                                KIND[mdt], ts))
def bits(v):
    return struct.pack("<d", v).hex()
def decode(frame):
    p = seds.unpack_packet_py(bytes.fromhex(frame))
    mdt = seds.data_type_info(p.ty)["message_data_type"]
    name = {0: "f64", 1: "f32", 2: "u8", 3: "u16", 4: "u32", 5: "u64", 7: "i8", 8: "i16",
            9: "i32", 10: "i64", 12: "bool", 13: "string"}[mdt]
    try:
        v = getattr(p, "data_as_" + name)()
        if name == "u8":
            v = list(v)
        elif name in ("f32", "f64"):
            v = [bits(x) for x in v]
        elif name == "string":
            v = v.encode().hex()
    except Exception as e:
        v = "error " + repr(e)
    return {"ty": p.ty, "sender": p.sender, "endpoints": list(p.endpoints),
            "timestamp_ms": p.timestamp_ms, "data_size": p.data_size,
            "payload": bytes(p.payload).hex(), "value": v}
ours = json.load(open(sys.argv[1]))
schema(seds)
out = []
r = router(seds, out)
byte = [call(r, out, c[0], (c[1], c[2])) for c in BYTE_CASES]
same = []
for c, got in zip(CASES, ours["typed"]):
    same.append(same_frame(r, out, c[0], c[1], c[2], c[3]) if got[:7] != "refused" else got)
r.periodic(0)
announce = [f for f in out if f[2] in (17, 9)]
nonces = []
for f in announce:
    i, k = 2, 0
    while k < 4:  # ty, data_size, timestamp, then the nonce (ULEB128 each)
        v = sh = 0
        while True:
            v |= (f[i] & 0x7F) << sh
            sh += 7
            i += 1
            if f[i - 1] < 0x80:
                break
        k += 1
    nonces.append(v)
print(json.dumps({"byte": byte, "same": same, "announce_nonces": nonces,
                  "decoded": [decode(t) if t[:7] != "refused" else None for t in ours["typed"]]}))
"""


def _script(template):
    cases = [(c[0], c[1], c[2], c[3]) for c in CASES]
    return template % (COMMON, _lit(sorted(NAMES)), _lit(BYTE_CASES), _lit(cases))


def _run(argv, script, env, args=()):
    # a private directory: the script's folder is first on sys.path, and whatever else lies in
    # the shared temp folder (a stray struct/ directory) must not shadow a built-in module
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        out = subprocess.run(argv + [path] + list(args), capture_output=True, text=True,
                             env=env, timeout=300, cwd=tmp)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


def _ours_runs():
    """Our Router's output lines under every runtime we have."""
    mp = toolchain.mp_env()
    mp_argv = ["-X", "heapsize=16M"]
    runs = {"micropython": _run([toolchain.micropython()] + mp_argv, _script(OURS), mp)}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    runs["cpython"] = _run([toolchain.reference_python()], _script(OURS), env, [toolchain.LIB])
    if os.path.exists(MP32):
        runs["micropython32"] = _run([MP32] + mp_argv, _script(OURS), mp)
    return runs


def _reference(ours_lines):
    lines = ours_lines.splitlines()
    data = {"typed": [ln[2:] for ln in lines if ln[:2] == "T "]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
        path = f.name
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # nothing of ours on the reference's path
    try:
        return json.loads(_run([toolchain.reference_python()], _script(REF), env, [path]))
    finally:
        os.unlink(path)


_RESULT = []


def _result():
    if not _RESULT:
        runs = _ours_runs()
        _RESULT.append((runs, _reference(runs["micropython"])))
    return _RESULT[0]


def _f32(v):
    """float -> the float32 4.2.7 sends (round to nearest, overflow -> +-inf)."""
    v = float(v)
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(INF, v)


def _bits(v):
    return struct.pack("<d", v).hex()


def _expected(method, ty, values):
    """What data_as_<type>() of the frame must give back."""
    mdt = (ty - 5000) // 2
    static = ty % 2 == 0
    if mdt == STRING:
        data = values.encode("utf-8") if isinstance(values, str) else values
        if static and len(data) > 1024:
            n = 1024
            while data[n] & 0xC0 == 0x80:
                n -= 1
            data = data[:n]
        return data.decode("utf-8").rstrip("\x00").encode("utf-8").hex()
    values = list(values)
    if static:
        values = (values + [0] * COUNT)[:COUNT]
    if mdt == BOOL:
        return [bool(v) for v in values]
    if mdt == F32:
        return [_bits(_f32(v)) for v in values]
    if mdt == FLOAT:
        return [_bits(float(v)) for v in values]
    return list(values)


def _same_nan(a, b):
    # a NaN is a NaN whatever its payload bits (the byte comparisons check those)
    fa = struct.unpack("<d", bytes.fromhex(a))[0]
    fb = struct.unpack("<d", bytes.fromhex(b))[0]
    return a == b or (math.isnan(fa) and math.isnan(fb))


def test_every_runtime_logs_the_same_frames():
    runs, _ = _result()
    assert "micropython" in runs and "cpython" in runs
    first = runs["micropython"].splitlines()
    assert len(first) == 1 + len(BYTE_CASES) + len(CASES)
    for name, text in runs.items():
        assert text.splitlines() == first, name


def test_typed_helpers_decode_to_what_was_logged_by_the_reference():
    runs, ref = _result()
    typed = [ln[2:] for ln in runs["micropython"].splitlines() if ln[:2] == "T "]
    assert len(typed) == len(CASES) == len(ref["decoded"])
    bad = []
    accepted = 0
    for i, (method, ty, values, ts, ok) in enumerate(CASES):
        got, dec = typed[i], ref["decoded"][i]
        if not ok:
            if not got.startswith("refused ArgumentError"):
                bad.append((i, method, ty, "accepted", got[:60]))
            continue
        if got.startswith("refused") or len(got.split()) != 1:
            bad.append((i, method, ty, "not one frame", got[:60]))
            continue
        accepted += 1
        mdt = (ty - 5000) // 2
        want = {"ty": ty, "sender": "typed", "timestamp_ms": 4242 if ts is None else ts,
                "endpoints": [101] if ty % 2 == 0 else [101, 102]}
        for k in want:
            if dec[k] != want[k]:
                bad.append((i, method, ty, k, dec[k]))
        size = len(bytes.fromhex(dec["payload"]))
        if dec["data_size"] != size or (ty % 2 == 0 and size != fixed(mdt)):
            bad.append((i, method, ty, "size", dec["data_size"], size))
        exp = _expected(method, ty, values)
        v = dec["value"]
        if mdt in (F32, FLOAT) and isinstance(v, list) and len(v) == len(exp):
            if not all(_same_nan(a, b) for a, b in zip(v, exp)):
                bad.append((i, method, ty, values, v, exp))
        elif v != exp:
            bad.append((i, method, ty, values, v, exp))
    assert not bad, bad
    assert accepted == sum(1 for c in CASES if c[4]) and accepted > 100


def test_typed_frames_are_the_bytes_the_reference_makes_for_the_same_values():
    runs, ref = _result()
    typed = [ln[2:] for ln in runs["micropython"].splitlines() if ln[:2] == "T "]
    bad = [(i, CASES[i][:3], typed[i][:80], ref["same"][i][:80]) for i in range(len(CASES))
           if typed[i] != ref["same"][i]]
    assert not bad, bad


def test_log_f32_and_log_bytes_frames_are_byte_identical_to_the_reference():
    runs, ref = _result()
    lines = runs["micropython"].splitlines()
    burnt = [int(x) for x in lines[0].split()[1:]]
    assert ref["announce_nonces"] == burnt  # what our burnt nonces stand for
    ours = [ln[2:] for ln in lines if ln[:2] == "B "]
    assert len(ours) == len(ref["byte"]) == len(BYTE_CASES)
    bad = []
    for i, c in enumerate(BYTE_CASES):
        a, b = ours[i], ref["byte"][i]
        if a.startswith("refused") and b.startswith("refused"):
            continue  # refused by both (4.2.7 raises RuntimeError/TypeError, we SedsErrors)
        if a != b:
            bad.append((i, c[0], c[1], c[2] if len(repr(c[2])) < 60 else "...", a[:70], b[:70]))
    assert not bad, bad
    assert sum(1 for b in ref["byte"] if not b.startswith("refused")) > 50
