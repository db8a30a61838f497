# The logging API of a Router (log_* family, log, log_bytes, transmit_*): a mixin of
# router.Router. log_*() packs straight into a preallocated TX buffer (or into the TX ring with
# queue=True) and the frame leaves through the same path as forwarded traffic
# (_originate -> forward._route); the tx callback gets a memoryview of that buffer, valid during
# the call (bytes(frame) to keep it). The typed helpers live in typed_log.py, loaded by the
# first call of one.
import struct
from array import array

from . import ids, schema
from .compat import const
from .engine import BYTES_LIKE, packed_of
from .forward import _tx as _tx_one
from .errors import ArgumentError, IoError, UnknownTypeError
from .node import Node, flag
from .queues import _Views
from .schema import WIDTHS, _types
from .wire import TS8, FrameHeader, log_template

from .kernels import key_into, log_pack
from .kernels import recent_seen as _recent_seen

# schema.R_*, routes.LOCAL and wire._OWN as private consts (folded here, not module globals:
# host_tests/test_structure.py keeps them equal)
_R_STATIC = const(1)
_R_MDT = const(3)
_R_EPS = const(5)
_R_RELIABLE = const(6)
_R_E2E = const(8)
_R_FIXED = const(9)
_LOCAL = const(255)
_OWN = const(3)  # wire._OWN
_REL_UNSEQ = const(0x84)  # REL_UNSEQUENCED | REL_HAS_SEQ: "84 00" on a plain side
_STRING = const(13)
_E2E_MODE = const(10)  # index of e2e_mode in Router._opts (options.NAMES)
_SEDSNET_P2P_MESSAGE = const(18)  # consts.py's last built-in (control) type
# (per log: a builtin is found only after a miss in this module's table)
_len = len
_type = type
_int = int
_float = float
_list = list
_tuple = tuple
_pack_into = struct.pack_into
_SPANS = array("i", bytes(4 * 8))  # log_pack's spans of the frame it made (FrameHeader.spans)


