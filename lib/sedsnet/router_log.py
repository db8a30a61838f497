# The logging API of a Router (log_* family, log, log_bytes, transmit_*): a mixin of
# router.Router. log_*() packs straight into a preallocated TX buffer (or into the TX ring with
# queue=True) and the frame leaves through the same path as forwarded traffic
# (_originate -> Engine._route); the tx callback gets a memoryview of that buffer, valid during
# the call (bytes(frame) to keep it). The typed helpers live in typed_log.py, loaded by the
# first call of one.
from . import ids, schema
from .compat import const
from .engine import BYTES_LIKE, check_frame_arg, packed_of
from .errors import ArgumentError, DecodeError, IoError, UnknownTypeError
from .node import Node, flag
from .queues import _Views
from .ring import HDR
from .routes import LOCAL
from .schema import R_E2E, R_EPS, R_FIXED, R_MDT, R_PRIORITY, R_RELIABLE, R_STATIC, WIDTHS
from .wire import frame_size, log_into, log_template, pack_into, uleb_len

from .kernels import copy_into

_REL_UNSEQ = const(0x84)  # REL_UNSEQUENCED | REL_HAS_SEQ: "84 00" on a plain side
_STRING = const(13)
_E2E_MODE = const(10)  # index of e2e_mode in Router._opts (options.NAMES)
_TX_TAG = const(0xFE)  # ring tag of queued TX frames (0xFF marks a taken record)


