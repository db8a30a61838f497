"""The installable parts, micropython-lib style: a core library, add-ons that require it, the
firmware runtime `sedsnet_node` and its drivers; each board takes the parts it uses.

    python tools/packages.py            (re)write packages/<part>/{package.json,manifest.py}
                                        and the root package.json from PARTS below
    python tools/packages.py --base URL --out DIR    the same files with URL instead of the
                                        GitHub location (a local mirror: host_tests/test_mip.py)

`mpremote mip install github:sedsnet/sedsnet-micropython/packages/<part>` installs a part and what
it requires (`deps`); `mpremote mip install github:sedsnet/sedsnet-micropython` installs every
MicroPython part. A board's `boards/<board>/manifest.py` includes the part manifests it needs;
`make deploy` copies exactly what that manifest names (tools/manifest.py reads it). The one
version is `__version__` in lib/sedsnet/__init__.py: the files written here copy it.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GITHUB = "github:sedsnet/sedsnet-micropython/"
LIB = os.path.join(REPO, "lib", "sedsnet")
NODE = os.path.join(REPO, "firmware", "sedsnet_node")

# part -> (package dir on the device, source dir, module files or None = "every module of the
# package that no other part of it names", required parts, description)
PARTS = (
    ("sedsnet", "sedsnet", "lib/sedsnet", None, (),
     "SEDSnet router, relay core, wire codec and runtime schema (pure-Python kernels)"),
    ("sedsnet-viper", "sedsnet", "lib/sedsnet", ("_fast.py", "_fast_frame.py", "_fast_sdt.py"),
     ("sedsnet",),
     "viper kernels for MicroPython builds with the native emitter (not CircuitPython)"),
    ("sedsnet-discovery", "sedsnet", "lib/sedsnet",
     ("announce.py", "announce_codec.py", "announce_table.py", "linkload.py", "paths.py",
      "schema_wire.py", "topology.py"),
     ("sedsnet",),
     "discovery announcements (without it a router floods to every side)"),
    ("sedsnet-relay", "sedsnet", "lib/sedsnet", ("relay.py",), ("sedsnet",), "sedsnet.Relay"),
    ("sedsnet-stats", "sedsnet", "lib/sedsnet", ("stats.py",), ("sedsnet",),
     "export_runtime_stats() and export_memory_layout_json()"),
    ("sedsnet-schema-json", "sedsnet", "lib/sedsnet", ("schema_json.py",), ("sedsnet",),
     "register_schema_json_bytes/_file"),
    ("sedsnet-text", "sedsnet", "lib/sedsnet", ("_fmt.py",), ("sedsnet",),
     "str() of a Packet and its header"),
    ("sedsnet-sdt", "sedsnet", "lib/sedsnet", ("sdt.py", "sdt_codec.py", "sdt_reassembly.py"),
     ("sedsnet",), "side-transport profiles: compact SDT frames and chunking for small radios"),
    ("sedsnet-timesync", "sedsnet", "lib/sedsnet", ("timesync.py", "timesync_api.py"),
     ("sedsnet",), "time sync: the network clock, TIME_SYNC roles and the time API"),
    ("sedsnet-e2e", "sedsnet", "lib/sedsnet", ("e2e.py", "e2e_frame.py"), ("sedsnet",),
     "end-to-end payload crypto (HMAC-SHA256 keystream and tag, 4.2.7's wire)"),
    ("sedsnet-netvar", "sedsnet", "lib/sedsnet", ("netvar.py", "netvar_push.py"), ("sedsnet",),
     "network variables: cached, refreshed and pushed managed values"),
    ("sedsnet-p2p", "sedsnet", "lib/sedsnet", ("p2p.py", "p2p_codec.py", "p2p_stream.py"),
     ("sedsnet", "sedsnet-discovery"), "P2P service ports and streams (datagrams, SDSP streams)"),
    ("sedsnet-reliable", "sedsnet", "lib/sedsnet",
     ("reliable.py", "reliable_rx.py", "reliable_e2e.py", "reliable_origin.py",
      "reliable_holders.py"), ("sedsnet",),
     "reliable delivery: hop sequencing, ACKs, retransmits, ordered release, end to end"),
    ("sedsnet-node", "sedsnet_node", "firmware/sedsnet_node", None, ("sedsnet",),
     "board runtime: config, main loop, watchdog, LED (needs a hw and a link part)"),
    ("sedsnet-node-uart", "sedsnet_node", "firmware/sedsnet_node",
     ("uart_link.py", "cobs.py"), ("sedsnet-node",), "UART side, COBS framing"),
    ("sedsnet-node-radio", "sedsnet_node", "firmware/sedsnet_node", ("radio_queue.py",),
     ("sedsnet-node",), "the radio sides' TX queue, completion and counters"),
    ("sedsnet-node-sx127x", "sedsnet_node", "firmware/sedsnet_node", ("sx127x.py",),
     ("sedsnet-node-radio", "sedsnet-sdt"),
     "SX127x / RFM9x LoRa side (a canonical/255 SDT profile)"),
    ("sedsnet-node-nrf24", "sedsnet_node", "firmware/sedsnet_node", ("nrf24l01.py",),
     ("sedsnet-node-radio", "sedsnet-sdt"),
     "nRF24L01(+) side, 32-byte frames (an ipv6_like/32 profile)"),
    ("sedsnet-node-machine", "sedsnet_node", "firmware/sedsnet_node", ("hw_machine.py",),
     ("sedsnet-node",), "MicroPython machine.UART/SPI/Pin/WDT from a config"),
    ("sedsnet-node-circuitpython", "sedsnet_node", "firmware/sedsnet_node",
     ("hw_circuitpython.py",), ("sedsnet-node",), "CircuitPython busio/digitalio from a config"),
    ("sedsnet-node-simsensors", "sedsnet_node", "firmware/sedsnet_node", ("simsensors.py",),
     ("sedsnet-node",), "simulated GPS and IMU sensors"),
)
# the root package.json: every part MicroPython boards use
ROOT_PARTS = tuple(p[0] for p in PARTS if p[0] != "sedsnet-node-circuitpython")


def version():
    with open(os.path.join(LIB, "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=")[1].strip().strip("\"'")
    raise SystemExit("no __version__ in lib/sedsnet/__init__.py")


def part(name):
    for p in PARTS:
        if p[0] == name:
            return p
    raise SystemExit("unknown part %r; known: %s" % (name, ", ".join(p[0] for p in PARTS)))


def files_of(name):
    """The module file names of one part, sorted."""
    _n, _pkg, src, files, _req, _d = part(name)
    if files is not None:
        return sorted(files)
    named = set()
    for p in PARTS:
        if p[2] == src and p[3] is not None:
            named.update(p[3])
    root = os.path.join(REPO, src)
    return sorted(f for f in os.listdir(root) if f.endswith(".py") and f not in named)


def package_json(name, base=GITHUB):
    _n, pkg, src, _f, req, _d = part(name)
    urls = [[pkg + "/" + f, base + src + "/" + f] for f in files_of(name)]
    deps = [[base + "packages/" + r + "/package.json", "HEAD"] for r in req]
    return {"urls": urls, "deps": deps, "version": version()}


def root_package_json(base=GITHUB):
    return {"urls": [], "deps": [[base + "packages/" + n + "/package.json", "HEAD"]
                                 for n in ROOT_PARTS], "version": version()}


def manifest_py(name):
    _n, pkg, src, _f, req, desc = part(name)
    lines = ["# %s: %s." % (name, desc),
             "# Generated by tools/packages.py (python tools/packages.py): edit PARTS there.",
             "metadata(version=%r, description=%r)" % (version(), desc)]
    for r in req:
        lines.append('include("../%s/manifest.py")' % r)
    base = "../../" + src[:-len(pkg) - 1]
    lines.append("package(%r, files=%r, base_path=%r, opt=3)" % (pkg, files_of(name), base))
    return "\n".join(lines) + "\n"


def _dump(doc):
    """micropython-lib's layout: one url or dep per line."""
    out = []
    for key in ("urls", "deps"):
        rows = ",\n".join("    " + json.dumps(r) for r in doc[key])
        out.append('  "%s": [%s]' % (key, ("\n" + rows + "\n  ") if rows else ""))
    out.append('  "version": %s' % json.dumps(doc["version"]))
    return "{\n" + ",\n".join(out) + "\n}\n"


def outputs(base=GITHUB):
    """{relative path: text} of every generated file."""
    out = {"package.json": _dump(root_package_json(base))}
    for p in PARTS:
        out["packages/%s/package.json" % p[0]] = _dump(package_json(p[0], base))
        out["packages/%s/manifest.py" % p[0]] = manifest_py(p[0])
    return out


def write(out_root=REPO, base=GITHUB):
    for rel, text in outputs(base).items():
        path = os.path.join(out_root, rel)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return out_root


def main(argv):
    base, out = GITHUB, REPO
    if "--base" in argv:
        base = argv[argv.index("--base") + 1]
    if "--out" in argv:
        out = argv[argv.index("--out") + 1]
    write(out, base)
    print("packages: %d parts, version %s, in %s" % (len(PARTS), version(), out))


if __name__ == "__main__":
    main(sys.argv[1:])
