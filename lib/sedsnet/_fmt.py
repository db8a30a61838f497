# Text forms of a Packet (header_string(), str()) in the reference's (4.2.7) layout. Off the
# hot path; imported only when a packet is printed.
import struct

from . import schema
from .schema import R_NAME

_DAY_MS = 86400000


def _civil(days):
    # days since 1970-01-01 -> (year, month, day), proleptic Gregorian, any size
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def timestamp_text(ts):
    """'59s 999ms', '1m 00s 000ms', '1h 00m 00s 000ms', or a UTC date from 10**12 ms on."""
    ms = ts % 1000
    if ts >= 1000000000000:
        y, mo, d = _civil(ts // _DAY_MS)
        r = (ts % _DAY_MS) // 1000
        return "%d-%02d-%02d %02d:%02d:%02d.%03dZ" % (y, mo, d, r // 3600, r // 60 % 60, r % 60, ms)
    s = ts // 1000
    if s < 60:
        return "%ds %03dms" % (s, ms)
    if s < 3600:
        return "%dm %02ds %03dms" % (s // 60, s % 60, ms)
    return "%dh %02dm %02ds %03dms" % (s // 3600, s // 60 % 60, s % 60, ms)


def header_string(pkt):
    rec = schema.type_record(pkt.ty)
    names = []
    for e in pkt.endpoints:
        names.append(schema.endpoint_name(e) or "UNKNOWN_ENDPOINT")
    return "Type: %s, Data Size: %d, Sender: %s, Endpoints: [%s], Timestamp: %d (%s)" % (
        rec[R_NAME] if rec else "UNKNOWN_TYPE", pkt.data_size, pkt.sender, ", ".join(names),
        pkt.timestamp_ms, timestamp_text(pkt.timestamp_ms))


def _int_le(data, signed):
    v = 0
    for i in range(len(data) - 1, -1, -1):
        v = (v << 8) | data[i]
    if signed and data and data[-1] & 0x80:
        v -= 1 << (8 * len(data))
    return v


_LETTERS = {0: "d", 1: "f", 2: "B", 3: "H", 4: "I", 5: "Q", 7: "b", 8: "h", 9: "i", 10: "q"}


def _values_text(mdt, data):
    if mdt == 13:
        end = len(data)
        while end and data[end - 1] == 0:
            end -= 1
        try:
            return '"%s"' % str(data[:end], "utf-8")
        except UnicodeError:  # (a packet made locally from bad bytes: str() still works)
            return "(hex) " + " ".join(["0x%02x" % b for b in data])
    if mdt == 12:
        return ", ".join(["true" if b else "false" for b in data])
    if mdt in (6, 11):
        return ", ".join(["%d" % _int_le(data[i:i + 16], mdt == 11)
                          for i in range(0, len(data), 16)])
    letter = _LETTERS[mdt]
    n = len(data) // struct.calcsize(letter)
    vals = struct.unpack("<%d%s" % (n, letter), data[:n * struct.calcsize(letter)])
    if mdt < 2:
        return ", ".join(["%.8f" % v for v in vals])
    return ", ".join(["%d" % v for v in vals])


def packet_string(pkt):
    head = header_string(pkt)
    data = bytes(pkt.payload)
    mdt = pkt._data_mdt()  # a received contract's shape wins, as 4.2.7
    if mdt < 0:
        mdt = 14
    if not data or mdt == 15:
        return "{%s, Data: (<NoData>)}" % head
    if mdt == 14:
        return "%s, Data (hex): %s" % (head, " ".join(["0x%02x" % b for b in data]))
    return "{%s, Data: (%s)}" % (head, _values_text(mdt, data))