class Logging:
    """Router's originating half: log_*(), transmit_*() and the TX queue."""
    _log_tmpl = None  # type -> (schema record, sender, wire.log_template bytes), at most 32

    def _record(self, ty):
        if not isinstance(ty, int):
            raise ArgumentError("ty: a data type is an int, not %s" % type(ty).__name__)
        rec = schema.type_record(ty)
        if rec is None:
            raise UnknownTypeError("InvalidType: %r" % (ty,))
        if 200 in rec[R_EPS]:  # 4.2.7 lets users log TIME_SYNC frames; they would confuse peers
            raise ArgumentError("ty: type %d is time sync's (internal)" % ty)
        return rec

    def _pay(self, n):
        if n > len(self._pay_buf):
            self._pay_buf = bytearray(n)
            self._pay_views = _Views(self._pay_buf)
        return self._pay_buf

    # the typed log helpers live in typed_log.py, loaded by the first call of one
    def log_f32(self, ty, values, timestamp_ms=None, queue=False):
        """As 4.2.7: into a Float32 type, or as log(ty, <the float32 bytes>, 4, Float32) into
        any other type (its element type unchecked)."""
        _typed().log_values(self, ty, values, 1, timestamp_ms, queue)

    def log_f64(self, ty, values, timestamp_ms=None, queue=False):
        """Log float64 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 0, timestamp_ms, queue)

    def log_u8(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint8 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 2, timestamp_ms, queue)

    def log_u16(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint16 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 3, timestamp_ms, queue)

    def log_u32(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint32 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 4, timestamp_ms, queue)

    def log_u64(self, ty, values, timestamp_ms=None, queue=False):
        """Log uint64 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 5, timestamp_ms, queue)

    def log_i8(self, ty, values, timestamp_ms=None, queue=False):
        """Log int8 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 7, timestamp_ms, queue)

    def log_i16(self, ty, values, timestamp_ms=None, queue=False):
        """Log int16 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 8, timestamp_ms, queue)

    def log_i32(self, ty, values, timestamp_ms=None, queue=False):
        """Log int32 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 9, timestamp_ms, queue)

    def log_i64(self, ty, values, timestamp_ms=None, queue=False):
        """Log int64 values into type ty; SedsError as log()."""
        _typed().log_values(self, ty, values, 10, timestamp_ms, queue)

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
        buf = self._pay(max(n, rec[R_FIXED]))
        buf[:n] = data
        self._log_raw(ty, rec, buf, n, timestamp_ms, queue)

    def _log_raw(self, ty, rec, buf, n, timestamp_ms, queue):
        # raw payload bytes in buf[:n]: a static type is zero-padded or cut to its size, a
        # dynamic one must hold whole elements (and UTF-8 for strings)
        if rec[R_STATIC]:
            for i in range(n, rec[R_FIXED]):
                buf[i] = 0
            n = rec[R_FIXED]
        else:
            width = WIDTHS[rec[R_MDT]]
            if width and width <= 16 and n % width:
                ids.next_nonce()  # 4.2.7 has made the packet (taken its nonce) when it checks
                raise ArgumentError("SizeMismatch { expected: %d, got: %d }" % (width, n))
            if rec[R_MDT] == _STRING:
                try:
                    str(bytes(buf[:n]), "utf-8")
                except UnicodeError:
                    ids.next_nonce()  # as for SizeMismatch
                    raise ArgumentError("InvalidUtf8")
        self._log_frame(ty, rec, self._pay_views.get(n), timestamp_ms, queue)

    def _log_frame(self, ty, rec, payload, timestamp_ms, queue):
        if queue is not False and queue is not True:
            queue = flag(queue, "queue")
        if timestamp_ms is not None:
            ts = timestamp_ms
        else:  # the network time once one exists, as 4.2.7
            ts = self.now_ms() if self.ts is None else self.ts.stamp()
        if not isinstance(ts, int) or ts < 0 or ts > 0xFFFFFFFFFFFFFFFF:
            raise ArgumentError("timestamp_ms must be a u64, not %r" % (ts,))
        eps = rec[R_EPS]
        rel = _REL_UNSEQ if rec[R_RELIABLE] else -1
        nonce = ids.next_nonce()
        if rec[R_E2E] or self._opts[_E2E_MODE] == 3:  # encrypt, clear or refuse
            kid = _e2e().send_key(self, rec)
            if kid >= 0:
                size = _size(ty, self.src_addr, eps, ts, nonce, payload, rel)
                return _e2e().log_sealed(self, kid, ty, rec, payload, ts, nonce, rel, eps, size,
                                         queue)
        if rel > 0 and self.discovery and self.discovery.origin(self, ty, rec, payload, ts,
                                                                 nonce, queue):
            return  # to discovered holders: with a contract, kept until they ACK it
        if queue or self._busy:
            size = _size(ty, self.src_addr, eps, ts, nonce, payload, rel)
            tx = self._tx
            p = tx.reserve(size, True)
            if p < 0:
                raise ArgumentError("frame of %d bytes does not fit the TX queue" % size)
            pack_into(tx.buf, ty, self.src_addr, eps, ts, nonce, payload, None, rel, 0, 0,
                      p + HDR)
            tx.commit(p, size, _TX_TAG, rec[R_PRIORITY])
            self._nested = self._nested or self._busy
            return
        # the type's fixed bytes (FLAGS NEP ty, sender, endpoints, reliable header) are made
        # once per type and sender; a frame is then one kernel call (wire.log_into)
        tm = self._log_tmpl
        if tm is None:
            tm = self._log_tmpl = {}
        src = self.src_addr
        t = tm.get(ty)
        if t is None or t[0] is not rec or t[1] != src:
            if len(tm) >= 32:
                tm.clear()
            t = tm[ty] = (rec, src, log_template(ty, src, eps, rel))
        n = log_into(self._tx_buf, 0, t[2], ts, nonce, payload)
        if n < 0:
            n = log_into(self._txbuf(-n), 0, t[2], ts, nonce, payload)
        self._originate(n)

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
            self._originate_busy(n)
        finally:
            self._busy = False
            if self._nested:
                self._drain()

    def _originate_busy(self, n, now=True):
        hdr = self._hdr  # (no local for the buffer: 11 words of call state, see Node._now)
        hdr.parse(self._tx_buf, n, True)
        ids.write_dup_key(hdr, self._tx_buf, self._pid)
        self._recent.seen(self._pid)
        d = self._route(LOCAL, hdr, self._tx_buf, n)
        if d < 0 and now and ~d != (1 << hdr.ep_count) - 1 \
                and schema.type_record(hdr.ty)[R_RELIABLE]:
            # 4.2.7: a reliable frame sent now (not from the queue) with endpoints elsewhere
            # and no way there
            raise IoError("no discovered route")

    def _view(self, data, n):
        if data is self._tx_buf:
            return self._tx_views.get(n)
        return Node._view(self, data, n)

    def _process_tx(self, deadline):
        done = 0
        tx = self._tx
        was_busy = self._busy
        self._busy = True
        try:
            while True:
                p = tx.best()
                if p < 0:
                    break
                n = tx.frame_len(p)
                self._txbuf(n)
                tx.take(p)
                copy_into(self._tx_buf, 0, tx.buf, p + HDR, n)
                try:
                    self._originate_busy(n, False)
                except DecodeError:
                    pass  # a queued frame that did not parse (transmit_packed_message_queue)
                done += 1
                if deadline >= 0 and self._past(deadline):
                    break
        finally:
            self._busy = was_busy
        tx.grow()
        return done

    # ---- whole packets and frames ---------------------------------------------------------
    def transmit_message(self, packet):
        """Send a Packet now, as our own (delivered locally and forwarded).
        ArgumentError/DecodeError for a bad packet."""
        self._transmit_packet(packet, False)

    def transmit_message_queue(self, packet):
        """Queue a Packet to send (process_tx_queue). ArgumentError if it does not fit the TX
        queue."""
        self._transmit_packet(packet, True)

    def _transmit_packet(self, packet, queue):
        self._transmit_packed(packed_of(packet), queue)

    def transmit_packed_message(self, data):
        """Send a packed frame now, as our own. DecodeError for a bad frame."""
        self._transmit_packed(data, False)

    def transmit_packed_message_queue(self, data):
        """Queue a packed frame to send. DecodeError for a bad frame, ArgumentError if it does not
        fit."""
        self._transmit_packed(data, True)

    def _transmit_packed(self, data, queue):
        check_frame_arg(data)
        hdr = self._hdr if not self._busy else None
        if hdr is None:
            from .wire import FrameHeader
            hdr = FrameHeader(max_endpoints=32)
        hdr.parse(data)  # raises DecodeError for a bad frame, before anything is queued
        rec = schema.type_record(hdr.ty)
        if rec is not None and rec[R_RELIABLE] and self.discovery and \
                self.discovery.origin(self, hdr, rec, data, None, None, queue):
            return  # as a log (reliable_origin.transmit): with a contract, kept until ACKed
        if rec is not None and (rec[R_E2E] or self._opts[_E2E_MODE] == 3):
            data = _e2e().seal_packed(self, rec, data)  # E2E policy, as log_*
        n = len(data)
        if queue or self._busy:
            if not self._tx.push(data, n, _TX_TAG, rec[R_PRIORITY] if rec else 0, 0, True):
                raise ArgumentError("frame of %d bytes does not fit the TX queue" % n)
            self._nested = self._nested or self._busy
            return
        self._txbuf(n)[:n] = data
        self._originate(n)


def _size(ty, src, eps, ts, nonce, payload, rel):
    eb = 0
    for e in eps:
        eb += uleb_len(e)
    return frame_size(eb, ty, src, ts, nonce, len(payload), -1, rel)


def _e2e():
    from . import e2e_frame  # E2E logs and wrapped frames only
    return e2e_frame


def _typed():
    t = _tl[0]
    if t is None:
        from . import typed_log as t
        _tl[0] = t
    return t


_tl = [None]
