"""The scenario's library features (scenario.py "feat") put into what the real-time runner
starts: reference node specs (refnode.py), board configs (sedsnet_node/config.py sections),
the deployed schema files (per-type reliable / e2e_encryption) and the extra packages a board
needs for them."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import build  # noqa: E402
import netevents  # noqa: E402
import netvar_p2p  # noqa: E402


def node_spec(feat, name, hostnames=None):
    """The refnode.py spec keys of the scenario's features for reference node `name`."""
    spec = {"type_flags": feat["type_flags"], "timesync_source": feat["timesync_source"] == name,
            "reliable_sides": [side for node, side in feat["reliable_sides"] if node == name],
            "tuning": feat.get("tuning", {})}
    e2e = feat["e2e"]
    if e2e and name in e2e["nodes"]:
        spec["e2e"] = {"key_id": e2e["key_id"], "key": e2e["key"]}
    spec.update(netvar_p2p.node_spec(feat, name, hostnames or {}))
    spec.update(netevents.node_spec(feat, name))  # a time-source failover's backup
    return spec


def board_config(feat, b):
    """A board's config.json with the scenario's features: its UART sides on reliable links
    get "reliable": true, an E2E holder gets the "e2e" section (sedsnet_node/config.py)."""
    cfg = json.loads(json.dumps(b["config"]))
    for s in cfg.get("sides", ()):
        if (b["name"], s.get("name", s.get("type", "").upper())) in feat["reliable_sides"]:
            s["reliable"] = True
    e2e = feat["e2e"]
    if e2e and b["name"] in e2e["nodes"]:
        cfg["e2e"] = {"keys": {str(e2e["key_id"]): e2e["key"]}, "key_id": e2e["key_id"]}
    netvar_p2p.board_config(feat, b["name"], cfg)
    netevents.board_config(feat, b["name"], cfg)
    return cfg


def flag_schema(path, flags):
    """Merge per-type flags ({type: {"reliable", "e2e_encryption"}}) into a deployed schema."""
    if not flags or not os.path.exists(path):
        return
    with open(path) as f:
        doc = json.load(f)
    for t in doc.get("types", ()):
        t.update(flags.get(t.get("name"), {}))
    with open(path, "w") as f:
        json.dump(doc, f)


def packages(feat):
    """The packages/ a board needs on top of its manifest for the scenario's features."""
    out = []
    if any(f.get("reliable") for f in feat["type_flags"].values()) or feat["reliable_sides"]:
        out.append("sedsnet-reliable")
    if feat["e2e"]:
        out.append("sedsnet-e2e")
    return out + netvar_p2p.packages(feat)


def add_packages(board, fs, names):
    """Compile the packages' modules the board's manifest leaves out onto its filesystem (as
    `mpremote mip install` would put them in /lib): what a board owner adds for the feature."""
    import manifest
    arch = build.arch_of(board)
    for name in names:
        m = manifest.read(os.path.join(REPO, "packages", name, "manifest.py"))
        for src, dest in m.files:
            target = os.path.join(fs, "lib", dest[:-3] + ".mpy")
            if os.path.exists(target):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            cmd = [build.mpy_cross(), "-o", target, "-s", dest, src]
            if arch:
                cmd.insert(1, "-march=" + arch)
            subprocess.run(cmd, check=True, capture_output=True)
