"""Side-transport benchmark (lib/sedsnet/sdt.py): wire bytes per GPS packet (f32 x3) for every
profile x max_frame_bytes, ours (MicroPython Unix port) and the reference sedsnet 4.2.7's
(CPython), and goodput (useful payload bytes per second of airtime) over a simulated 32-byte-MTU
250 kbit/s nRF24L01 link and a 255-byte SX127x LoRa link (SF7, 125 kHz, CR 4/5), in one run.

    python tools/bench_sdt.py [--packets N]

Airtime models: nRF24L01 (Nordic spec 7.3): 1 preamble + 5 address bytes + 9-bit packet
control + payload + 2 CRC bytes at 250 kbit/s, plus 130 us TX settling per packet, no ACK.
LoRa (Semtech AN1200.13): Tsym = 2^SF/BW; 8 + max(ceil((8PL - 4SF + 28 + 16)/(4SF)) * 5, 0)
payload symbols + 12.25 preamble symbols (explicit header, CRC on, no LDRO at SF7).
Not a test: the figures depend on the frames only (they are deterministic), not the machine.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LIB = os.path.join(REPO, "lib")
MICROPYTHON = os.environ.get("MICROPYTHON") or os.path.join(REPO, ".venv", "bin", "micropython")
PYTHON = os.path.join(REPO, ".venv", "bin", "python")

SCRIPT = r"""
import json, sys
import sedsnet as seds
n = int(sys.argv[1])
seds.register_endpoint(101, "RADIO")
seds.register_data_type(0x0A3E1F72, "GPS_DATA", True, 3, 1, 0, [101])
seds.register_data_type(0x0B3E1F72, "BLOB", False, 0, 2, 0, [101])
out = {}
for prof in ("canonical", "template", "ipv6_like", "ipv4_like", "plain"):
    for mf in (0, 255, 32):
        if prof == "plain" and mf:
            continue
        t = [1000]
        wire = []
        r = seds.Router(hostname="rocket", now_ms=lambda: t[0])
        if prof == "plain":
            r.add_side_packed("S", lambda f: wire.append(len(f)))
        else:
            r.add_side_packed_profile("S", lambda f: wire.append(len(f)), profile=prof,
                                      max_frame_bytes=mf)
        r.periodic(0)
        gps = []
        for i in range(n):
            t[0] += 100
            del wire[:]
            r.log_f32(0x0A3E1F72, [48.1 + i * 1e-5, 11.5, 512.0 + i])
            gps.append(list(wire))
        blob = []
        for i in range(max(4, n // 10)):
            t[0] += 100
            del wire[:]
            r.log_bytes(0x0B3E1F72, bytes((i + k) & 0xFF for k in range(200)))
            blob.append(list(wire))
        out["%s/%d" % (prof, mf)] = {"gps": gps, "blob": blob}
print(json.dumps(out))
"""


def _run(binary, env_extra, n):
    # a private directory: the script's directory is first on the module path, and a shared
    # /tmp may hold anyone's struct.py or json.py
    tmp = tempfile.mkdtemp(prefix="bench_sdt")
    path = os.path.join(tmp, "bench_sdt_case.py")
    with open(path, "w") as f:
        f.write(SCRIPT)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(env_extra)
    try:
        args = [binary] + (["-X", "heapsize=4M"] if binary == MICROPYTHON else []) + [path, str(n)]
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
    finally:
        os.unlink(path)
        os.rmdir(tmp)
    if out.returncode:
        raise SystemExit("bench_sdt: %s failed (%d):\n%s%s" % (binary, out.returncode,
                                                              out.stdout[-500:], out.stderr))
    return json.loads(out.stdout.strip().splitlines()[-1])


def nrf24_airtime_s(n):
    bits = 8 * (1 + 5 + n + 2) + 9
    return bits / 250000.0 + 130e-6


def lora_airtime_s(n, sf=7, bw=125000, cr=1, preamble=8):
    tsym = (1 << sf) / float(bw)
    payload = 8 + max(math.ceil((8 * n - 4 * sf + 28 + 16) / (4.0 * sf)) * (cr + 4), 0)
    return (preamble + 4.25) * tsym + payload * tsym


def _per_packet(packets, airtime):
    frames = [f for p in packets for f in p]
    nbytes = sum(frames) / float(len(packets))
    air = sum(airtime(f) for f in frames) / float(len(packets))
    return nbytes, len(frames) / float(len(packets)), air


def main(argv):
    n = 200
    if "--packets" in argv:
        n = int(argv[argv.index("--packets") + 1])
    ours = _run(MICROPYTHON, {"MICROPYPATH": LIB}, n)
    ref = _run(PYTHON, {}, n)
    print("Wire bytes per packet (mean over %d GPS packets after discovery; first packet in "
          "brackets)" % n)
    print("%-14s %12s %12s %9s | %-10s %-10s | %-10s %-10s" % (
        "profile/max", "GPS ours", "GPS ref", "frames", "nRF24 B/s", "(200 B)", "LoRa B/s",
        "(200 B)"))
    order = ["plain/0"] + ["%s/%d" % (p, m) for p in ("canonical", "template", "ipv6_like",
                                                      "ipv4_like") for m in (0, 255, 32)]
    for key in order:
        a = ours[key]
        b = ref[key]
        int(key.split("/")[1])
        ga, fa, _ = _per_packet(a["gps"], nrf24_airtime_s)
        gb, _, _ = _per_packet(b["gps"], nrf24_airtime_s)
        first_a = sum(a["gps"][0])
        first_b = sum(b["gps"][0])
        row = "%-14s %6.1f [%3d] %6.1f [%3d] %9.2f |" % (key, ga, first_a, gb, first_b, fa)
        # goodput: useful payload bytes per second of airtime, only where every frame fits
        for limit, airtime in ((32, nrf24_airtime_s), (255, lora_airtime_s)):
            cells = []
            for kind, useful in (("gps", 12), ("blob", 200)):
                frames = [f for p in a[kind] for f in p]
                if max(frames) > limit:
                    cells.append("-")
                    continue
                _, _, air = _per_packet(a[kind], airtime)
                cells.append("%.0f" % (useful / air))
            row += " %-10s %-10s |" % tuple(cells)
        print(row.rstrip("|"))
    print("'-': a frame exceeds that link's MTU (no chunking at that max_frame_bytes). Ours and "
          "the reference's sizes differ only by a nonce's ULEB length (+-1 byte): the two")
    print("processes' nonce sequences drift apart when their discovery re-announcements "
          "(which take nonces) fall at different times.")


if __name__ == "__main__":
    main(sys.argv[1:])
