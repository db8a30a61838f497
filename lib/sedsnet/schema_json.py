# Schema JSON loader: the seed's document (endpoints + types with element {kind, data_type,
# count}, endpoints named by `rust` or `name`) and what sedsnet 4.2.7 accepts (schema-json.md).
# IDs are endpoint_identity(name) / data_type_identity(name), as the reference assigns them.
# A document is checked whole before anything is registered; errors name entry and field.
import json

from . import schema
from .errors import SchemaError
from .identity import data_type_identity, endpoint_identity

_DATA_TYPES = {
    "float64": 0, "f64": 0, "double": 0, "float32": 1, "f32": 1, "float": 1,
    "uint8": 2, "u8": 2, "uint16": 3, "u16": 3, "uint32": 4, "u32": 4, "uint64": 5, "u64": 5,
    "uint128": 6, "u128": 6, "int8": 7, "i8": 7, "int16": 8, "i16": 8, "int32": 9, "i32": 9,
    "int64": 10, "i64": 10, "int128": 11, "i128": 11, "bool": 12, "boolean": 12,
    "string": 13, "str": 13, "binary": 14, "bytes": 14, "nodata": 15, "none": 15,
}
_CLASSES = {"data": 0, "error": 1, "warning": 2}
_RELIABLE = {"off": 0, "none": 0, "ordered": 1, "unordered": 2}
_E2E = {"preferoff": 0, "off": 0, "preferon": 1, "on": 1, "requireon": 2, "required": 2}


def _fail(where, field, why):
    raise SchemaError("schema json: %s: field '%s': %s" % (where, field, why))


def _text(entry, where, key, alt=None, default=None):
    v = entry.get(key)
    if v is None and alt is not None:
        v = entry.get(alt)
    if v is None:
        if default is None:
            _fail(where, key, "missing")
        return default
    if not isinstance(v, str):
        _fail(where, key, "must be a string")
    return v


def _code(entry, where, key, table, default, alt=None, hi=2):
    v = entry.get(key)
    if v is None and alt is not None:
        key, v = alt, entry.get(alt)
    if v is None:
        return default
    if isinstance(v, bool):
        _fail(where, key, "bad value %r" % (v,))
    if isinstance(v, int):
        if 0 <= v <= hi:
            return v
    elif isinstance(v, str):
        c = table.get(v.replace("_", "").replace("-", "").lower())
        if c is not None:
            return c
    _fail(where, key, "bad value %r" % (v,))


