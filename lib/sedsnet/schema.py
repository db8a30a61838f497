# The runtime schema registry (endpoints and data types), with the reference's rules and info
# dicts (shared/protocol/schema-json.md, control-payloads.md for the built-ins). Bounded: fixed
# entry capacities, and schema_bytes_used() reports its footprint for the router's queue budget.
# The JSON loader lives in schema_json.py so boards that never load JSON never import it.
from .compat import const
from .errors import ArgumentError, SchemaError

# Type record fields (tuples; the router reads them through type_record(ty))
R_ID = const(0)
R_STATIC = const(1)
R_COUNT = const(2)
R_MDT = const(3)
R_CLASS = const(4)
R_EPS = const(5)  # tuple of endpoint IDs, sorted, unique (wire order)
R_RELIABLE = const(6)
R_PRIORITY = const(7)
R_E2E = const(8)
R_FIXED = const(9)  # fixed payload size of a static type (0 for dynamic)
R_WIDTH = const(10)  # element width in bytes (1024 for String/Binary, 0 for NoData)
R_NAME = const(11)
R_DESC = const(12)
R_EPS_RAW = const(13)  # endpoints as registered (the reference's info order)
R_FAST = const(14)  # the payload size that needs no check beyond the header's, or -1

STATIC_STRING_LENGTH = const(1024)  # the reference's static_string_length tuning value
# Element width per MessageDataType code (Float64, Float32, UInt8..UInt128, Int8..Int128, Bool,
# String, Binary, NoData)
WIDTHS = (8, 4, 1, 2, 4, 8, 16, 1, 2, 4, 8, 16, 1, 1024, 1024, 0)
_BLOB = [1024, 1024]  # String, Binary element widths of static types (tuning.py changes them)

# Bounds of one entry (4.2.7 has none: a 100k-character name registers there and every router's
# schema bytes then exceed its budget; a static type of 2^32-1 elements registers and packets
# of it cannot be built). Names and descriptions count in UTF-8 bytes.
MAX_NAME_BYTES = const(128)
MAX_DESCRIPTION_BYTES = const(512)
MAX_STATIC_PAYLOAD = const(8192)  # fixed payload of a static type: a frame a board can queue

# Capacities (user entries); change with configure() before the first registration.
_cap = [64, 64, 512]  # endpoints, types, endpoint references across all user types
_ENTRY_EP_BYTES = const(24)  # accounting: id + flags + two string refs
_ENTRY_TY_BYTES = const(64)  # accounting: the record tuple
_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type

_eps = {}  # user endpoint id -> (name, description, link_local_only)
_ep_names = {}  # name -> id (user endpoints)
_types = {}  # user type id -> record
_ty_names = {}  # name -> id (user types)
_refs = [0]  # endpoint references held by user types
_used = [-1]  # schema_bytes_used() cache (-1: recompute)

_BUILTIN_EPS = {200: ("SEDSNET_TIME_SYNC", "", False), 201: ("SEDSNET_DISCOVERY", "", False),
                202: ("SEDSNET_ERROR", "", False)}


def _record(ty, name, is_static, count, mdt, cls, eps, reliable, priority, e2e, desc):
    width = _BLOB[mdt - 13] if 13 <= mdt <= 14 else WIDTHS[mdt]
    if not is_static:
        count = 0
    # (R_FAST: a static type's size, unless it is a String (UTF-8 check) or RequireOn)
    fast = width * count if is_static and mdt != 13 and e2e != 2 else -1
    return (ty, bool(is_static), count, mdt, cls, tuple(sorted(set(eps))), reliable, priority,
            e2e, width * count, width, name, desc, tuple(eps), fast)


# The 19 built-in data types (4.2.7's control types), kept compact and turned into records on
# first use: names without "SEDSNET_", and 7 bytes per type (static, count, mdt, class,
# endpoint - 200, reliable, priority)
_BT_NAMES = ("ERROR RELIABLE_ACK RELIABLE_PACKET_REQUEST RELIABLE_PARTIAL_ACK "
             "TIME_SYNC_ANNOUNCE TIME_SYNC_REQUEST TIME_SYNC_RESPONSE DISCOVERY_ANNOUNCE "
             "DISCOVERY_TIMESYNC_SOURCES DISCOVERY_TOPOLOGY DISCOVERY_SCHEMA "
             "DISCOVERY_TOPOLOGY_REQUEST DISCOVERY_SCHEMA_REQUEST MANAGED_VARIABLE_REQUEST "
             "MANAGED_VARIABLE_VALUE DISCOVERY_LEAVE DISCOVERY_LINK_CAPABILITIES "
             "DISCOVERY_ADDRESS P2P_MESSAGE ")
