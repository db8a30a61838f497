# sedsnet for MicroPython: a byte-compatible port of the SEDSnet 4.2.7 Python API.
# This module only re-exports, lazily, so `import sedsnet` costs almost nothing and a board
# that never touches a feature never imports its module.

__version__ = "0.1.0"

# public names, each after the submodule that defines it ("module: name name ..."): one str,
# not a dict, because the names' qstrs and a 40-entry table would take ~0.5 KB of a board's heap
_LAZY = (" errors: SedsError DecodeError CompressedFrameError UnknownTypeError SchemaError"
         " ArgumentError PermissionDenied BudgetError E2EError IoError"
         " e2e: register_e2e_key remove_e2e_key"
         " identity: endpoint_identity data_type_identity"
         " schema: register_endpoint register_data_type endpoint_exists data_type_exists"
         " schema_bytes_used"
         " schema_api: register_schema_json_bytes register_schema_json_file endpoint_info"
         " data_type_info endpoint_info_by_name data_type_info_by_name remove_endpoint"
         " remove_endpoint_by_name remove_data_type remove_data_type_by_name"
         " packet: Packet make_packet unpack_packet peek_header unpack_packet_py peek_header_py"
         " router: Router relay: Relay"
         " tuning: runtime_tuning_config set_runtime_tuning_config runtime_device_identifier"
         " set_runtime_device_identifier ")


def _home(name):
    """The submodule that defines public name `name`, or None."""
    i = _LAZY.find(" " + name + " ") if name and ":" not in name else -1
    if i < 0:
        return None
    j = _LAZY.rfind(":", 0, i + 1)
    return _LAZY[_LAZY.rfind(" ", 0, j) + 1:j]


def _module(modname):
    return __import__("sedsnet." + modname, None, None, ("_",))


def __getattr__(name):
    modname = _home(name)
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
