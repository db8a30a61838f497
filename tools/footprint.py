"""Code footprint (`make footprint`): the heap the library's code keeps after import on the 32-bit
MicroPython (as on RP2040/ESP32/STM32), loaded from .mpy files, from a ROMFS image and (given a
build with the library frozen) frozen; plus each module's .mpy size for armv6m (flash).

    python tools/footprint.py [--frozen BINARY]      (markdown tables on stdout)

"Heap after import": gc.mem_alloc() after gc.collect() minus the same before the imports, in a
fresh process (tools/_footprint_run.py). An optional module's figure is the core plus it, minus
the core. BINARY: a 32-bit Unix port with boards' manifest frozen (tools/firmware.py builds one:
`make firmware BOARD=unix MICROPY_DIR=... M32=1`); default build/micropython32-frozen if present.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUN = os.path.join(HERE, "_footprint_run.py")
sys.path.insert(0, HERE)
import bench_router  # noqa: E402
import build  # noqa: E402
import romfs  # noqa: E402

CORE_TARGET = 60 * 1024
# what `import sedsnet` + a Router with a plain side loads (host_tests/test_footprint.py checks
# this list against the modules a plain Router really loads)
CORE = ["sedsnet", "sedsnet.router", "sedsnet.router_log", "sedsnet.node", "sedsnet.engine",
        "sedsnet.forward",
        "sedsnet.queues", "sedsnet.kernels", "sedsnet.wire",
        "sedsnet.schema", "sedsnet.ids", "sedsnet.ring", "sedsnet.isr", "sedsnet.recent",
        "sedsnet.routes", "sedsnet.errors", "sedsnet.compat", "sedsnet._fast",
        "sedsnet._fast_frame"]
# (label, modules on top of the core)
OPTIONAL = (
    ("announce + announce_codec (discovery)", ["sedsnet.announce_codec", "sedsnet.announce"]),
    ("packet (Packet, make_packet: handlers)", ["sedsnet.packet"]),
    ("wire_parse (frames other than plain data: control, contracts)", ["sedsnet.wire_parse"]),
    ("relay", ["sedsnet.relay"]),
    ("timesync + timesync_api (time sync)", ["sedsnet.timesync", "sedsnet.timesync_api"]),
    ("e2e + e2e_frame (E2E keyring, seal/open, policy)", ["sedsnet.e2e", "sedsnet.e2e_frame"]),
    ("netvar + netvar_push (network variables)", ["sedsnet.netvar", "sedsnet.netvar_push"]),
    ("p2p + p2p_codec + p2p_stream (P2P ports and streams)",
     ["sedsnet.p2p_codec", "sedsnet.p2p", "sedsnet.p2p_stream"]),
    ("reliable + reliable_rx + reliable_e2e (reliable delivery)",
     ["sedsnet.reliable", "sedsnet.reliable_rx", "sedsnet.reliable_e2e"]),
    ("reliable_origin + reliable_holders + reliable_e2e (end-to-end origin)",
     ["sedsnet.reliable_holders", "sedsnet.reliable_origin", "sedsnet.reliable_e2e"]),
    ("sdt + sdt_codec + sdt_reassembly (side profiles)",
     ["sedsnet.sdt", "sedsnet.sdt_codec", "sedsnet.sdt_reassembly"]),
    ("announce + codec + topology + paths (full discovery)",
     ["sedsnet.announce_codec", "sedsnet.announce", "sedsnet.topology", "sedsnet.paths"]),
    ("linkload (TX meters: a discovering node with 2+ sides)", ["sedsnet.linkload"]),
    ("schema_wire (SCHEMA answers)", ["sedsnet.announce_codec", "sedsnet.schema_wire"]),
    ("stats (export_*)", ["sedsnet.stats"]),
    ("schema_json", ["sedsnet.schema_json"]),
    ("schema_api + identity (info, removal, JSON entry points)",
     ["sedsnet.identity", "sedsnet.schema_api"]),
    ("control (control frames, hop ACKs)", ["sedsnet.control"]),
    ("e2e_holder (a holder's E2E ACKs, delivered IDs)", ["sedsnet.e2e_holder"]),
    ("return_path (the way back for E2E ACKs)", ["sedsnet.return_path"]),
    ("options (non-default options, configure_address)", ["sedsnet.options"]),
    ("router_tx (queued, E2E and reliable-origin logs, transmit_*)", ["sedsnet.router_tx"]),
    ("node_calls (route rules, side switches, queue clears, topology calls)",
     ["sedsnet.node_calls"]),
    ("_fmt", ["sedsnet._fmt"]),
    ("firmware: app + link + mainloop", ["sedsnet_node.app", "sedsnet_node.link",
                                          "sedsnet_node.mainloop"]),
    ("firmware: uart_link + cobs", ["sedsnet_node.uart_link", "sedsnet_node.cobs"]),
    ("firmware: sx127x", ["sedsnet_node.sx127x"]),
    ("firmware: nrf24l01", ["sedsnet_node.nrf24l01"]),
)


def lib_modules():
    names = sorted(n[:-3] for n in os.listdir(os.path.join(REPO, "lib", "sedsnet"))
                   if n.endswith(".py"))
    return ["sedsnet"] + ["sedsnet." + n for n in names if n != "__init__"]


def heap_of(binary, source, modules, env):
    names = os.path.join(tempfile.gettempdir(), "footprint-%d.txt" % os.getpid())
    with open(names, "w") as f:
        f.write("\n".join(modules) + "\n")
    proc = subprocess.run([binary, "-X", "heapsize=2M", RUN, source, names],
                          env=env, capture_output=True, text=True, timeout=120,
                          cwd=tempfile.gettempdir())
    line = [x for x in proc.stdout.splitlines() if x.startswith("HEAP ")]
    if proc.returncode or not line:
        raise SystemExit("footprint: %s %s %s failed:\n%s%s" % (binary, source, modules,
                                                               proc.stdout, proc.stderr))
    return int(line[0].split()[1])


def measure(frozen=None, tmp=None):
    """{source: {row label: bytes}} on the 32-bit runtime; sources: mpy, romfs[, frozen]."""
    m32 = bench_router.micropython32()
    lib = build.mpy_tree(os.path.join(tmp, "x86"), "x86")
    image = os.path.join(tmp, "x86.romfs")
    romfs.build_image("unix", image, arch="x86")
    env = dict(os.environ)
    env.pop("MICROPYPATH", None)
    sources = [("mpy", m32, "mpy", dict(env, MICROPYPATH=lib)),
               ("romfs", m32, "romfs:" + image, dict(env, MICROPYPATH=""))]
    if frozen:
        sources.append(("frozen", frozen, "frozen", dict(env, MICROPYPATH="")))
    out = {}
    for key, binary, source, e in sources:
        core = heap_of(binary, source, CORE, e)
        rows = {"whole library (every lib/sedsnet module)": heap_of(binary, source,
                                                                     lib_modules(), e),
                "core (one Router, plain sides)": core}
        for label, mods in OPTIONAL:
            rows["+ " + label] = heap_of(binary, source, CORE + mods, e) - core
        out[key] = rows
    return out


def mpy_sizes(tmp):
    """{module file: (armv6m .mpy bytes, x86 .mpy bytes)}."""
    out = {}
    for arch in ("armv6m", "x86"):
        root = build.mpy_tree(os.path.join(tmp, "size-" + arch), arch)
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                out.setdefault(rel, {})[arch] = os.path.getsize(os.path.join(dirpath, f))
    return out


def kb(n):
    return "%.1f KB" % (n / 1024.0)


def report(heaps, sizes):
    cols = [k for k in ("mpy", "romfs", "frozen") if k in heaps]
    head = {"mpy": "from .mpy", "romfs": "from ROMFS", "frozen": "frozen"}
    print("### Code heap after import, 32-bit MicroPython (gc.mem_alloc delta, fresh process)\n")
    print("| code | " + " | ".join(head[c] for c in cols) + " |")
    print("| --- |" + " ---: |" * len(cols))
    for label in heaps["mpy"]:
        print("| %s | %s |" % (label, " | ".join(kb(heaps[c][label]) for c in cols)))
    core = heaps["mpy"]["core (one Router, plain sides)"]
    print("\ntarget: core from .mpy on 32-bit <= %s: %s (%s)"
          % (kb(CORE_TARGET), kb(core), "PASS" if core <= CORE_TARGET else "MISS"))
    print("\n### .mpy size per module (flash; armv6m = RP2040, x86 = the 32-bit host build)\n")
    print("| module | armv6m | x86 |")
    print("| --- | ---: | ---: |")
    tot = {"armv6m": 0, "x86": 0}
    for rel in sorted(sizes):
        s = sizes[rel]
        for a in tot:
            tot[a] += s.get(a, 0)
        print("| %s | %d | %d |" % (rel, s.get("armv6m", 0), s.get("x86", 0)))
    print("| total | %d | %d |" % (tot["armv6m"], tot["x86"]))


def main(argv):
    frozen = None
    if "--frozen" in argv:  # --frozen "": none, even if build/ has one
        frozen = argv[argv.index("--frozen") + 1]
        frozen = os.path.abspath(frozen) if frozen else None
    else:
        default = os.path.join(REPO, "build", "micropython32-frozen")
        frozen = default if os.path.exists(default) else None
    tmp = tempfile.mkdtemp(prefix="footprint-")
    try:
        heaps = measure(frozen, tmp)
        report(heaps, mpy_sizes(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not frozen:
        print("\n(frozen: no build given; `make firmware BOARD=unix MICROPY_DIR=... M32=1` "
              "makes build/micropython32-frozen)")


if __name__ == "__main__":
    main(sys.argv[1:])