_BT_ROWS = (b"\x00\x00\x0d\x01\x02\x00\xff"  # ERROR
            b"\x01\x02\x04\x00\x02\x00\xfa"  # RELIABLE_ACK
            b"\x01\x02\x04\x00\x02\x00\xfa"  # RELIABLE_PACKET_REQUEST
            b"\x01\x02\x04\x00\x02\x00\xfa"  # RELIABLE_PARTIAL_ACK
            b"\x01\x02\x05\x00\x00\x00\xf5"  # TIME_SYNC_ANNOUNCE
            b"\x01\x02\x05\x00\x00\x00\xf5"  # TIME_SYNC_REQUEST
            b"\x01\x04\x05\x00\x00\x00\xf5"  # TIME_SYNC_RESPONSE
            b"\x00\x00\x04\x00\x01\x00\xf0"  # DISCOVERY_ANNOUNCE
            b"\x00\x00\x02\x00\x01\x00\xf0"  # DISCOVERY_TIMESYNC_SOURCES
            b"\x00\x00\x02\x00\x01\x01\xf0"  # DISCOVERY_TOPOLOGY
            b"\x00\x00\x02\x00\x01\x01\xf1"  # DISCOVERY_SCHEMA
            b"\x00\x00\x02\x00\x01\x01\xf2"  # DISCOVERY_TOPOLOGY_REQUEST
            b"\x00\x00\x02\x00\x01\x01\xf2"  # DISCOVERY_SCHEMA_REQUEST
            b"\x00\x00\x02\x00\x01\x01\xf3"  # MANAGED_VARIABLE_REQUEST
            b"\x00\x00\x02\x00\x01\x01\xf3"  # MANAGED_VARIABLE_VALUE
            b"\x00\x00\x02\x00\x01\x00\xf4"  # DISCOVERY_LEAVE
            b"\x00\x00\x02\x00\x01\x00\xf0"  # DISCOVERY_LINK_CAPABILITIES
            b"\x00\x00\x02\x00\x01\x01\xf4"  # DISCOVERY_ADDRESS
            b"\x00\x00\x02\x00\x01\x01\xf6")  # P2P_MESSAGE
_bt = [None] * 19  # built-in records made so far


def _builtin(ty):
    o = ty * 7
    b = _BT_ROWS
    width = WIDTHS[b[o + 2]]
    eps = (200 + b[o + 4],)
    count = b[o + 1] if b[o] else 0
    r = _bt[ty] = (ty, b[o] == 1, count, b[o + 2], b[o + 3], eps, b[o + 5], b[o + 6], 0,
                   width * count, width, "SEDSNET_" + _BT_NAMES.split()[ty], "", eps, -1)
    return r


def _builtin_id(name):
    """The ID of the built-in data type called name, or None."""
    if isinstance(name, str) and name[:8] == "SEDSNET_":
        n = _BT_NAMES.split()
        if name[8:] in n:
            return n.index(name[8:])
    return None


# ---- fast internal lookups (router, codec) -------------------------------------------------

def type_record(ty):
    """The record tuple of data type `ty` (fields R_*), or None when unknown."""
    if 0 <= ty <= _SEDSNET_P2P_MESSAGE:
        return _bt[ty] or _builtin(ty)
    return _types.get(ty)


def endpoint_exists(id):
    """True when endpoint `id` is registered (built-in or user)."""
    return id in _eps or id in _BUILTIN_EPS


def data_type_exists(ty):
    """True when data type `ty` is registered (built-in or user)."""
    return type_record(ty) is not None


def endpoint_name(id):
    meta = _eps.get(id) or _BUILTIN_EPS.get(id)
    return meta[0] if meta else None


# ---- registration --------------------------------------------------------------------------

def _u32(value, what):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFFFFFF:
        raise ArgumentError("%s out of range (u32): %r" % (what, value))
    return value


def _code(value, hi, what):
    if not isinstance(value, int) or not 0 <= value <= hi:
        raise ArgumentError("bad %s: %r" % (what, value))
    return int(value)


def _str(value, what):
    if not isinstance(value, str):
        raise ArgumentError("%s must be a str" % what)
    return value


def _bounded(kind, name, description):
    # (the message shows only the start of a long name)
    for field, text, hi in (("name", name, MAX_NAME_BYTES),
                            ("description", description, MAX_DESCRIPTION_BYTES)):
        n = len(text.encode())
        if n > hi:
            raise SchemaError("%s %r: field '%s' is %d bytes, at most %d"
                              % (kind, name[:32], field, n, hi))


def _static_size(name, is_static, count, mdt):
    size = WIDTHS[mdt] * count
    if is_static and size > MAX_STATIC_PAYLOAD:
        raise SchemaError("data type %r: field 'element_count' %d makes a %d-byte payload, "
                          "at most %d" % (name[:32], count, size, MAX_STATIC_PAYLOAD))


