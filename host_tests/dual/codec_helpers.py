# Shared setup for the codec dual tests (ids, schema, wire, packet): a clean registry, a fresh
# nonce sequence and an empty sender cache, as in the fresh reference process of each vector.
from sedsnet import ids, schema
from support import load_vectors


def fresh(calls=()):
    """Reset process-global codec state, then apply vector schema calls."""
    schema._reset()
    ids.reset_nonce()
    ids.forget_senders()
    for c in calls:
        fn = getattr(schema, c["call"])
        fn(*c.get("args", ()), **c.get("kwargs", {}))


def router_frames():
    """Every captured router frame with its decoded fields (reliable.json, frame.json)."""
    out = []
    for area in ("reliable.json", "frame.json"):
        for c in load_vectors(area):
            for f in c.get("frames", ()):
                if isinstance(f, dict) and "hex" in f and "decoded" in f and \
                        not f["hex"].startswith("534454"):  # skip SDT side-transport frames
                    out.append(f)
    return out


def valid_frames():
    """Hex of valid, uncompressed frames from every vector file."""
    out = []
    for c in load_vectors("frame.json"):
        if "frame_hex" in c and not c["decoded"]["flags"] & 1:
            out.append(c["frame_hex"])
    for c in load_vectors("frame_decode.json"):
        out.append(c["inputs"]["frame_hex"])
    for f in router_frames()[:12]:
        out.append(f["hex"])
    return out


VECTOR_SCHEMA = load_vectors("frame.json")[0]["inputs"]["schema"]
