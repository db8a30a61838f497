# Named wire codes so user code needs no magic numbers. Values are the reference's (4.2.7)
# wire codes; see shared/protocol/schema-json.md and control-payloads.md.
from .compat import const

# MessageDataType
FLOAT64 = const(0)
FLOAT32 = const(1)
UINT8 = const(2)
UINT16 = const(3)
UINT32 = const(4)
UINT64 = const(5)
UINT128 = const(6)
INT8 = const(7)
INT16 = const(8)
INT32 = const(9)
INT64 = const(10)
INT128 = const(11)
BOOL = const(12)
STRING = const(13)
BINARY = const(14)
NODATA = const(15)

# MessageClass
CLASS_DATA = const(0)
CLASS_ERROR = const(1)
CLASS_WARNING = const(2)

# Reliable modes (register_data_type(reliable=...))
RELIABLE_OFF = const(0)
RELIABLE_ORDERED = const(1)
RELIABLE_UNORDERED = const(2)

# E2E policies (register_data_type(e2e_encryption=...))
E2E_PREFER_OFF = const(0)
E2E_PREFER_ON = const(1)
E2E_REQUIRE_ON = const(2)

# Router E2E modes (Router(e2e_mode=...)); 255 = build default
E2E_MODE_DISABLED = const(0)
E2E_MODE_REQUIRED_ONLY = const(1)
E2E_MODE_PREFERRED = const(2)
E2E_MODE_FORCE_ALL = const(3)
E2E_MODE_DEFAULT = const(255)

# Element kinds (the reference's ElemKind)
ELEM_UNSIGNED = const(0)
ELEM_SIGNED = const(1)
ELEM_FLOAT = const(2)

# Built-in endpoints. As in the reference module, the bare name SEDSNET_ERROR is the error
# *endpoint* (202); the error *data type* is DataType.SEDSNET_ERROR / SEDSNET_ERROR_TYPE (0).
SEDSNET_TIME_SYNC = const(200)
SEDSNET_DISCOVERY = const(201)
SEDSNET_ERROR = const(202)
SEDSNET_ERROR_ENDPOINT = const(202)

# Built-in data types
SEDSNET_ERROR_TYPE = const(0)
SEDSNET_RELIABLE_ACK = const(1)
SEDSNET_RELIABLE_PACKET_REQUEST = const(2)
SEDSNET_RELIABLE_PARTIAL_ACK = const(3)
SEDSNET_TIME_SYNC_ANNOUNCE = const(4)
SEDSNET_TIME_SYNC_REQUEST = const(5)
SEDSNET_TIME_SYNC_RESPONSE = const(6)
SEDSNET_DISCOVERY_ANNOUNCE = const(7)
SEDSNET_DISCOVERY_TIMESYNC_SOURCES = const(8)
SEDSNET_DISCOVERY_TOPOLOGY = const(9)
SEDSNET_DISCOVERY_SCHEMA = const(10)
SEDSNET_DISCOVERY_TOPOLOGY_REQUEST = const(11)
SEDSNET_DISCOVERY_SCHEMA_REQUEST = const(12)
SEDSNET_MANAGED_VARIABLE_REQUEST = const(13)
SEDSNET_MANAGED_VARIABLE_VALUE = const(14)
SEDSNET_DISCOVERY_LEAVE = const(15)
SEDSNET_DISCOVERY_LINK_CAPABILITIES = const(16)
SEDSNET_DISCOVERY_ADDRESS = const(17)
SEDSNET_P2P_MESSAGE = const(18)



# The reference's DataEndpoint / DataType / ElemKind namespaces. Filled by name because the
# const() names above would be substituted inside a class body under MicroPython.
class DataEndpoint:
    """Built-in control endpoint IDs only (application IDs come from the runtime schema)."""


class DataType:
    """Built-in control data type IDs only (application IDs come from the runtime schema)."""


class ElemKind:
    """Element kinds of numeric data types."""


def _fill(cls, names, first):
    for i, n in enumerate(names.split()):
        setattr(cls, n, first + i)


_fill(DataEndpoint, "SEDSNET_TIME_SYNC SEDSNET_DISCOVERY SEDSNET_ERROR", 200)
_fill(DataType, "SEDSNET_ERROR SEDSNET_RELIABLE_ACK SEDSNET_RELIABLE_PACKET_REQUEST "
      "SEDSNET_RELIABLE_PARTIAL_ACK SEDSNET_TIME_SYNC_ANNOUNCE SEDSNET_TIME_SYNC_REQUEST "
      "SEDSNET_TIME_SYNC_RESPONSE SEDSNET_DISCOVERY_ANNOUNCE SEDSNET_DISCOVERY_TIMESYNC_SOURCES "
      "SEDSNET_DISCOVERY_TOPOLOGY SEDSNET_DISCOVERY_SCHEMA SEDSNET_DISCOVERY_TOPOLOGY_REQUEST "
      "SEDSNET_DISCOVERY_SCHEMA_REQUEST SEDSNET_MANAGED_VARIABLE_REQUEST "
      "SEDSNET_MANAGED_VARIABLE_VALUE SEDSNET_DISCOVERY_LEAVE "
      "SEDSNET_DISCOVERY_LINK_CAPABILITIES SEDSNET_DISCOVERY_ADDRESS SEDSNET_P2P_MESSAGE", 0)
_fill(ElemKind, "UNSIGNED SIGNED FLOAT", 0)
