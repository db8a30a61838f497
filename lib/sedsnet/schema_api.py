# The query, removal and JSON entry points of the schema registry (schema.py holds the
# registry and what the router needs): loaded on the first call of one (schema.__getattr__
# and sedsnet's lazy table), so a board that only registers and logs never loads it.
from .compat import const
from .errors import ArgumentError, SchemaError
from .schema import (_BLOB, _BUILTIN_EPS, R_CLASS, R_COUNT, R_DESC, R_E2E, R_EPS, R_EPS_RAW,
                     R_FIXED, R_ID, R_MDT, R_NAME, R_PRIORITY, R_RELIABLE, R_STATIC,
                     _builtin_id, _ep_names, _eps, _record, _refs, _str, _ty_names, _types,
                     _used, type_record)

_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type


def remove_data_type(ty):
    """Remove user data type `ty`; True if it existed. Built-ins raise SchemaError."""
    if 0 <= ty <= _SEDSNET_P2P_MESSAGE:
        raise SchemaError("data type %d: built-in types cannot be removed" % ty)
    rec = _types.pop(ty, None)
    _used[0] = -1
    if rec is None:
        return False
    del _ty_names[rec[R_NAME]]
    _refs[0] -= len(rec[R_EPS_RAW])
    return True


def remove_data_type_by_name(name):
    if _builtin_id(name) is not None:
        raise SchemaError("data type %r: built-in types cannot be removed" % name)
    ty = _ty_names.get(name)
    return False if ty is None else remove_data_type(ty)


def remove_endpoint(id):
    """Remove user endpoint `id` and every user type that lists it (as the reference does)."""
    if id in _BUILTIN_EPS:
        raise SchemaError("endpoint %d: built-in endpoints cannot be removed" % id)
    meta = _eps.pop(id, None)
    _used[0] = -1
    if meta is None:
        return False
    del _ep_names[meta[0]]
    for ty in [t for t, r in _types.items() if id in r[R_EPS]]:
        remove_data_type(ty)
    return True


def remove_endpoint_by_name(name):
    if name in ("SEDSNET_TIME_SYNC", "SEDSNET_DISCOVERY", "SEDSNET_ERROR"):
        raise SchemaError("endpoint %r: built-in endpoints cannot be removed" % name)
    id = _ep_names.get(name)
    return False if id is None else remove_endpoint(id)


# ---- info dicts (the reference's keys) ----------------------------------------------------

def _ep_dict(id, meta):
    return {"exists": True, "id": id, "name": meta[0], "description": meta[1],
            "link_local_only": meta[2]}


def _ty_dict(r):
    return {"exists": True, "id": r[R_ID], "name": r[R_NAME], "description": r[R_DESC],
            "is_static": r[R_STATIC], "element_count": r[R_COUNT],
            "message_data_type": r[R_MDT], "message_class": r[R_CLASS],
            "reliable": r[R_RELIABLE], "priority": r[R_PRIORITY], "e2e_encryption": r[R_E2E],
            "fixed_size": r[R_FIXED], "endpoints": list(r[R_EPS_RAW])}


def endpoint_info(id):
    meta = _eps.get(id) or _BUILTIN_EPS.get(id)
    return _ep_dict(id, meta) if meta else {"exists": False, "id": id}


def endpoint_info_by_name(name):
    id = _ep_names.get(name)
    if id is None:
        for k, meta in _BUILTIN_EPS.items():
            if meta[0] == name:
                id = k
    return endpoint_info(id) if id is not None else {"exists": False, "name": name}


def data_type_info(ty):
    r = type_record(ty)
    return _ty_dict(r) if r else {"exists": False, "id": ty}


def data_type_info_by_name(name):
    ty = _ty_names.get(name)
    if ty is None:
        ty = _builtin_id(name)
    return data_type_info(ty) if ty is not None else {"exists": False, "name": name}


def user_endpoints():
    """[(id, name)] of user endpoints (discovery schema export)."""
    return [(k, v[0]) for k, v in _eps.items()]


def user_types():
    """User type records (discovery schema export)."""
    return list(_types.values())


def endpoint_identity(name):
    from .identity import endpoint_identity as f
    return f(name)


def data_type_identity(name):
    from .identity import data_type_identity as f
    return f(name)


def register_schema_json_bytes(data):
    """Load a schema JSON document (seed format or the reference's); see schema_json.py."""
    if not isinstance(data, (bytes, bytearray, memoryview, str)):
        raise ArgumentError("data: a JSON document as bytes or str, not %s" % type(data).__name__)
    from .schema_json import load_bytes
    return load_bytes(data)


def register_schema_json_file(path):
    _str(path, "path")
    from .schema_json import load_bytes
    with open(path, "rb") as f:
        return load_bytes(f.read())


def set_blob_widths(string_len, hex_len):
    """static_string_length / static_hex_length: 4.2.7 applies them to registered types too."""
    _BLOB[0] = string_len
    _BLOB[1] = hex_len
    for ty, r in list(_types.items()):
        if 13 <= r[R_MDT] <= 14:
            _types[ty] = _record(ty, r[R_NAME], r[R_STATIC], r[R_COUNT], r[R_MDT], r[R_CLASS],
                                 r[R_EPS_RAW], r[R_RELIABLE], r[R_PRIORITY], r[R_E2E], r[R_DESC])


def snapshot():
    """The registry state (for an all-or-nothing schema JSON load)."""
    return (dict(_eps), dict(_ep_names), dict(_types), dict(_ty_names), _refs[0])


def restore(snap):
    """Put back the registry state snapshot() returned."""
    for live, saved in zip((_eps, _ep_names, _types, _ty_names), snap):
        live.clear()
        live.update(saved)
    _refs[0] = snap[4]
    _used[0] = -1


def _reset():
    """Drop every user entry (tests)."""
    _eps.clear()
    _used[0] = -1
    _ep_names.clear()
    _types.clear()
    _ty_names.clear()
    _refs[0] = 0
