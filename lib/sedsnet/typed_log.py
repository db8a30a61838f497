# The Router's typed log helpers: log_f32 ... log_i64 but floats into a float type (those
# Router._log_frame packs itself), log_bool, log_string, log: value checks and struct packing
# into the router's payload scratch. Loaded by the first call of one (router_log._typed());
# the Router methods are thin entry points into these functions, which take the router as
# their first argument.
import struct

from .compat import const
from .engine import BYTES_LIKE
from .errors import ArgumentError
from .router_log import Logging
from .schema import WIDTHS

# schema.R_* as private consts (folded, no module globals on a board;
# host_tests/test_structure.py keeps them equal)
_R_STATIC = const(1)
_R_MDT = const(3)
_R_EPS = const(5)
_R_FIXED = const(9)

_STRING = 13
# (elem_size, elem_kind) pairs log() accepts; kinds as ElemKind (0 unsigned, 1 signed, 2 float)
_ELEM_OK = ((1, 0), (2, 0), (4, 0), (8, 0), (1, 1), (2, 1), (4, 1), (8, 1), (4, 2), (8, 2))
# MessageDataType code -> struct format of one element
_MDT_FMT = {0: "<d", 1: "<f", 2: "<B", 3: "<H", 4: "<I", 5: "<Q", 7: "<b", 8: "<h", 9: "<i",
            10: "<q", 12: "<B"}
# struct format -> integer range (MicroPython's struct truncates out-of-range values silently)
_RANGE = {"<B": (0, 0xFF), "<H": (0, 0xFFFF), "<I": (0, 0xFFFFFFFF), "<Q": (0, (1 << 64) - 1),
          "<b": (-0x80, 0x7F), "<h": (-0x8000, 0x7FFF), "<i": (-(1 << 31), (1 << 31) - 1),
          "<q": (-(1 << 63), (1 << 63) - 1)}
_INF = float("inf")
_EXACT = 1 << 53  # ints up to this convert to float exactly (and cannot overflow)
_SEQ = (list, tuple)  # value lists of the typed log helpers
try:
    from array import array
    _SEQ = (list, tuple, array)
except ImportError:
    pass


