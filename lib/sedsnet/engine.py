# The per-frame engine of a node (Router and Relay, via node.Node): receiving (check, dedupe,
# hop ACK), control frames, local delivery hook, choosing sides, sending, and the RX/TX queues.
# Frames stay packed the whole way: a received frame is parsed in place into one preallocated
# FrameHeader, its packet ID written into a preallocated 8-byte buffer, and it is passed on
# as the same bytes.
#
# Re-entrancy: a tx callback may feed another node that answers synchronously, and a handler
# may log. While a node is busy, such calls only queue; the outermost call drains the queues
# before it returns, so nothing is lost and the shared header/buffers are never clobbered.
from . import ids, schema
from .compat import const
from .errors import ArgumentError, CompressedFrameError, DecodeError, SedsError, UnknownTypeError
from .routes import LOCAL
from .schema import R_FIXED, R_MDT, R_STATIC, WIDTHS
from .wire import REL_ACK_ONLY, REL_HAS_SEQ, REL_MODE, FrameHeader, pack_into

try:
    from ._fast import copy_into
except (ImportError, SyntaxError, ValueError, AttributeError):
    from ._pure import copy_into

_CTRL_LAST = const(18)  # built-in types are 0..18
_STRING = const(13)
# compact reliable header bits that make a frame "sequenced": has a seq, is not unsequenced,
# is not an ACK-only frame
_SEQUENCED = const(0x85)

# drop reasons, per side (export_runtime_stats()["sides"][i]["drops"])
DROP_NAMES = ("decode", "duplicate", "unknown_type", "compressed", "e2e", "ingress", "evicted",
              "oversize", "isr_full")
D_DECODE = const(0)
D_DUP = const(1)
D_UNKNOWN = const(2)
D_COMPRESSED = const(3)
D_E2E = const(4)
D_INGRESS = const(5)
D_EVICTED = const(6)
D_OVERSIZE = const(7)
D_ISR_FULL = const(8)  # receive_*_queue: the IRQ-side ring was full (or mid-push from another
# context), the new frame dropped
LOCAL_TAG = const(0xFD)  # ring tag of frames the application handed in (receive_packed_queue)


BYTES_LIKE = (bytes, bytearray, memoryview)


def check_frame_arg(data):
    if not isinstance(data, BYTES_LIKE):
        raise ArgumentError("data: a frame is bytes, bytearray or memoryview, not %s"
                            % type(data).__name__)


def check_timeout(t):
    if not isinstance(t, int) or not 0 <= t <= 0xFFFFFFFF:
        raise ArgumentError("timeout_ms must be an int 0..4294967295, not %r" % (t,))
    return t


def packed_of(packet):
    """The frame of a Packet given to a *_packet call (a clear error for anything else)."""
    from .packet import Packet
    if not isinstance(packet, Packet):
        raise ArgumentError("packet: a Packet is needed (make_packet() or unpack_packet()), "
                            "not %s" % type(packet).__name__)
    return packet.pack()


class Side:
    def __init__(self, sid, name, tx, reliable, packet_side):
        self.sid = sid
        self.name = name
        self.tx = tx
        self.reliable = reliable
        self.packet_side = packet_side  # tx takes Packet objects (add_side_packet)
        self.ingress = self.egress = True
        self.tx_packets = self.tx_bytes = self.rx_packets = self.rx_bytes = 0
        self.relayed_tx_packets = self.relayed_tx_bytes = 0
        self.relayed_rx_packets = self.relayed_rx_bytes = 0
        self.local_delivery_packets = self.tx_handler_failures = 0
        self.drops = [0] * len(DROP_NAMES)


class _Views:
    """memoryviews of buf[:n] for recurring lengths n, made once: a frame handed to a tx
    callback costs no allocation in the steady state. A miss also makes the views of the
    lengths next to n (a frame's length moves by a byte or two with its nonce and timestamp)."""

    def __init__(self, buf, limit=24):
        self.buf = buf
        self.views = {}
        self.limit = limit

    def get(self, n):
        v = self.views.get(n)
        if v is None:
            if len(self.views) > self.limit:
                self.views.clear()
            mv = memoryview(self.buf)
            for k in range(max(0, n - 3), min(len(self.buf), n + 3) + 1):
                if k not in self.views:
                    self.views[k] = mv[:k]
            v = self.views[n]
        return v