def configure(max_endpoints=64, max_types=64, max_type_endpoints=512):
    """Set the registry capacities (user entries). Only while no user entry is registered."""
    if _eps or _types:
        raise SchemaError("configure() needs an empty registry")
    _cap[0] = max_endpoints
    _cap[1] = max_types
    _cap[2] = max_type_endpoints


def register_endpoint(id, name, link_local_only=False, description=""):
    """Register endpoint `id` named `name`; returns id. Same definition twice is fine;
    a conflicting ID, name or metadata, or a built-in, raises SchemaError (reference: BadArg)."""
    id = _u32(id, "endpoint id")
    _str(name, "name")
    _str(description, "description")
    if not isinstance(link_local_only, (int, bool)):
        raise ArgumentError("link_local_only must be a bool, not %r" % (link_local_only,))
    _bounded("endpoint", name, description)
    meta = (name, description, bool(link_local_only))
    if id in _BUILTIN_EPS or name in ("SEDSNET_TIME_SYNC", "SEDSNET_DISCOVERY", "SEDSNET_ERROR"):
        raise SchemaError("endpoint %r (%d): built-in endpoints cannot be overridden" % (name, id))
    old = _eps.get(id)
    if old is not None:
        if old == meta:
            return id
        raise SchemaError("endpoint %r (%d): id already registered as %r" % (name, id, old[0]))
    if name in _ep_names:
        raise SchemaError("endpoint %r: name already registered as id %d" % (name, _ep_names[name]))
    if len(_eps) >= _cap[0]:
        raise SchemaError("endpoint %r: registry full (%d endpoints)" % (name, _cap[0]))
    _eps[id] = meta
    _used[0] = -1
    _ep_names[name] = id
    return id


def register_data_type(ty, name, is_static, element_count, message_data_type, message_class,
                       endpoints, reliable=0, priority=0, description="", e2e_encryption=0):
    """Register data type `ty`; returns ty. Codes as in consts (MessageDataType 0..15, class
    0..2, reliable 0..2, e2e 0..2, priority 0..255). Endpoints need not be registered."""
    ty = _u32(ty, "data type id")
    _str(name, "name")
    _str(description, "description")
    mdt = _code(message_data_type, 15, "message_data_type")
    cls = _code(message_class, 2, "message_class")
    rel = _code(reliable, 2, "reliable")
    e2e = _code(e2e_encryption, 2, "e2e_encryption")
    prio = _code(priority, 255, "priority")
    count = _u32(element_count, "element_count")
    if not isinstance(is_static, (int, bool)):
        raise ArgumentError("is_static must be a bool, not %r" % (is_static,))
    if not isinstance(endpoints, (list, tuple)):
        raise ArgumentError("endpoints: a list of endpoint ids, not %s" % type(endpoints).__name__)
    _bounded("data type", name, description)
    _static_size(name, is_static, count, mdt)
    eps = []
    for e in endpoints:
        eps.append(_u32(e, "endpoints: endpoint id"))
    rec = _record(ty, name, is_static, count, mdt, cls, eps, rel, prio, e2e, description)
    if ty <= _SEDSNET_P2P_MESSAGE or _builtin_id(name) is not None:
        raise SchemaError("data type %r (%d): built-in types cannot be overridden" % (name, ty))
    old = _types.get(ty)
    if old is not None:
        if old == rec:
            return ty
        raise SchemaError("data type %r (%d): id already registered as %r" % (name, ty, old[R_NAME]))
    if name in _ty_names:
        raise SchemaError("data type %r: name already registered as id %d" % (name, _ty_names[name]))
    if len(_types) >= _cap[1] or _refs[0] + len(eps) > _cap[2]:
        raise SchemaError("data type %r: registry full" % name)
    _types[ty] = rec
    _used[0] = -1
    _ty_names[name] = ty
    _refs[0] += len(eps)
    return ty


def schema_bytes_used():
    """Approximate bytes held by user schema entries (counted in the router's queue budget).
    Cached until the registry changes: routers ask on every periodic()."""
    n = _used[0]
    return n if n >= 0 else _count_used()


def _count_used():
    n = 0
    for meta in _eps.values():
        n += _ENTRY_EP_BYTES + len(meta[0]) + len(meta[1])
    for r in _types.values():
        n += _ENTRY_TY_BYTES + 8 * len(r[R_EPS_RAW]) + len(r[R_NAME]) + len(r[R_DESC])
    _used[0] = n
    return n


def __getattr__(name):
    # the query, removal and JSON half of the registry API (schema_api.py) loads on first use
    from . import schema_api
    try:
        return getattr(schema_api, name)
    except AttributeError:
        raise AttributeError(name)
