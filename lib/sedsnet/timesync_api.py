# Time sync's API half (timesync.py holds the clock and the protocol): configure_timesync,
# 4.2.7's set_local_network_* setters and network_time()'s dict (unix_time_ms, year ...
# nanosecond). Loaded by the first call of one; each function takes the TimeSync first.
from .errors import ArgumentError

_DAY = 86400000
_FULL = ("year", "month", "day", "hour", "minute", "second")
# (name, lowest, highest) of each field; 4.2.7 ignores a bad value silently, we raise
_RANGES = {"year": (1970, 9999), "month": (1, 12), "day": (1, 31), "hour": (0, 23),
           "minute": (0, 59), "second": (0, 59), "nanosecond": (0, 999999999)}


def _u(v, what, hi=0xFFFFFFFFFFFFFFFF):
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
        raise ArgumentError("%s must be an int 0..%d, not %r" % (what, hi, v))
    return v


def _flag(v, what):
    if v is not True and v is not False:
        raise ArgumentError("%s must be a bool, not %r" % (what, v))
    return v


def configure_timesync(ts, enabled=True, role=0, priority=100, source_timeout_ms=5000,
                       announce_interval_ms=1000, request_interval_ms=1000,
                       consumer_promotion_enabled=True, max_slew_ppm=50000):
    """4.2.7's configure_timesync: role 0 Consumer, 1 Source, 2 Auto; another role is an
    ArgumentError (4.2.7: ValueError('bad timesync role'))."""
    vals = (_flag(enabled, "enabled"), _u(role, "role", 0xFF),
            _u(priority, "priority", 0xFFFFFFFF),
            _u(source_timeout_ms, "source_timeout_ms"),
            _u(announce_interval_ms, "announce_interval_ms"),
            _u(request_interval_ms, "request_interval_ms"),
            _flag(consumer_promotion_enabled, "consumer_promotion_enabled"),
            _u(max_slew_ppm, "max_slew_ppm", 0xFFFFFFFF))
    if role > 2:
        raise ArgumentError("role: bad timesync role %d (0 consumer, 1 source, 2 auto)" % role)
    ts.apply(*vals)
    o = ts.node._opts
    for i in range(8):  # options.NAMES 2..9: timesync_enabled .. timesync_max_slew_ppm
        o[2 + i] = vals[i]



def network_time(ts):
    t = ts.network_time_ms()
    if t is None:
        return dict(ts.parts) if ts.parts else None
    return fields(t)


def set_epoch_ms(ts, t):
    ts.advance()
    if not ts.have:
        b = bytearray(8)
        for i in range(8):
            b[i] = t & 0xFF
            t >>= 8
        ts.step_to(b, 0)
        ts.parts = {}
    else:  # a later set is slewed to, never stepped (4.2.7)
        ts.target(t - ts.network_time_ms())


def _days(y, m, d):
    """Days since 1970-01-01 (H. Hinnant's days_from_civil); a day past the month's end runs
    into the next month, as 4.2.7 (2026-02-30 is 2026-03-02)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def epoch_ms(y, mo, d, h, mi, s, ms):
    return (_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms


def fields(t):
    z = t // _DAY + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y = yoe + era * 400 + (m <= 2)
    r = t % _DAY
    return {"unix_time_ms": t, "year": y, "month": m, "day": d, "hour": r // 3600000,
            "minute": r // 60000 % 60, "second": r // 1000 % 60,
            "nanosecond": r % 1000 * 1000000}


def _check(kw):
    for k in kw:
        v = kw[k]
        lo, hi = _RANGES[k]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ArgumentError("%s must be an int %d..%d, not %r" % (k, lo, hi, v))


def set_parts(ts, kw):
    """Set some date/time fields: with a network time, the others come from it and the clock
    slews to the result; without one they are kept until year..second are all known."""
    _check(kw)
    if ts.network_time_ms() is not None:
        f = fields(ts.network_time_ms())
        f.update(kw)
    else:
        f = ts.parts
        f.update(kw)
        for k in _FULL:
            if k not in f:
                return
    set_epoch_ms(ts, epoch_ms(f["year"], f["month"], f["day"], f["hour"], f["minute"],
                             f["second"], f.get("nanosecond", 0) // 1000000))


def set_local_network_datetime_millis(ts, year, month, day, hour, minute, second, millisecond):
    if not isinstance(millisecond, int) or not 0 <= millisecond <= 999:
        raise ArgumentError("millisecond must be an int 0..999, not %r" % (millisecond,))
    set_local_network_datetime_nanos(ts, year, month, day, hour, minute, second,
                                     millisecond * 1000000)


def set_local_network_datetime_nanos(ts, year, month, day, hour, minute, second, nanosecond):
    kw = {"year": year, "month": month, "day": day, "hour": hour, "minute": minute,
          "second": second, "nanosecond": nanosecond}
    _check(kw)
    set_epoch_ms(ts, epoch_ms(year, month, day, hour, minute, second, nanosecond // 1000000))


def set_local_network_datetime(ts, year, month, day, hour, minute, second):
    set_local_network_datetime_nanos(ts, year, month, day, hour, minute, second, 0)


def set_local_network_date(ts, year, month, day):
    set_parts(ts, {"year": year, "month": month, "day": day})


def set_local_network_time_hm(ts, hour, minute):
    set_parts(ts, {"hour": hour, "minute": minute})


def set_local_network_time_hms(ts, hour, minute, second):
    set_parts(ts, {"hour": hour, "minute": minute, "second": second})


def set_local_network_time_hms_millis(ts, hour, minute, second, millisecond):
    if not isinstance(millisecond, int) or not 0 <= millisecond <= 999:
        raise ArgumentError("millisecond must be an int 0..999, not %r" % (millisecond,))
    set_parts(ts, {"hour": hour, "minute": minute, "second": second,
                   "nanosecond": millisecond * 1000000})


def set_local_network_time_hms_nanos(ts, hour, minute, second, nanosecond):
    set_parts(ts, {"hour": hour, "minute": minute, "second": second, "nanosecond": nanosecond})


def set_local_network_time(ts, year=None, month=None, day=None, hour=None, minute=None,
                           second=None, nanosecond=None):
    vals = (year, month, day, hour, minute, second, nanosecond)
    keys = ("year", "month", "day", "hour", "minute", "second", "nanosecond")
    kw = {}
    for i in range(7):
        if vals[i] is not None:
            kw[keys[i]] = vals[i]
    if kw:
        set_parts(ts, kw)
