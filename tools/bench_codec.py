"""Codec benchmark (`make bench`): frames packed/s and parsed/s for our viper and pure paths under
the MicroPython Unix port, our pure path under CPython, and the reference sedsnet 4.2.7 under
CPython, all in one run, with ratios; plus heap bytes allocated per pack_into and per decode.

Not a test: figures depend on the machine. The frame is a typical user packet (8 x f32, two
endpoints, epoch-ms timestamp); "unpack" is FrameHeader.parse (CRC included) + packet ID for us,
unpack_packet_py for the reference (which builds a Packet; it has no in-place parser).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIB = os.path.join(REPO, "lib")
MICROPYTHON = os.path.join(REPO, ".venv", "bin", "micropython")

PAYLOAD = bytes(range(32))
TS = 1767225600000
N_MP = 20000

MP_SCRIPT = r"""
import gc, json, time
from sedsnet import _pure, ids, schema, wire
from sedsnet.wire import FrameHeader, pack_into

schema.register_endpoint(1, "EP_A")
schema.register_endpoint(2, "EP_B")
schema.register_data_type(100, "T_F32X8", True, 8, 1, 0, [1, 2])
PAYLOAD = bytes(range(32))
EPS = (1, 2)
N = %d


def run(kind):
    if kind == "pure":  # swap the kernels for their twins (what CircuitPython would run)
        wire.crc32_check = _pure.crc32_check
        wire.crc32_write = _pure.crc32_write
        ids._pid_kernel = _pure.pid_into
    buf = bytearray(128)
    hdr = FrameHeader()
    out = bytearray(8)
    n = pack_into(buf, 100, 3842416542, EPS, %d, 6837, PAYLOAD)
    t0 = time.ticks_us()
    for i in range(N):
        pack_into(buf, 100, 3842416542, EPS, %d, 6837, PAYLOAD)
    t1 = time.ticks_us()
    for i in range(N):
        hdr.parse(buf, n)
        ids.write_packet_id(hdr, buf, out, 0)
    t2 = time.ticks_us()
    # heap bytes per call, measured over 1000 calls with the collector quiet
    gc.collect()
    a = gc.mem_alloc()
    for i in range(1000):
        pack_into(buf, 100, 3842416542, EPS, %d, 6837, PAYLOAD)
    b = gc.mem_alloc()
    for i in range(1000):
        hdr.parse(buf, n)
        ids.write_packet_id(hdr, buf, out, 0)
    c = gc.mem_alloc()
    return {"kind": kind, "pack_s": N * 1e6 / time.ticks_diff(t1, t0),
            "unpack_s": N * 1e6 / time.ticks_diff(t2, t1),
            "pack_heap": (b - a) / 1000, "unpack_heap": (c - b) / 1000, "frame_len": n}


print(json.dumps(run(wire.KERNELS)))
print(json.dumps(run("pure")))
""" % (N_MP, TS, TS, TS)


def micropython_figures():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(MP_SCRIPT)
        path = f.name
    try:
        env = dict(os.environ, MICROPYPATH=LIB)
        out = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", path], env=env,
                             capture_output=True, text=True, timeout=600)
        if out.returncode:
            sys.exit("micropython bench failed:\n" + out.stdout + out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    finally:
        os.unlink(path)


REF_SCRIPT = r"""
import json, time
import sedsnet as ref
ref.register_endpoint(1, "EP_A")
ref.register_endpoint(2, "EP_B")
ref.register_data_type(100, "T_F32X8", True, 8, 1, 0, [1, 2])
N = 50000
pkt = ref.make_packet(100, "nodeA", [1, 2], %d, bytes(range(32)))
frame = pkt.pack()
t0 = time.perf_counter()
for i in range(N):
    pkt.pack()
t1 = time.perf_counter()
for i in range(N):
    ref.unpack_packet_py(frame)
t2 = time.perf_counter()
print(json.dumps({"kind": "reference", "pack_s": N / (t1 - t0), "unpack_s": N / (t2 - t1),
                  "frame_len": len(frame)}))
""" % TS


def reference_figures():
    # the reference shares our import name, so it runs in its own interpreter, without lib/
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", REF_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600, cwd=tempfile.gettempdir())
    if out.returncode:
        sys.exit("reference bench failed:\n" + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpython_pure_figures():
    sys.path.insert(0, LIB)
    from sedsnet import ids, schema
    from sedsnet.wire import FrameHeader, pack_into
    schema.register_endpoint(1, "EP_A")
    schema.register_endpoint(2, "EP_B")
    schema.register_data_type(100, "T_F32X8", True, 8, 1, 0, [1, 2])
    buf = bytearray(128)
    hdr = FrameHeader()
    out = bytearray(8)
    eps = (1, 2)
    n = pack_into(buf, 100, 3842416542, eps, TS, 6837, PAYLOAD)
    count = 50000
    t0 = time.perf_counter()
    for _ in range(count):
        pack_into(buf, 100, 3842416542, eps, TS, 6837, PAYLOAD)
    t1 = time.perf_counter()
    for _ in range(count):
        hdr.parse(buf, n)
        ids.write_packet_id(hdr, buf, out, 0)
    t2 = time.perf_counter()
    return {"kind": "cpython-pure", "pack_s": count / (t1 - t0), "unpack_s": count / (t2 - t1),
            "frame_len": n}


def main():
    rows = micropython_figures()
    ref = reference_figures()
    rows.append(cpython_pure_figures())
    print("codec: %d-byte frame (8 x f32, 2 endpoints); reference frame %d bytes"
          % (rows[0]["frame_len"], ref["frame_len"]))
    print("%-28s %12s %12s %10s %10s %12s %12s" % ("path", "packs/s", "unpacks/s", "pack/ref",
                                                  "unpack/ref", "heap B/pack", "heap B/dec"))
    for r in rows:
        name = {"viper": "micropython viper", "pure": "micropython pure",
                "cpython-pure": "cpython pure (ours)"}.get(r["kind"], r["kind"])
        heap_p = "%.1f" % r["pack_heap"] if "pack_heap" in r else "-"
        heap_u = "%.1f" % r["unpack_heap"] if "unpack_heap" in r else "-"
        print("%-28s %12.0f %12.0f %10.3f %10.3f %12s %12s" % (
            name, r["pack_s"], r["unpack_s"], r["pack_s"] / ref["pack_s"],
            r["unpack_s"] / ref["unpack_s"], heap_p, heap_u))
    print("%-28s %12.0f %12.0f %10.3f %10.3f %12s %12s" % (
        "reference 4.2.7 (cpython)", ref["pack_s"], ref["unpack_s"], 1.0, 1.0, "-", "-"))
    mp = {r["kind"]: r for r in rows}
    if "viper" in mp and "pure" in mp:
        print("viper/pure under micropython: pack x%.2f, unpack x%.2f" % (
            mp["viper"]["pack_s"] / mp["pure"]["pack_s"],
            mp["viper"]["unpack_s"] / mp["pure"]["unpack_s"]))


if __name__ == "__main__":
    main()
