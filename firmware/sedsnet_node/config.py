# A board's config.json and its schema file: loading and checking them. Every mistake is a
# ConfigError that names the file, the field and what is allowed, raised before anything is
# built (a typo must not surface later as "KeyError: id" from inside the library).
import json

import sedsnet_node
from sedsnet.errors import SedsError

SIDE_TYPES = ("uart", "sx127x", "nrf24")
DATA_TYPES = ("Float64", "Float32", "UInt8", "UInt16", "UInt32", "UInt64", "UInt128", "Int8",
              "Int16", "Int32", "Int64", "Int128", "Bool", "String", "Binary", "NoData")
CLASSES = ("Data", "Error", "Warning")
# the short spellings sedsnet.register_schema_json_* accepts too (any case, "_" and "-" ignored)
_ALIASES = {"f64": 0, "double": 0, "f32": 1, "float": 1, "u8": 2, "u16": 3, "u32": 4, "u64": 5,
            "u128": 6, "i8": 7, "i16": 8, "i32": 9, "i64": 10, "i128": 11, "boolean": 12,
            "str": 13, "bytes": 14, "none": 15}


ConfigError = getattr(sedsnet_node, "ConfigError", None)  # one class however often this loads
if ConfigError is None:  # (app.boot drops this module once the config is read)
    class ConfigError(SedsError):
        """A board config or schema file is wrong: the message names file, field, allowed
        values."""
    sedsnet_node.ConfigError = ConfigError


def fail(path, field, why, allowed=None):
    msg = "%s: %s: %s" % (path, field, why)
    if allowed is not None:
        msg += "; allowed: " + ", ".join(str(a) for a in allowed)
    raise ConfigError(msg)


def load_json(path, what="config"):
    """The JSON document in path; a missing or broken file is a ConfigError naming it."""
    try:
        f = open(path)
    except OSError as e:
        fail(path, what, "cannot open the file (%s)" % (e,))
    try:
        text = f.read()
    finally:
        f.close()
    try:
        doc = json.loads(text)
    except ValueError as e:
        fail(path, what, "not valid JSON (%s; %d bytes: truncated?)" % (e, len(text)))
    if not isinstance(doc, dict):
        fail(path, what, "must be a JSON object {...}")
    return doc


def load_config(path="config.json"):
    cfg = load_json(path)
    for key in ("hostname", "sides"):
        if key not in cfg:
            fail(path, key, "missing")
    for i, side in enumerate(cfg["sides"]):
        if side.get("type") not in SIDE_TYPES:
            fail(path, "sides[%d] (%s).type" % (i, side.get("name")),
                 "unknown side type %r" % (side.get("type"),), SIDE_TYPES)
        if not isinstance(side.get("reliable", False), bool):
            fail(path, "sides[%d] (%s).reliable" % (i, side.get("name")),
                 "must be true or false, not %r" % (side["reliable"],))
    check_features(cfg, path)
    return cfg


TIMESYNC_ROLES = ("consumer", "source", "auto")  # 4.2.7's timesync_role 0, 1, 2
_TS_INTS = ("timesync_priority", "timesync_source_timeout_ms", "timesync_announce_interval_ms",
            "timesync_request_interval_ms", "timesync_max_slew_ppm")
_TS_BOOLS = ("timesync_enabled", "timesync_consumer_promotion_enabled")


