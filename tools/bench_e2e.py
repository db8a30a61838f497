"""E2E seal/open speed and allocation (issue 15): a 12-byte payload (nonce 12 bytes, a 20-byte
AAD like a frame header), per second and heap bytes allocated per call, for our e2e.py under
the MicroPython Unix port (64-bit), the 32-bit build and CPython, and the reference's
seds_crypto_seal/open (ctypes, CPython) for scale. Run by `make bench` (tools/bench.py).

    .venv/bin/python tools/bench_e2e.py [--smoke]
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIB = os.path.join(REPO, "lib")
sys.path.insert(0, os.path.join(REPO, "host_tests"))
import toolchain  # noqa: E402

CHILD = r"""
import sys
import time
try:
    import gc
except ImportError:
    gc = None
N = int(sys.argv[1])
if sys.implementation.name != "micropython":
    sys.path.insert(0, sys.argv[2])
from sedsnet import e2e
e2e.register_e2e_key(7, bytes(range(32)))
nonce = bytes(range(12))
aad = bytes(range(100, 120))
pt = bytes(range(12))
ct = bytearray(12)
tag = bytearray(16)
out = bytearray(12)
e2e.seal_into(7, nonce, aad, pt, ct, tag)
e2e.open_into(7, nonce, aad, ct, tag, out)
assert bytes(out) == pt


def clock():
    if hasattr(time, "ticks_us"):
        return time.ticks_us()
    return int(time.perf_counter() * 1000000)


def run(fn):
    if gc and hasattr(gc, "mem_alloc"):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        fn()
        per = (gc.mem_alloc() - a) // 1
        gc.enable()
    else:
        per = -1
    t0 = clock()
    for i in range(N):
        fn()
    t1 = clock()
    dt = t1 - t0 if not hasattr(time, "ticks_diff") else time.ticks_diff(t1, t0)
    return N * 1000000 // max(dt, 1), per


def do_seal():
    e2e.seal_into(7, nonce, aad, pt, ct, tag)


def do_open():
    e2e.open_into(7, nonce, aad, ct, tag, out)


s = run(do_seal)
o = run(do_open)
print("RESULT %d %d %d %d" % (s[0], s[1], o[0], o[1]))
"""

REF = r"""
import ctypes, sys, time
import sedsnet.sedsnet as native
lib = ctypes.CDLL(native.__file__)
N = int(sys.argv[1])
lib.seds_crypto_register_software_key(ctypes.c_uint32(7), bytes(range(32)), ctypes.c_size_t(32))
nonce, aad, pt = bytes(range(12)), bytes(range(100, 120)), bytes(range(12))
ct, tag, out = ctypes.create_string_buffer(12), ctypes.create_string_buffer(16), ctypes.create_string_buffer(12)
l1, l2 = ctypes.c_size_t(), ctypes.c_size_t()
P, S = ctypes.c_char_p, ctypes.c_size_t
SP = ctypes.POINTER(ctypes.c_size_t)
lib.seds_crypto_seal.argtypes = [ctypes.c_uint32, P, S, P, S, P, S, ctypes.c_void_p, S, SP, ctypes.c_void_p, S, SP]
lib.seds_crypto_open.argtypes = [ctypes.c_uint32, P, S, P, S, P, S, P, S, ctypes.c_void_p, S, SP]
def seal():
    lib.seds_crypto_seal(7, nonce, 12, aad, 20, pt, 12, ct, 12, ctypes.byref(l1), tag, 16, ctypes.byref(l2))
def opn():
    assert lib.seds_crypto_open(7, nonce, 12, aad, 20, ct.raw, 12, tag.raw, 16, out, 12, ctypes.byref(l1)) == 0
seal()
r = []
for fn in (seal, opn):
    t0 = time.perf_counter()
    for i in range(N):
        fn()
    r.append(int(N / (time.perf_counter() - t0)))
print("RESULT %d -1 %d -1" % (r[0], r[1]))
"""


def _child(cmd, script, n, env):
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "bench_e2e_child.py")
    with open(path, "w") as f:
        f.write(script)
    try:
        p = subprocess.run(cmd + [path, str(n), LIB], capture_output=True, text=True, env=env,
                           timeout=600, cwd=tmp)
    finally:
        os.unlink(path)
        os.rmdir(tmp)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s%s" % (cmd[0], p.returncode, p.stdout, p.stderr))
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return [int(x) for x in line.split()[1:]]


def main():
    n = 20 if "--smoke" in sys.argv else 2000
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    rows = []
    for rt in ("micropython", "micropython32"):
        if rt == "micropython32" and toolchain.micropython32_missing():
            print("%-14s skipped: %s" % (rt, toolchain.micropython32_missing()))
            continue
        rows.append((rt, _child([toolchain.runtime_binary(rt), "-X", "heapsize=1M"], CHILD, n,
                                toolchain.mp_env())))
    rows.append(("cpython", _child([sys.executable], CHILD, n, env)))
    rows.append(("reference", _child([toolchain.reference_python()], REF, n, env)))
    print("### E2E seal/open, 12-byte payload, 20-byte AAD (%d calls each)" % n)
    print("%-14s %10s %12s %10s %12s" % ("runtime", "seal/s", "seal B/call", "open/s",
                                          "open B/call"))
    for rt, (s, sb, o, ob) in rows:
        print("%-14s %10d %12s %10d %12s" % (rt, s, sb if sb >= 0 else "-", o,
                                              ob if ob >= 0 else "-"))


if __name__ == "__main__":
    main()