class Logging:
    """Router's originating half: log_*(), transmit_*() and the TX queue. Its state
    (buffers, templates, _held, _mdt, _packed) is set in Router.__init__."""

    def _record(self, ty):
        if not isinstance(ty, int):
            raise ArgumentError("ty: a data type is an int, not %s" % type(ty).__name__)
        rec = schema.type_record(ty)
        if rec is None:
            raise UnknownTypeError("InvalidType: %r" % (ty,))
        if 200 in rec[_R_EPS]:  # 4.2.7 lets users log TIME_SYNC frames; they would confuse peers
            raise ArgumentError("ty: type %d is time sync's (internal)" % ty)
        return rec

    def _pay(self, n):
        if n > len(self._pay_buf):
            self._pay_buf = bytearray(n)
            self._pay_views = _Views(self._pay_buf)
        return self._pay_buf

    # log_<number type>() go to _log_frame, which packs floats into a float type itself; the
    # other typed log helpers live in typed_log.py, loaded by the first call of one. (The
    # element type goes as self._mdt: with it as a sixth argument each of these would take
    # more than 11 words of call state, which MicroPython takes from the heap on every call.)
    def log_f32(self, ty, values, timestamp_ms=None, queue=False):
        """As 4.2.7: into a Float32 type, or as log(ty, <the float32 bytes>, 4, Float32) into
        any other type (its element type unchecked)."""
        self._mdt = 1
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_f64(self, ty, values, timestamp_ms=None, queue=False):
        """Log float64 values into type ty; SedsError as log()."""
        self._mdt = 0
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_u8(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint8 values into type ty; SedsError as log()."""
        self._mdt = 2
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_u16(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint16 values into type ty; SedsError as log()."""
        self._mdt = 3
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_u32(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint32 values into type ty; SedsError as log()."""
        self._mdt = 4
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_u64(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint64 values into type ty; SedsError as log()."""
        self._mdt = 5
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_i8(self, ty, values, timestamp_ms=None, queue=False):
        """Log int8 values into type ty; SedsError as log()."""
        self._mdt = 7
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_i16(self, ty, values, timestamp_ms=None, queue=False):
        """Log int16 values into type ty; SedsError as log()."""
        self._mdt = 8
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_i32(self, ty, values, timestamp_ms=None, queue=False):
        """Log int32 values into type ty; SedsError as log()."""
        self._mdt = 9
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_i64(self, ty, values, timestamp_ms=None, queue=False):
        """Log int64 values into type ty; SedsError as log()."""
        self._mdt = 10
        _tl[2](self, ty, values, timestamp_ms, queue)

    def log_bool(self, ty, values, timestamp_ms=None, queue=False):
        """Log bools (as u8 0/1) into type ty; SedsError as log()."""
        _typed().log_bool(self, ty, values, timestamp_ms, queue)

    def log_string(self, ty, text, timestamp_ms=None, queue=False):
        """text (a str or its UTF-8 bytes) into a String type. A static type cuts it at the
        last whole character that fits (4.2.7's log_bytes cuts mid-character, and its
        data_as_string then fails with InvalidUtf8); invalid UTF-8 is refused either way."""
        _typed().log_string(self, ty, text, timestamp_ms, queue)

    def log(self, ty, data, elem_size, elem_kind, timestamp_ms=None, queue=False):
        """Log data, the raw little-endian bytes of elem_size-byte elements of elem_kind
        (ElemKind), as the reference does: bytes-like, a str (its UTF-8) or a list of byte
        values; a static type's bytes are cut or zero-padded to its size first, then the
        length must be a multiple of elem_size. The type's own element type is not checked."""
        _typed().log(self, ty, data, elem_size, elem_kind, timestamp_ms, queue)

    def log_bytes(self, ty, data, timestamp_ms=None, queue=False):
        """Log raw payload bytes (or a list of byte values) into type ty; UnknownTypeError,
        ArgumentError on a size or UTF-8 mismatch."""
        rec = self._record(ty)
        if not isinstance(data, BYTES_LIKE):
            data = _typed().byte_list(data)  # a list of byte values (4.2.7 takes bytes only)
        n = len(data)
        buf = self._pay(max(n, rec[_R_FIXED]))
        buf[:n] = data
        self._log_raw(ty, rec, n, timestamp_ms, queue)

    def _log_raw(self, ty, rec, n, timestamp_ms, queue):
        # raw payload bytes in _pay_buf[:n]: a static type is zero-padded or cut to its size,
        # a dynamic one must hold whole elements (and UTF-8 for strings)
        buf = self._pay_buf
        if rec[_R_STATIC]:
            for i in range(n, rec[_R_FIXED]):
                buf[i] = 0
            n = rec[_R_FIXED]
        else:
            width = WIDTHS[rec[_R_MDT]]
            if width and width <= 16 and n % width:
                ids.next_nonce()  # 4.2.7 has made the packet (taken its nonce) when it checks
                raise ArgumentError("SizeMismatch { expected: %d, got: %d }" % (width, n))
            if rec[_R_MDT] == _STRING:
                try:
                    str(bytes(buf[:n]), "utf-8")
                except UnicodeError:
                    ids.next_nonce()  # as for SizeMismatch
                    raise ArgumentError("InvalidUtf8")
        self._packed = rec  # (_log_frame: the payload is packed)
        self._log_frame(ty, n, timestamp_ms, queue)

    def _log_frame(self, ty, values, timestamp_ms, queue):
        # One logged frame. values: a log_<number type>() call's numbers (self._mdt their
        # element type), packed here when they are floats of a float type (else by
        # typed_log.log_values, which calls back), or, when self._packed holds the type's
        # record, the length of a payload already in _pay_buf (log_bytes, typed_log). (One
        # function: one heap call frame per log.)
        rec = self._packed
        if rec is not None:
            self._packed = None
            n = values
        else:
            w = self._mdt
            rec = _types.get(ty) if _type(ty) is _int and ty > _SEDSNET_P2P_MESSAGE else None
            if rec is None or w > 1 or rec[_R_MDT] != w or 200 in rec[_R_EPS] \
                    or (_type(values) is not _list and _type(values) is not _tuple):
                return _typed().log_values(self, ty, values, timestamp_ms, queue)
            w = 4 if w else 8
            k = _len(values) * w  # bytes the values fill
            n = rec[_R_FIXED] if rec[_R_STATIC] else k  # payload bytes
            if k > n:
                k = n
            buf = self._pay_buf if n <= _len(self._pay_buf) else self._pay(n)
            fmt = "<f" if w == 4 else "<d"
            p = i = 0
            try:
                while p < k and _type(values[i]) is _float:
                    _pack_into(fmt, buf, p, values[i])
                    p += w
                    i += 1
            except OverflowError:  # CPython: a double past float32's range (typed_log: inf)
                p = -1
            if p != k:  # anything but floats: every value through typed_log's checks
                return _typed().log_values(self, ty, values, timestamp_ms, queue)
            while k < n:
                buf[k] = 0  # a static type is zero-padded, as the reference does
                k += 1
        if queue is not False and queue is not True:
            queue = flag(queue, "queue")
        if timestamp_ms is None and self.ts is None:
            timestamp_ms = self.now_ms()  # (a u64 int: Node._now checks the clock)
        else:  # the network time once one exists, as 4.2.7
            if timestamp_ms is None:
                timestamp_ms = self.ts.stamp()
            if not isinstance(timestamp_ms, int) or timestamp_ms < 0 \
                    or timestamp_ms > 0xFFFFFFFFFFFFFFFF:
                raise ArgumentError("timestamp_ms must be a u64, not %r" % (timestamp_ms,))
        nonce = ids.next_nonce()
        if (queue or self._busy or rec[_R_E2E] or rec[_R_RELIABLE] or self._opts[_E2E_MODE] == 3) \
                and _tx().log(self, ty, rec, n, timestamp_ms, nonce, queue):
            return  # E2E, reliable to discovered holders or queued (router_tx.py)
        # the type's fixed bytes (FLAGS NEP ty, sender, endpoints, reliable header) are made
        # once per type and sender; a frame is then one kernel call (wire.log_pack), which
        # also gives the spans of the packet-ID kernel: our own frame is not parsed again
        t = self._log_tmpl.get(ty) if self._log_tmpl else None
        if t is None or t[0] is not rec or t[1] != self.src_addr:
            t = self._template(ty, rec)
        payload = self._pay_views.views.get(n) or self._pay_views.get(n)
        struct.pack_into("<Q", TS8, 0, timestamp_ms)  # (a u64 to log_pack as bytes: no heap int)
        n = log_pack(self._tx_buf, _SPANS, _len(self._tx_buf), t[2], TS8, nonce, payload, n)
        if n < 0:
            n = log_pack(self._txbuf(-n), _SPANS, -n, t[2], TS8, nonce, payload, len(payload))
        # no local holder, no network variables, one egress side, no rules, nothing announced,
        # no reliable layer: forward._destinations' answer is that side and _send's one _tx
        # call, so the frame needs only its ID registered (no header parse, four calls less)
        mask = self._emask
        if t[3] or self.netvar is not None or mask <= 0 or mask & (mask - 1) \
                or self.rel is not None or self._routes.allow or self._routes.typed \
                or (self.discovery is not None and self.discovery.routes):
            self._held = t[3]
            Logging._originate(self, n)  # (class-qualified: see _originate_busy)
            return
        key_into(self._tx_buf, _SPANS, t[4], self._pid, 0)  # (ids.write_dup_key)
        rc = self._recent  # (RecentIds.seen inline: count moves only when the ID was new)
        _recent_seen(rc.table, rc.index, rc.st, self._pid, 0)
        rc.count = rc.st[0]
        self._busy = True  # (as _originate: a log from the tx callback is queued)
        try:
            _tx_one(self, mask, self._tx_views.views.get(n) or self._tx_views.get(n), False)
        except:  # noqa: E722 (anything: busy is reset, then it goes on up)
            self._busy = False
            raise
        self._busy = False
        if self._nested:
            self._drain()

    def _template(self, ty, rec):
        # (rec, sender, wire.log_template bytes, 0 when no local handler holds one of the
        # type's endpoints (its frames skip _deliver) else -1, the endpoints as the packet-ID
        # kernel reads them), at most 32 types
        tm = self._log_tmpl
        if tm is None or len(tm) >= 32:
            tm = self._log_tmpl = {}
        eps = rec[_R_EPS]
        held = 0
        for h in self._handlers:
            if h[0] in eps:
                held = -1
        t = tm[ty] = (rec, self.src_addr, log_template(ty, self.src_addr, eps,
                                                       _REL_UNSEQ if rec[_R_RELIABLE] else -1),
                      held, array("I", eps))  # (eps ascending, as the frame holds them)
        return t

    def _txbuf(self, n):
        if n > len(self._tx_buf):
            self._tx_buf = bytearray(n)
            self._tx_views = _Views(self._tx_buf)
        return self._tx_buf

    def _originate(self, n):
        """Send the frame in txbuf[:n] that this router made: register its ID (so it dies if a
        loop brings it back), deliver it to local handlers, forward it."""
        self._busy = True
        try:
            _tl[3](self, n)
        finally:
            self._busy = False
            if self._nested:
                self._drain()

    def _originate_busy(self, n, now=True):
        # forward._route for a frame of ours, without the _deliver call where it has nothing to
        # do: no network variables and, as _log_frame found (_held), no handler for its
        # endpoints. (This and _originate keep to 11 words of call state, see Node._now: no
        # local for the header or the buffer, no held argument.) The log path calls its
        # methods through their classes: self.<method> first misses in the instance's nearly
        # full attribute table, then in each class before the one that has it. (Here as
        # module globals: Class.method(self, ...) takes a word more of call state.)
        held = self._held
        self._held = -2
        _tl[6](self._hdr, self._tx_buf, n, True if held < -1 else _OWN)
        key_into(self._tx_buf, self._hdr.spans, self._hdr.endpoints, self._pid, 0)  # (write_dup_key)
        # (RecentIds.seen inline, without a local: a call less; count moves only when the ID
        # was new, so it is set either way)
        _recent_seen(self._recent.table, self._recent.index, self._recent.st, self._pid, 0)
        self._recent.count = self._recent.st[0]
        if held or self.netvar is not None:
            held = self._deliver(_LOCAL, self._hdr, self._tx_buf, n)
        d = _tl[4](self, _LOCAL, self._hdr, held)
        if d:
            _tl[5](self, d, self._tx_buf, n, False)
        elif now and held != (1 << self._hdr.ep_count) - 1 \
                and schema.type_record(self._hdr.ty)[_R_RELIABLE]:
            # 4.2.7: a reliable frame sent now (not from the queue) with endpoints elsewhere
            # and no way there
            raise IoError("no discovered route")

    def _view(self, data, n):
        if data is self._tx_buf:  # (the views' dict first: a call less per logged frame)
            return self._tx_views.views.get(n) or self._tx_views.get(n)
        return Node._view(self, data, n)

    def _process_tx(self, deadline):
        # the TX ring's frames (router_tx.process: loaded with the first queued frame, or when
        # the ring wants to grow); an empty ring is nothing to do
        tx = self._tx
        return _tx().process(self, deadline) if tx.live or tx.want else 0

    # ---- whole packets and frames ---------------------------------------------------------
    def transmit_message(self, packet):
        """Send a Packet now, as our own (delivered locally and forwarded).
        ArgumentError/DecodeError for a bad packet."""
        _tx().transmit(self, packed_of(packet), False)

    def transmit_message_queue(self, packet):
        """Queue a Packet to send (process_tx_queue). ArgumentError if it does not fit the TX
        queue."""
        _tx().transmit(self, packed_of(packet), True)

    def transmit_packed_message(self, data):
        """Send a packed frame now, as our own. DecodeError for a bad frame."""
        _tx().transmit(self, data, False)

    def transmit_packed_message_queue(self, data):
        """Queue a packed frame to send. DecodeError for a bad frame, ArgumentError if it does not
        fit."""
        _tx().transmit(self, data, True)


def _tx():
    t = _tl[1]  # the less common send paths, loaded by the first use of one
    if t is None:
        from . import router_tx as t  # (once: an import per frame would build its name)
        _tl[1] = t
    return t


def _typed():
    t = _tl[0]
    if t is None:
        from . import typed_log as t
        _tl[0] = t
    return t


# typed_log and router_tx once loaded; then the log path's entry and callees (see
# _originate_busy): in this list rather than as five more module globals (the table's size)
_tl = [None, None, Logging._log_frame, Logging._originate_busy, Node._destinations, Node._send,
       FrameHeader.parse]