def _uint(path, field, v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        fail(path, field, "must be an int >= 0, not %r" % (v,))
    return v


def timesync_role(path, value):
    """The timesync_role code of a config value: a role name (any case) or 0..2."""
    if isinstance(value, str) and value.lower() in TIMESYNC_ROLES:
        return TIMESYNC_ROLES.index(value.lower())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2:
        return value
    fail(path, "router.timesync_role", "unknown role %r" % (value,), TIMESYNC_ROLES)


def e2e_keys(path, cfg):
    """[(key_id, key bytes)] of cfg["e2e"]["keys"] ({"7": "hex..."}), checked."""
    import binascii
    keys = cfg.get("e2e", {}).get("keys", {})
    if not isinstance(keys, dict):
        fail(path, "e2e.keys", "must be an object {\"key id\": \"hex key\"}")
    out = []
    for kid, text in keys.items():
        field = "e2e.keys.%s" % (kid,)
        try:
            n = int(kid)
        except ValueError:
            n = -1
        if not 0 <= n <= 0xFFFFFFFF:
            fail(path, field, "the key id must be an int 0..4294967295")
        try:
            key = binascii.unhexlify(text)
        except (TypeError, ValueError):
            fail(path, field, "the key must be a hex string, not %r" % (text,))
        if len(key) < 16:
            fail(path, field, "a key needs at least 16 bytes (32 hex digits), got %d" % len(key))
        out.append((n, key))
    return out


def check_features(cfg, path="config.json"):
    """Check the "router" time sync options and the "e2e", "network_variables" and "p2p"
    sections before anything is built."""
    opts = cfg.get("router", {})
    if not isinstance(opts, dict):
        fail(path, "router", "must be an object {...}")
    if "timesync_role" in opts:
        timesync_role(path, opts["timesync_role"])
    for key in _TS_INTS:
        if key in opts:
            _uint(path, "router." + key, opts[key])
    for key in _TS_BOOLS:
        if key in opts and not isinstance(opts[key], bool):
            fail(path, "router." + key, "must be true or false, not %r" % (opts[key],))
    if "network_variables" in cfg or "p2p" in cfg:
        from .netfeat import check
        check(cfg, path, fail)
    e2e = cfg.get("e2e")
    if e2e is None:
        return
    if not isinstance(e2e, dict):
        fail(path, "e2e", "must be an object {\"keys\": {...}, \"key_id\": n}")
    for k in e2e:
        if k not in ("keys", "key_id"):
            fail(path, "e2e." + k, "unknown key", ("keys", "key_id"))
    ids = [n for n, _k in e2e_keys(path, cfg)]
    if "key_id" in e2e:
        kid = e2e["key_id"]
        if isinstance(kid, bool) or not isinstance(kid, int) or kid not in ids:
            fail(path, "e2e.key_id", "%r is not one of the config's keys" % (kid,), ids)


def data_type_code(path, field, value):
    if isinstance(value, str):
        key = value.replace("_", "").replace("-", "").lower()
        for i, name in enumerate(DATA_TYPES):
            if name.lower() == key:
                return i
        if key in _ALIASES:
            return _ALIASES[key]
    fail(path, field, "unknown data_type %r" % (value,), DATA_TYPES)


def class_code(path, field, value):
    for i, name in enumerate(CLASSES):
        if isinstance(value, str) and name.lower() == value.lower():
            return i
    fail(path, field, "unknown class %r" % (value,), CLASSES)


def register_schema(doc, seds, path="schema.json"):
    """Register a schema document: {"endpoints": [{"name"}...], "types": [{"name", "data_type",
    "count", "endpoints", "class", "priority", "reliable" 0..2, "e2e_encryption" 0..2}...]}. IDs come from the names (endpoint_identity /
    data_type_identity), so a reference node registering the same document gets the same IDs.
    (sedsnet 4.2.7's register_schema_json_* rejects every "types" entry, hence this format.)
    Everything is checked before the first registration."""
    eps = doc.get("endpoints", ())
    names = []
    for i, ep in enumerate(eps):
        if not isinstance(ep, dict) or not isinstance(ep.get("name"), str):
            fail(path, "endpoints[%d].name" % i, "missing or not a string")
        names.append(ep["name"])
    rows = []
    for i, t in enumerate(doc.get("types", ())):
        where = "types[%d] (%s)" % (i, t.get("name"))
        if not isinstance(t.get("name"), str):
            fail(path, where + ".name", "missing or not a string")
        for n in t.get("endpoints", ()):
            if n not in names:
                fail(path, where + ".endpoints", "unknown endpoint %r" % (n,), names)
        rows.append((t, data_type_code(path, where + ".data_type", t.get("data_type", "Float32")),
                     class_code(path, where + ".class", t.get("class", "Data"))))
        for key, allowed in (("reliable", (0, 1, 2)), ("e2e_encryption", (0, 1, 2))):
            if t.get(key, 0) not in allowed or isinstance(t.get(key), bool):
                fail(path, where + "." + key, "unknown %s mode %r" % (key, t.get(key)), allowed)
    for ep in eps:
        seds.register_endpoint(seds.endpoint_identity(ep["name"]), ep["name"],
                               ep.get("link_local_only", False), ep.get("description", ""))
    for t, dt, cls in rows:
        ids = [seds.endpoint_identity(n) for n in t.get("endpoints", ())]
        count = t.get("count", 0)
        seds.register_data_type(seds.data_type_identity(t["name"]), t["name"], count > 0, count,
                                dt, cls, ids, reliable=t.get("reliable", 0),
                                priority=t.get("priority", 0),
                                description=t.get("description", ""),
                                e2e_encryption=t.get("e2e_encryption", 0))
    return names, [t["name"] for t, _d, _c in rows]


def resolve(cfg, seds, schema_dir="", cfg_path="config.json"):
    """Everything app.build needs from the config's names, worked out before the router's
    modules compile (app.boot drops this module, and identity.py, right after): registers the
    schema file and returns (handlers [(endpoint name, ID)], sensors [(entry, type ID)], e2e
    keys [(key id, key)], netfeat's (own, watch) or None). Also turns a timesync_role name
    into its code (building then needs nothing of this module's)."""
    endpoints = types = None  # without a schema: whatever the program registered itself
    schema = cfg.get("schema")
    if schema:
        spath = schema_dir + schema
        try:
            open(spath).close()
        except OSError as e:
            fail(cfg_path, "schema", "no schema file %s (%s)" % (spath, e))
        endpoints, types = register_schema(load_json(spath, "schema"), seds, spath)
    handlers = [(ep, endpoint_id(seds, cfg_path, "handlers[%d]" % i, ep, endpoints))
                for i, ep in enumerate(cfg.get("handlers", ()))]
    sensors = [(s, data_type_id(seds, cfg_path, "sensors[%d] (%s).type" % (i, s.get("name")),
                                s.get("type"), types))
               for i, s in enumerate(cfg.get("sensors", ()))]
    nf = None
    if "network_variables" in cfg or "p2p" in cfg:  # sedsnet_node/netfeat.py: only then
        from .netfeat import types_of
        nf = types_of(cfg, seds, cfg_path, types, data_type_id)
    opts = cfg.get("router", {})
    if "timesync_role" in opts:
        opts["timesync_role"] = timesync_role("config", opts["timesync_role"])
    return handlers, sensors, e2e_keys(cfg_path, cfg), nf


def _registered(lookup, name):
    try:
        return lookup(name)["id"]
    except Exception:  # the library's "not found" (KeyError today)
        return None


def endpoint_id(seds, path, field, name, known=None):
    """The ID of an endpoint the config names (handlers); ConfigError if the schema (known:
    its endpoint names; None: ask the library) lacks it."""
    if known is None:
        eid = _registered(seds.endpoint_info_by_name, name) if isinstance(name, str) else None
        if eid is None:
            fail(path, field, "unknown endpoint %r (no schema file in the config)" % (name,))
        return eid
    if name not in known:
        fail(path, field, "unknown endpoint %r" % (name,), known)
    return seds.endpoint_identity(name)


def data_type_id(seds, path, field, name, known=None):
    """The ID of a data type the config names (sensors); as endpoint_id."""
    if known is None:
        tid = _registered(seds.data_type_info_by_name, name) if isinstance(name, str) else None
        if tid is None:
            fail(path, field, "unknown data type %r (no schema file in the config)" % (name,))
        return tid
    if name not in known:
        fail(path, field, "unknown data type %r" % (name,), known)
    return seds.data_type_identity(name)
