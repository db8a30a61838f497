# Process-global runtime tuning and device identifier (4.2.7's set_runtime_tuning_config,
# runtime_tuning_config, set_runtime_device_identifier, runtime_device_identifier).
# Imported on first use (sedsnet.__getattr__); readers take plain values, no dict per packet.
from . import schema
from .errors import ArgumentError

_U64 = 0xFFFFFFFFFFFFFFFF
_U32 = 0xFFFFFFFF
# key -> (default, maximum, zero allowed). 4.2.7: usize keys (u64 here) and two u32 keys; 0
# is BadArg except for payload_compress_threshold and string_precision; bools count as ints.
_KEYS = (
    ("payload_compress_threshold", 128, _U64, True),  # we never compress: kept, no effect
    ("static_string_length", 1024, _U64, False),  # element width of String types
    ("static_hex_length", 1024, _U64, False),  # element width of Binary types
    ("string_precision", 8, _U64, True),  # float digits in Packet text (not used yet)
    ("max_handler_retries", 3, _U64, False),  # calls of a failing local handler per packet
    ("reliable_retransmit_ms", 200, _U32, False),
    ("reliable_max_retries", 8, _U32, False),
    ("reliable_max_pending", 32, _U64, False),
    ("reliable_max_return_routes", 32, _U64, False),
    ("reliable_max_end_to_end_pending", 32, _U64, False),
    ("reliable_max_end_to_end_ack_cache", 128, _U64, False),
)
_NAMES = tuple(k[0] for k in _KEYS)
_values = [k[1] for k in _KEYS]  # in _KEYS order
_HANDLER_TRIES = 4  # index of max_handler_retries in _values (read per delivery)
_device = ["TEST_PLATFORM"]  # 4.2.7's default Router hostname


def runtime_tuning_config():
    """The current tuning values (a new dict with every key)."""
    return dict(zip(_NAMES, _values))


def set_runtime_tuning_config(**kw):
    """Change some tuning values (process-wide) and return the whole config. Every value is
    checked before any is applied, as 4.2.7 (a bad one changes nothing)."""
    new = list(_values)
    for name in kw:
        if name not in _NAMES:
            raise ArgumentError("set_runtime_tuning_config() has no key %r" % (name,))
        v = kw[name]
        if v is None:
            continue
        i = _NAMES.index(name)
        key = _KEYS[i]
        if not isinstance(v, (int, bool)) or not 0 <= v <= key[2] or (v == 0 and not key[3]):
            raise ArgumentError("%s: bad value %r (an int 1..%d%s)"
                                % (name, v, key[2], ", or 0" if key[3] else ""))
        new[i] = int(v)
    widths = (new[1], new[2])
    if widths != (_values[1], _values[2]):
        schema.set_blob_widths(widths[0], widths[1])
    _values[:] = new
    return runtime_tuning_config()


def handler_tries():
    """max_handler_retries: how often a local handler that raises is called for one packet."""
    return _values[_HANDLER_TRIES]


def reliable_config():
    """(retransmit_ms, max_retries, max_pending, max_return_routes, max_end_to_end_pending,
    max_end_to_end_ack_cache): the reliable-delivery keys, read when that feature starts."""
    return tuple(_values[5:11])


def runtime_device_identifier():
    return _device[0]


def set_runtime_device_identifier(value):
    """The default hostname of Routers made afterwards (4.2.7: Relays keep "RELAY", existing
    routers keep their name); returns it. Empty is refused (4.2.7: BadArg)."""
    if not isinstance(value, str):
        raise ArgumentError("value must be a str, not %s" % type(value).__name__)
    if not value:
        raise ArgumentError("value: the device identifier cannot be empty")
    _device[0] = value
    return value