def log_values(r, ty, values, timestamp_ms, queue):
    """log_f32() ... log_i64(), but floats into a float type (Router._log_frame packs those):
    values of element type r._mdt (a MessageDataType code), each checked."""
    rec = r._record(ty)
    if not isinstance(values, _SEQ):
        raise ArgumentError("values: a list or tuple of numbers, not %s"
                            % type(values).__name__)
    mdt = r._mdt
    if rec[_R_MDT] != mdt:
        if mdt == 1:
            return _log_f32_raw(r, ty, rec, values, timestamp_ms, queue)
        raise ArgumentError("BadArg: type %d does not hold this element type" % ty)
    width = WIDTHS[mdt]
    k = len(values) * width  # bytes the values fill
    n = rec[_R_FIXED] if rec[_R_STATIC] else k  # payload bytes
    if k > n:
        k = n
    buf = r._pay(n)
    if k:
        _pack_all(_MDT_FMT[mdt], buf, width, values, k // width)
    while k < n:
        buf[k] = 0  # a static type is zero-padded, as the reference does
        k += 1
    r._packed = rec  # (the payload is packed)
    Logging._log_frame(r, ty, n, timestamp_ms, queue)  # (not r.: see _originate_busy)


def _log_f32_raw(r, ty, rec, values, timestamp_ms, queue):
    # log_f32 into a type that is not Float32: log(ty, <the float32 bytes>, 4, Float32)
    if rec[_R_STATIC] and rec[_R_FIXED] % 4:
        raise ArgumentError("BadArg: type %d is %d bytes, not whole float32s"
                            % (ty, rec[_R_FIXED]))
    n = 4 * len(values)
    buf = r._pay(max(n, rec[_R_FIXED]))
    _pack_all("<f", buf, 4, values, len(values))
    r._log_raw(ty, rec, n, timestamp_ms, queue)


def log_bool(r, ty, values, timestamp_ms, queue):
    if not isinstance(values, _SEQ):
        raise ArgumentError("values: a list or tuple of bools, not %s"
                            % type(values).__name__)
    r._mdt = 12
    log_values(r, ty, [1 if v else 0 for v in values], timestamp_ms, queue)


def log_string(r, ty, text, timestamp_ms, queue):
    rec = r._record(ty)
    if rec[_R_MDT] != _STRING:
        raise ArgumentError("BadArg: type %d is not a String type" % ty)
    if isinstance(text, str):
        text = text.encode("utf-8")
    elif not isinstance(text, BYTES_LIKE):
        raise ArgumentError("text: a str (or its UTF-8 bytes), not %s" % type(text).__name__)
    n = len(text)
    if rec[_R_STATIC] and n > rec[_R_FIXED]:
        n = rec[_R_FIXED]
        while n and (text[n] & 0xC0) == 0x80:  # a UTF-8 continuation byte
            n -= 1
    try:  # checked here, before a nonce is taken (log_bytes takes one, as 4.2.7)
        str(bytes(text[:n]), "utf-8")
    except UnicodeError:
        raise ArgumentError("InvalidUtf8")
    buf = r._pay(max(n, rec[_R_FIXED]))
    buf[:n] = text[:n]
    r._log_raw(ty, rec, n, timestamp_ms, queue)


def log(r, ty, data, elem_size, elem_kind, timestamp_ms, queue):
    if not isinstance(elem_size, int) or elem_size not in (1, 2, 4, 8):
        raise ArgumentError("elem_size must be 1,2,4,8, not %r" % (elem_size,))
    if not isinstance(elem_kind, int) or (elem_size, elem_kind) not in _ELEM_OK:
        raise ArgumentError("unsupported elem_kind/elem_size combination: elem_kind %r"
                            % (elem_kind,))
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, BYTES_LIKE):
        data = byte_list(data)
    rec = r._record(ty)
    if (rec[_R_FIXED] if rec[_R_STATIC] else len(data)) % elem_size:
        raise ArgumentError("buffer length not divisible by elem_size")
    r.log_bytes(ty, data, timestamp_ms, queue)


def byte_list(data):
    """data given as a list/tuple of byte values -> bytes; anything else: ArgumentError."""
    if isinstance(data, (list, tuple)):
        try:
            return bytes(data)
        except (TypeError, ValueError, OverflowError):
            pass
    raise ArgumentError("data: bytes, bytearray, memoryview or a list of byte values, not %s"
                        % type(data).__name__)


def _pack_all(fmt, buf, width, values, k):
    """struct-pack values[:k] into buf, width bytes each; bad values raise ArgumentError."""
    lim = _RANGE.get(fmt)
    i = 0
    try:
        for i in range(k):
            v = values[i]
            if lim is not None:
                if not isinstance(v, (int, bool)) or not lim[0] <= v <= lim[1]:
                    raise ArgumentError("values[%d]: %r is not an int in %d..%d"
                                        % (i, v, lim[0], lim[1]))
            elif isinstance(v, int) and (v > _EXACT or v < -_EXACT):
                v = float(v)  # CPython: OverflowError past the double range (refused below)
                if v == _INF or v == -_INF:  # MicroPython's float() gives inf: 4.2.7 refuses
                    raise ArgumentError("values[%d]: int too large to convert to float" % i)
            try:
                struct.pack_into(fmt, buf, i * width, v)
            except OverflowError:
                if fmt != "<f":
                    raise
                # CPython refuses a finite double beyond the float32 range; 4.2.7 (and
                # MicroPython) round it to +-inf
                struct.pack_into(fmt, buf, i * width, _INF if v > 0 else -_INF)
    except ArgumentError:
        raise
    except Exception as e:  # TypeError, struct.error, OverflowError...
        raise ArgumentError("values[%d]: bad value %r (%s)" % (i, values[i], e))

