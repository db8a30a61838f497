# Schema names -> the IDs sedsnet 4.2.7 assigns them (shared/protocol/identities.md): the
# alias table of well-known names, else FNV-1a. Used by schema JSON loading and the public
# endpoint_identity/data_type_identity; loaded on first use (ids.py forwards to it).
from .compat import const
from .ids import _utf8

_M32 = const(0xFFFFFFFF)

_ENDPOINT_ALIAS = {
    "SD_CARD": 100, "RADIO": 101, "SOFTWARE_BUS": 102,
    "SEDSNET_TIME_SYNC": 200, "SEDSNET_DISCOVERY": 201, "SEDSNET_ERROR": 202,
}
_TYPE_ALIAS = {
    "SEDSNET_ERROR": 0, "SEDSNET_RELIABLE_ACK": 1, "SEDSNET_RELIABLE_PACKET_REQUEST": 2,
    "SEDSNET_RELIABLE_PARTIAL_ACK": 3, "SEDSNET_TIME_SYNC_ANNOUNCE": 4,
    "SEDSNET_TIME_SYNC_REQUEST": 5, "SEDSNET_TIME_SYNC_RESPONSE": 6,
    "SEDSNET_DISCOVERY_ANNOUNCE": 7, "SEDSNET_DISCOVERY_TIMESYNC_SOURCES": 8,
    "SEDSNET_DISCOVERY_TOPOLOGY": 9, "SEDSNET_DISCOVERY_SCHEMA": 10,
    "SEDSNET_DISCOVERY_TOPOLOGY_REQUEST": 11, "SEDSNET_DISCOVERY_SCHEMA_REQUEST": 12,
    "SEDSNET_MANAGED_VARIABLE_REQUEST": 13, "SEDSNET_MANAGED_VARIABLE_VALUE": 14,
    "SEDSNET_DISCOVERY_LEAVE": 15, "SEDSNET_DISCOVERY_LINK_CAPABILITIES": 16,
    "SEDSNET_DISCOVERY_ADDRESS": 17, "SEDSNET_P2P_MESSAGE": 18,
    "GPS_DATA": 100, "IMU_DATA": 101, "BATTERY_STATUS": 102, "SYSTEM_STATUS": 103,
    "BAROMETER_DATA": 104, "MESSAGE_DATA": 105, "HEARTBEAT": 106, "IPC_MESSAGE": 107,
}



def _name_id(basis, name):
    # FNV-1a 32; bit 16 forced on, so hashed IDs never collide with the small alias IDs
    h = basis
    for b in _utf8(name):
        h = ((h ^ b) * 0x01000193) & _M32
    return (h & 0x0FFEFFFF) | 0x00010000


def endpoint_identity(name):
    """The endpoint ID the reference assigns to `name` (alias table, else a 28-bit hash)."""
    v = _ENDPOINT_ALIAS.get(name)
    return v if v is not None else _name_id(0x811CD895, name)


def data_type_identity(name):
    """The data type ID the reference assigns to `name` (alias table, else a 28-bit hash)."""
    v = _TYPE_ALIAS.get(name)
    return v if v is not None else _name_id(0x811CC99C, name)
