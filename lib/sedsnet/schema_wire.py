# The DISCOVERY_SCHEMA (10) payload of our registry, as 4.2.7 sends it in answer to
# SCHEMA_REQUEST and on announce_discovery() (docs/router-interop.md section 10; layout in
# shared/protocol/control-payloads.md): version 3, every endpoint and data type by ID, the
# built-ins included, descriptions left empty, a type's endpoints as registered. A 4.2.7 peer
# registers (and overwrites) what it lists, so a reference ground station learns our types by
# name. Loaded by the first answer; each payload (~1.2 kB + ~40 B per user entry) is built for
# one answer and dropped.
from .announce_codec import EMPTY_SCHEMA, Writer
from .compat import const
from .schema import (
    _BT_NAMES, _BT_ROWS, _BUILTIN_EPS, R_CLASS, R_COUNT, R_E2E, R_EPS_RAW, R_MDT, R_NAME,
    R_PRIORITY, R_RELIABLE, R_STATIC, _eps, _types)

_BUILTIN_TYPES = const(19)  # 0 (ERROR) .. 18 (P2P_MESSAGE)
_SEDSNET_DISCOVERY_SCHEMA = const(10)


def send_schema(node, side_id):
    """Our SCHEMA on one side. When it cannot go (no heap for its ~1.2 kB: a small board;
    or the link refused it, say a UART over its MTU: counted in the side's
    tx_handler_failures) the empty SCHEMA goes instead, which still stops a 4.2.7
    neighbour asking every 5 s; fallbacks are counted (discovery stats: schema_fallbacks)."""
    side = node.sides[side_id] if hasattr(node, "_routes") else None  # (not a test's fake)
    fails = side.tx_handler_failures if side is not None else 0
    try:
        node.send_control(side_id, _SEDSNET_DISCOVERY_SCHEMA, schema_payload())
        if side is None or side.tx_handler_failures == fails:
            return
    except MemoryError:
        pass
    disc = getattr(node, "discovery", None)
    if disc is not None:
        disc.schema_fallbacks += 1
    node.send_control(side_id, _SEDSNET_DISCOVERY_SCHEMA, EMPTY_SCHEMA)


def _size():
    n = 12 + 13 * (len(_BUILTIN_EPS) + len(_eps)) + 26 * (_BUILTIN_TYPES + len(_types))
    for meta in _BUILTIN_EPS.values():
        n += len(meta[0])
    for meta in _eps.values():
        n += len(meta[0].encode())
    for name in _BT_NAMES.split():
        n += 12 + len(name)  # "SEDSNET_" + name, one endpoint
    for r in _types.values():
        n += len(r[R_NAME].encode()) + 4 * len(r[R_EPS_RAW])
    return n


def schema_payload():
    w = Writer(_size())  # exact: no growth, no slack
    w.u32(3)
    ids = sorted(list(_BUILTIN_EPS) + list(_eps))
    w.u32(len(ids))
    for i in ids:
        meta = _eps.get(i) or _BUILTIN_EPS[i]  # (name, description, link_local_only)
        w.u32(i)
        w.u8(1 if meta[2] else 0)
        w.str(meta[0])
        w.u32(0)  # description: 4.2.7 sends none
    w.u32(_BUILTIN_TYPES + len(_types))
    names = _BT_NAMES.split()
    row = _BT_ROWS
    for ty in range(_BUILTIN_TYPES):
        # from schema's packed rows, not type_record(): that would keep 19 records (~2.5 kB)
        o = ty * 7
        w.u32(ty)
        w.str("SEDSNET_" + names[ty])
        w.u32(0)
        w.u8(0 if row[o] else 1)
        w.u32(row[o + 1] if row[o] else 0)
        for v in (row[o + 2], row[o + 3], row[o + 5], row[o + 6], 0):
            w.u8(v)
        w.u32s((200 + row[o + 4],))
    for ty in sorted(_types):
        r = _types[ty]
        w.u32(ty)
        w.str(r[R_NAME])
        w.u32(0)
        w.u8(0 if r[R_STATIC] else 1)
        w.u32(r[R_COUNT])
        for k in (R_MDT, R_CLASS, R_RELIABLE, R_PRIORITY, R_E2E):
            w.u8(r[k])
        w.u32s(r[R_EPS_RAW])
    return memoryview(w.buf)[:w.n]