class Engine:
    """Frame handling shared by Router and Relay; state is set up by node.Node.__init__."""

    # ---- receiving ------------------------------------------------------------------------
    def _rx_now(self, side_id, data):
        """A frame from a side, handled now (or queued when called from inside this node)."""
        side = self._side(side_id)
        check_frame_arg(data)
        if self.busy:
            self._rx_defer(side, data)
            return
        self.busy = True
        try:
            self._ingest(side, data, len(data))
        finally:
            self.busy = False
            if self.nested:  # (also when the frame was refused: others may be waiting)
                self._drain()

    def _rx_defer(self, side, data):
        """A frame that arrived while this node was busy (a synchronous link answering from a
        tx callback): into the growable RX ring, handled before the outermost call returns."""
        if not side.ingress:
            side.drops[D_INGRESS] += 1
            return
        rx = self.rx
        before = rx.evicted
        if not rx.push(data, len(data), side.sid, 0, 0, True):
            side.drops[D_OVERSIZE] += 1
        elif rx.evicted != before:
            side.drops[D_EVICTED] += rx.evicted - before
        self.nested = True

    def _rx_queue(self, side, data):
        """receive_*_queue: copy into the preallocated IRQ-side ring and nothing else (no
        allocation, no state the main loop writes); a full ring drops the new frame."""
        check_frame_arg(data)
        if not side.ingress:
            side.drops[D_INGRESS] += 1
        elif not self.isr.push(data, len(data), side.sid):
            side.drops[D_ISR_FULL] += 1

    def _ingest_local(self, data, n):
        """A frame the application handed in (4.2.7's receive_packed): checked, deduplicated,
        then delivered and forwarded as locally originated. Bad frames raise; control frames
        come only from sides and are ignored here."""
        hdr = self._parse_checked(data, n)
        ids.write_dup_key(hdr, data, self.pid)
        if self.recent.seen(self.pid) or hdr.ty <= _CTRL_LAST:
            return
        self._route(LOCAL, hdr, data, n)

    def _parse_checked(self, data, n, relay_ok=False):
        """Parse data[:n] into self.hdr and check its payload against the schema or the wire
        contract's shape (a type we do not know, without a shape, passes unchecked, as 4.2.7
        forwards it); a SedsError if it is bad. relay_ok (frames from a side): as 4.2.7, a
        user frame no local handler holds needs only pass the header checks (peek_header's),
        and is then passed on as it is."""
        hdr = self.hdr
        try:
            hdr.parse(data, n, True)
            if not (hdr.rel_form and hdr.rel_flags & REL_ACK_ONLY):
                if hdr.e2e:
                    raise DecodeError("E2E-wrapped payloads are not supported")
                rec = schema.type_record(hdr.ty)  # (4.2.7 takes ACK-only frames unchecked)
                if rec is not None or hdr.contract_start >= 0:
                    self._check_payload(hdr, data, rec)
        except SedsError as e:
            if not relay_ok or n < 3:
                raise
            e2e = hdr.e2e
            try:
                hdr.parse(data, n, REL_MODE)
                if hdr.rel_form and hdr.rel_flags & REL_ACK_ONLY:
                    return hdr  # 4.2.7 reads nothing after an ACK-only header
                # (a control type, a zstd payload (FLAGS 0x01) or a local holder: all of it)
                held = hdr.ty <= _CTRL_LAST or data[0] & 0x01 or self._holds(hdr)
            except SedsError:
                held = True
            if held:
                hdr.e2e = e2e  # (the drop reason of the full parse)
                raise e
        return hdr

    def _holds(self, hdr):
        return False  # a Relay has no handlers

    def _ingest(self, side, data, n):
        """Check, dedupe, deliver and forward one received frame data[:n]. Bad frames are
        counted on the side and raised (a SedsError)."""
        if not side.ingress:
            side.drops[D_INGRESS] += 1
            raise ArgumentError("ingress disabled for side %d" % side.sid)
        side.rx_packets += 1
        side.rx_bytes += n
        hdr = self.hdr
        try:
            self._parse_checked(data, n, True)
        except SedsError as e:
            d = D_DECODE
            if hdr.e2e:
                d = D_E2E
            elif isinstance(e, UnknownTypeError):
                d = D_UNKNOWN
            elif isinstance(e, CompressedFrameError):
                d = D_COMPRESSED
            side.drops[d] += 1
            raise
        ty = hdr.ty
        if hdr.rel_form and hdr.rel_flags & REL_ACK_ONLY:
            return  # a reliable-layer ACK-only frame (any type): 4.2.7 takes it, does nothing
        if side.reliable and hdr.rel_form == 1 and (hdr.rel_flags & _SEQUENCED) == REL_HAS_SEQ:
            if not self.rel.rx_seq(side, hdr, data, n):  # ACK (+ order: reliable_rx.py)
                return  # held after a gap, or an old repeat
        ids.write_dup_key(hdr, data, self.pid)
        if self.recent.seen(self.pid):
            if hdr.contract_start >= 0 and hdr.rel_form and ty > 18:
                from .reliable_e2e import repeat  # an end-to-end resend: 4.2.7 passes it on
                if repeat(self, side.sid, hdr, data, n):
                    return
            side.drops[D_DUP] += 1
            return
        if ty <= _CTRL_LAST and self._control(side.sid, hdr, data, n):
            return
        self._route(side.sid, hdr, data, n)

    def _hop_ack(self, sid, hdr):
        """RELIABLE_ACK [ty u32, seq u32] for a sequenced frame on a hop-reliable side, as 4.2.7
        sends (docs/router-interop.md section 5). Retransmits of our own and gap requests come
        with the reliable-delivery feature."""
        ack = self.ack_payload
        ty = hdr.ty
        seq = hdr.seq
        for i in range(4):
            ack[i] = (ty >> (8 * i)) & 0xFF
            ack[4 + i] = (seq >> (8 * i)) & 0xFF
        # preallocated frame, not in the recent-ID cache: link-local, it never comes back
        n = pack_into(self.ack_frame, 1, self.src_addr, None, self.now_ms(), ids.next_nonce(),
                      ack)
        self._send(1 << sid, self.ack_frame, n, False)

    def _check_payload(self, hdr, data, rec):
        n = hdr.payload_end - hdr.payload_start
        shape = hdr.contract_shape(data) if hdr.contract_start >= 0 else None
        if shape is not None:
            static, mdt, fixed = shape[0], shape[1], WIDTHS[shape[1]] * shape[2]
        elif rec is None:
            if self._holds(hdr):  # no schema and no shape: 4.2.7 cannot decode it here
                raise UnknownTypeError("InvalidType: %d" % hdr.ty)
            return
        else:
            static, mdt, fixed = rec[R_STATIC], rec[R_MDT], rec[R_FIXED]
        width = WIDTHS[mdt]
        if (static and n != fixed) or (not static and (width == 0 or (width <= 16 and n % width))):
            raise DecodeError("SizeMismatch: %d payload bytes for type %d" % (n, hdr.ty))
        if mdt == _STRING:
            try:
                str(bytes(data[hdr.payload_start:hdr.payload_end]), "utf-8")
            except UnicodeError:
                raise DecodeError("InvalidUtf8")
        # a hop ACK/NACK/retransmit names a type we know; an E2E ACK (type 1 with a contract)
        # carries a packet ID instead
        if 1 <= hdr.ty <= 3 and n >= 4 and hdr.contract_start < 0:
            p = hdr.payload_start
            t = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
            if schema.type_record(t) is None:
                raise UnknownTypeError("InvalidType: %d" % t)

    def _control(self, sid, hdr, data, n):
        """Built-in control frames. Returns True when the frame stops here; False sends it on
        like data (P2P). As 4.2.7: errors (0) stop here; discovery learning frames (7, 8, 9, 16, and 17 on a
        Router) stay on their link; SCHEMA, the requests, managed variables and LEAVE
        (10..15), and ADDRESS on a Relay, are acted on and then flooded to the other sides;
        hop ACKs and time sync are link-local. An E2E ACK for another node is flooded on (the
        reference sends it back along the return path it learned; duplicates die at peers)."""
        ty = hdr.ty
        if ty == 0:
            return True  # SEDSNET_ERROR: consumed by 4.2.7 routers and relays alike
        if 7 <= ty <= 17:
            if ty == 17 and hdr.payload_end != n - 4:  # 4.2.7: no byte may follow an ADDRESS
                self.sides[sid].drops[D_DECODE] += 1  # payload (others and user data: ignored)
                raise DecodeError("discovery payload length mismatch")
            disc = self.discovery
            if disc is not None:
                try:
                    disc.on_frame(sid, hdr, data)
                except SedsError:
                    self.sides[sid].drops[D_DECODE] += 1
                    raise
            if 10 <= ty <= 15 or (ty == 17 and self.kind == "relay"):
                self._flood(sid, hdr, data, n)
            return True
        if 1 <= ty <= 3:
            if self.rel is not None and hdr.contract_start < 0:
                self.rel.on_control(sid, hdr, data)  # hop ACK, PACKET_REQUEST, PARTIAL_ACK
            if ty == 1 and hdr.contract_start >= 0 and self.sender_hash not in \
                    hdr.contract_targets(data):
                self._flood(sid, hdr, data, n)  # an E2E ACK on its way back to its origin
            return True  # hop-reliability control: acted on by the reliable layer (later)
        return 4 <= ty <= 6  # time sync: link-local

    def _flood(self, src, hdr, data, n):
        mask = self._eligible(src, hdr.ty)
        if mask:
            self._send(mask, data, n, True)

    # ---- forwarding -----------------------------------------------------------------------
    def _route(self, src, hdr, data, n):
        """Local delivery, then the sides this frame goes to. src is a side ID or LOCAL."""
        held = self._deliver(src, hdr, data, n)
        dst = self._destinations(src, hdr, held)
        if dst:
            if src != LOCAL:
                side = self.sides[src]
                side.relayed_rx_packets += 1
                side.relayed_rx_bytes += n
            self._send(dst, data, n, src != LOCAL)

    def _deliver(self, src, hdr, data, n):
        return 0  # a Relay has no handlers

    def _eligible(self, src, ty):
        """Bitmask of the sides a frame of type ty from src may leave on (egress, rules)."""
        routes = self.routes
        elig = 0
        for s in self.sides:
            if s is not None and s.egress and s.sid != src and routes.allowed(src, ty, s.sid):
                elig |= 1 << s.sid
        return elig

    def _destinations(self, src, hdr, held):
        """Bitmask of sides for a frame from src; held = bitmask over hdr.endpoints of the
        endpoints satisfied by local handlers. As 4.2.7 (docs/router-interop.md section 3,
        host_tests/test_route_choice_parity.py): a frame whose endpoints are all held stops
        here. The sides left after egress and set_route count for "one way out": a Relay
        always takes it, a Router only while nothing is announced. Otherwise each endpoint
        (held ones included) goes towards a side where it is reachable; one nobody announced
        goes, when src has set_route rules or a typed rule for this type, to every side the
        rules allow, else nowhere. Typed rules are not counted for
        "one way out"; once one exists for (src, type) only the sides it enables are allowed."""
        full = (1 << hdr.ep_count) - 1
        if held & full == full:
            return 0
        routes = self.routes
        allow = routes.allow
        typed = routes.typed.get(hdr.ty) if routes.typed else None
        key = src * 256
        base = ton = 0  # sides left after egress and set_route; those a typed rule enables
        ruled = has_typed = False
        for s in self.sides:
            if s is None or s.sid == src:
                continue
            k = key + s.sid
            if allow and k in allow:
                ruled = True
                if not allow[k]:
                    continue
            on = False
            if typed is not None and k in typed:
                has_typed = True
                on = typed[k]
            if s.egress:
                base |= 1 << s.sid
                if on:
                    ton |= 1 << s.sid
        # a typed rule for (src, type) allows only the sides it enables
        tok = ton if has_typed else base
        if not tok:
            return 0
        disc = self.discovery
        if disc is None:
            return tok  # no discovery: flood the eligible sides (duplicates die at peers)
        if base & (base - 1) == 0 and (self.kind == "relay" or not disc.has_routes()):
            return tok
        if not disc.has_routes():
            return 0  # nothing announced anywhere and two or more ways out
        eps = hdr.endpoints
        out = 0
        for i in range(hdr.ep_count):
            e = eps[i]
            cands = 0
            s = 0
            while tok >> s:
                if tok >> s & 1 and disc.reachable(s, e):
                    cands |= 1 << s
                s += 1
            if cands:
                out |= routes.pick(src, cands)
            elif has_typed or ruled:
                out |= tok
        return out

    def _view(self, data, n):
        if len(data) == n:
            return data
        if data is self.work:
            return self.work_views.get(n)
        if data is self.ack_frame:
            return self.ack_views.get(n)
        return memoryview(data)[:n]

    def _send(self, mask, data, n, relayed):
        if self.rel is not None and data[0] & 0x42 == 0x42:
            mask = self.rel.send(mask, data, n, relayed)  # sequenced on reliable sides
        view = self._view(data, n)
        s = 0
        while mask >> s:
            side = self.sides[s] if mask >> s & 1 else None
            if side is not None:
                try:
                    if side.packet_side:
                        from .packet import unpack_packet
                        side.tx(unpack_packet(bytes(view)))
                    else:
                        side.tx(view)
                except Exception:
                    side.tx_handler_failures += 1
                    s += 1
                    continue
                side.tx_packets += 1
                side.tx_bytes += n
                if relayed:
                    side.relayed_tx_packets += 1
                    side.relayed_tx_bytes += n
            s += 1

    def send_control(self, side_id, ty, payload, src_addr=-1, contract=None):
        """A built-in control frame (schema-default endpoints, our sender unless src_addr is
        given, an optional wire contract) on one side, now."""
        from .wire import REL_UNSEQUENCED, frame_size
        rec = schema.type_record(ty)
        rel = (REL_UNSEQUENCED | REL_HAS_SEQ) if rec[6] else -1
        nonce = ids.next_nonce()
        ts = self.now_ms()
        src = self.src_addr if src_addr < 0 else src_addr
        clen = -1 if contract is None else len(contract)
        buf = bytearray(frame_size(0, ty, src, ts, nonce, len(payload), clen, rel))
        pack_into(buf, ty, src, None, ts, nonce, payload, contract, rel)
        if self.ctrl_hdr is None:
            self.ctrl_hdr = FrameHeader(max_endpoints=4)
        self.ctrl_hdr.parse(buf)
        pid = bytearray(8)
        ids.write_dup_key(self.ctrl_hdr, buf, pid)
        self.recent.seen(pid)  # our own frame echoed back by a loop is a duplicate
        self._send(1 << self._side(side_id).sid, buf, len(buf), False)

    # ---- queues ---------------------------------------------------------------------------
    def process_rx_queue(self):
        """Handle every queued received frame; returns how many."""
        if self.busy:
            self.nested = True  # called from a handler or tx callback: the outer call drains
            return 0
        n = self._process_rx(-1)
        if self.nested:
            self._drain()
        return n

    def _process_rx(self, deadline):
        done = 0
        was_busy = self.busy
        self.busy = True
        try:
            for ring in self.rx_rings:  # frames from IRQ callbacks, then those deferred
                while True:
                    p = ring.first()
                    if p < 0:
                        break
                    sid = ring.tag(p)
                    n = self._work_from(ring.buf, p + ring.hdr, ring.frame_len(p))
                    ring.take(p)
                    self._ingest_queued(sid, n)
                    done += 1
                    if deadline >= 0 and self._past(deadline):
                        return done
        finally:
            self.busy = was_busy
        return done

    def _work_from(self, buf, off, n):
        if n > len(self.work):
            self.work = bytearray(n)  # rare: a queued frame longer than any before
            self.work_views = _Views(self.work)
        copy_into(self.work, 0, buf, off, n)
        return n

    def _ingest_queued(self, sid, n):
        if sid == LOCAL_TAG:
            try:
                self._ingest_local(self.work, n)
            except SedsError:
                self.local_rx_dropped += 1
            return
        side = self.sides[sid] if sid < len(self.sides) else None
        if side is not None:  # (a removed side's frames are tagged dead: 0xFF)
            try:
                self._ingest(side, self.work, n)
            except SedsError:
                pass  # counted on the side

    def _process_tx(self, deadline):
        return 0

    def process_tx_queue(self):
        if self.busy:
            self.nested = True
            return 0
        n = self._process_tx(-1)
        if self.nested:
            self._drain()
        return n

    def _queued(self):
        return not self.isr.empty() or self.rx.live or self.tx.live

    def process_all_queues(self):
        return self.process_all_queues_with_timeout(0)

    def _past(self, deadline):
        d = self.now_ms() - deadline
        return d >= 0

    def process_all_queues_with_timeout(self, timeout_ms):
        """Discovery announcements that are due, then both queues until they are empty or
        timeout_ms has passed (0: no limit, as the reference's periodic(0) empties its
        queues). 4.2.7 announces here too, so a loop that never calls periodic() announces."""
        check_timeout(timeout_ms)
        if self.busy:
            self.nested = True
            return 0
        self._refresh_budget()
        if self.discovery is not None:
            self.busy = True
            try:
                self.discovery.periodic(self.now_ms())
            finally:
                self.busy = False
        if self.rel is not None:  # hop retransmits that are due (reliable.py)
            self.busy = True
            try:
                self.rel.poll(self.now_ms())
            finally:
                self.busy = False
        deadline = self.now_ms() + timeout_ms if timeout_ms > 0 else -1
        n = 0
        while self._queued():
            n += self._process_rx(deadline) + self._process_tx(deadline)
            if deadline >= 0 and self._past(deadline):
                break
        self.nested = False
        self.rx.grow()  # after a burst that evicted or refused frames: more room, in budget
        self.tx.grow()
        return n

    def process_rx_queue_with_timeout(self, timeout_ms):
        check_timeout(timeout_ms)
        if self.busy:
            self.nested = True
            return 0
        return self._process_rx(self.now_ms() + timeout_ms if timeout_ms > 0 else -1)

    def process_tx_queue_with_timeout(self, timeout_ms):
        check_timeout(timeout_ms)
        if self.busy:
            self.nested = True
            return 0
        return self._process_tx(self.now_ms() + timeout_ms if timeout_ms > 0 else -1)

    def _drain(self):
        self.nested = False
        while self._queued():
            self._process_rx(-1)
            self._process_tx(-1)

    def clear_rx_queue(self):
        self.isr.clear()
        self.rx.clear()

    def clear_tx_queue(self):
        self.tx.clear()

    def clear_queues(self):
        self.clear_rx_queue()
        self.tx.clear()

    def periodic(self, timeout_ms=0):
        """Discovery announcements that are due, then the queues (for up to timeout_ms; 0 =
        until empty); time sync is a later feature, so the same as the _no_timesync form."""
        return self.process_all_queues_with_timeout(timeout_ms)

    def periodic_no_timesync(self, timeout_ms=0):
        return self.periodic(timeout_ms)

    def poll_discovery(self):
        if self.discovery is not None:
            self.discovery.periodic(self.now_ms())

    def _refresh_budget(self):
        used = schema.schema_bytes_used()
        self.budget.used += used - self._schema_bytes
        self._schema_bytes = used
        ev = self.rx.evicted + self.tx.evicted
        if ev and not self.warned:
            self.warned = True
            print("sedsnet: queue budget full, evicting oldest frames")
