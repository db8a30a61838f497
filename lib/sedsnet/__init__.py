# sedsnet for MicroPython: a byte-compatible port of the SEDSnet 4.2.7 Python API.
# This module only re-exports, lazily, so `import sedsnet` costs almost nothing and a board
# that never touches a feature never imports its module.

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "SedsError": "errors", "DecodeError": "errors", "CompressedFrameError": "errors",
    "UnknownTypeError": "errors", "SchemaError": "errors", "ArgumentError": "errors",
    "PermissionDenied": "errors", "BudgetError": "errors", "E2EError": "errors",
    "register_e2e_key": "e2e", "remove_e2e_key": "e2e",
    "endpoint_identity": "ids", "data_type_identity": "ids",
    "register_endpoint": "schema", "register_data_type": "schema",
    "register_schema_json_bytes": "schema", "register_schema_json_file": "schema",
    "endpoint_info": "schema", "data_type_info": "schema",
    "endpoint_info_by_name": "schema", "data_type_info_by_name": "schema",
    "endpoint_exists": "schema", "data_type_exists": "schema",
    "remove_endpoint": "schema", "remove_endpoint_by_name": "schema",
    "remove_data_type": "schema", "remove_data_type_by_name": "schema",
    "schema_bytes_used": "schema",
    "Packet": "packet", "make_packet": "packet", "unpack_packet": "packet",
    "peek_header": "packet", "unpack_packet_py": "packet", "peek_header_py": "packet",
    "Router": "router", "Relay": "relay",
    "runtime_tuning_config": "tuning", "set_runtime_tuning_config": "tuning",
    "runtime_device_identifier": "tuning", "set_runtime_device_identifier": "tuning",
}


def _module(modname):
    return __import__("sedsnet." + modname, None, None, ("_",))


def __getattr__(name):
    modname = _LAZY.get(name)
    if modname is not None:
        value = getattr(_module(modname), name)
    else:
        # named constants (codes, built-in IDs, the DataType/... namespaces) all start with a
        # capital; `from . import ids` inside the package asks here first on MicroPython and
        # must not load consts
        consts = _module("consts") if "A" <= name[:1] <= "Z" else None
        if consts is not None and hasattr(consts, name):
            value = getattr(consts, name)
        else:
            # `from sedsnet import wire` on MicroPython asks here before importing a submodule;
            # a missing name is an AttributeError, a submodule that fails to import raises its
            # own ImportError ("" or a dotted name must not import the package itself)
            if not name or "." in name:
                raise AttributeError("module 'sedsnet' has no attribute '%s'" % name)
            try:
                value = _module(name)
            except ImportError as e:
                if ("'sedsnet.%s'" % name) not in str(e):
                    raise
                raise AttributeError("module 'sedsnet' has no attribute '%s'" % name)
    globals()[name] = value  # resolve each name once
    return value