def _parse(doc):
    if not isinstance(doc, dict):
        _fail("document", "endpoints", "top level must be an object")
    for key in ("endpoints", "types"):
        if not isinstance(doc.get(key), list):
            _fail("document", key, "missing or not an array")
    eps = []  # (id, name, link_local_only, description)
    by_ref = {}  # rust or name -> id
    for i, e in enumerate(doc["endpoints"]):
        where = "endpoints[%d]" % i
        if not isinstance(e, dict):
            _fail(where, "name", "entry must be an object")
        name = _text(e, where, "name")
        where = "%s (%s)" % (where, name)
        desc = _text(e, where, "description", "doc", "")
        llo = e.get("link_local_only", False)
        if not isinstance(llo, bool):
            _fail(where, "link_local_only", "must be true or false")
        mode = e.get("broadcast_mode")
        if mode is not None:
            if mode not in ("Never", "Off", "Always", "Default"):
                _fail(where, "broadcast_mode", "bad value %r" % (mode,))
            llo = llo or mode == "Never"
        rust = e.get("rust")
        if rust is not None and not isinstance(rust, str):
            _fail(where, "rust", "must be a string")
        id = endpoint_identity(name)
        eps.append((id, name, llo, desc))
        by_ref[name] = id
        if rust:
            by_ref[rust] = id
    types = []
    for i, t in enumerate(doc["types"]):
        where = "types[%d]" % i
        if not isinstance(t, dict):
            _fail(where, "name", "entry must be an object")
        name = _text(t, where, "name")
        where = "%s (%s)" % (where, name)
        desc = _text(t, where, "description", "doc", "")
        el = t.get("element")
        if not isinstance(el, dict):
            _fail(where, "element", "missing or not an object")
        kind = el.get("kind", "Dynamic")
        if not isinstance(kind, str) or kind.lower() not in ("static", "dynamic"):
            _fail(where, "element.kind", "must be Static or Dynamic")
        is_static = kind.lower() == "static"
        dt = el.get("data_type")
        if not isinstance(dt, str) or dt.replace("_", "").lower() not in _DATA_TYPES:
            _fail(where, "element.data_type", "unknown data type %r" % (dt,))
        mdt = _DATA_TYPES[dt.replace("_", "").lower()]
        count = el.get("count", 0 if not is_static else None)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 0xFFFFFFFF:
            _fail(where, "element.count", "static elements need a count (u32)")
        cls = _code(t, where, "class", _CLASSES, 0)
        rel = _code(t, where, "reliable_mode", _RELIABLE, 0, alt="reliable")
        e2e = _code(t, where, "e2e_encryption", _E2E, 0)
        prio = t.get("priority", 0)
        if isinstance(prio, bool) or not isinstance(prio, int) or not 0 <= prio <= 255:
            _fail(where, "priority", "must be an integer 0..255")
        refs = t.get("endpoints")
        if not isinstance(refs, list):
            _fail(where, "endpoints", "missing or not an array")
        ids = []
        for r in refs:
            id = by_ref.get(r) if isinstance(r, str) else None
            if id is None and isinstance(r, str):
                id = _known_endpoint(r)
            if id is None:
                _fail(where, "endpoints", "unknown endpoint %r" % (r,))
            ids.append(id)
        types.append((data_type_identity(name), name, is_static, count, mdt, cls, ids, rel,
                      prio, desc, e2e))
    return eps, types


def _known_endpoint(name):
    """An endpoint referenced by name that is already registered (or built in)."""
    info = schema.endpoint_info_by_name(name)
    return info["id"] if info.get("exists") else None


def _check_registrable(eps, types):
    # Conflicts are checked up front so a bad document registers nothing (the reference is
    # atomic too: the vectors show no endpoint left behind after a failed load).
    for id, name, llo, desc in eps:
        old = schema.endpoint_info(id)
        if old["exists"] and (old["name"], old["description"], old["link_local_only"]) != (
                name, desc, llo):
            _fail("endpoint %s" % name, "name", "id %d already registered differently" % id)
        other = schema.endpoint_info_by_name(name)
        if other["exists"] and other["id"] != id:
            _fail("endpoint %s" % name, "name", "name already registered as id %d" % other["id"])
    for row in types:
        other = schema.data_type_info_by_name(row[1])
        if other["exists"] and other["id"] != row[0]:
            _fail("type %s" % row[1], "name", "name already registered as id %d" % other["id"])
        old = schema.data_type_info(row[0])
        if old["exists"] and old["name"] != row[1]:
            _fail("type %s" % row[1], "name", "id %d already used by %s" % (row[0], old["name"]))


def load_bytes(data):
    """Parse and register a schema JSON document (bytes or str). Raises SchemaError."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode()
        except UnicodeError:
            raise SchemaError("schema json: document: not UTF-8")
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise SchemaError("schema json: document: not valid JSON (%s)" % e)
    eps, types = _parse(doc)
    _check_registrable(eps, types)
    # all or nothing: whatever a registration refuses half way (registry full, a reserved
    # name, a duplicate inside the document, a bound), the registry goes back as it was
    snap = schema.snapshot()
    try:
        for id, name, llo, desc in eps:
            schema.register_endpoint(id, name, llo, desc)
        for row in types:
            schema.register_data_type(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                                      reliable=row[7], priority=row[8], description=row[9],
                                      e2e_encryption=row[10])
    except Exception:
        schema.restore(snap)
        raise
