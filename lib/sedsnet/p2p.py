# P2P service ports, datagrams (the seed's "P2P Service Ports", verified-4.2.7.md "P2P"): a
# Router's bound ports and their callbacks, and the type-18 message (SEDSNET_P2P_MESSAGE) sent
# to a router named by hostname or by compact address. As 4.2.7: endpoint 201, a wire
# contract naming the destination host (targets + shape UInt8, its reliable bit) and the
# unsequenced reliable header "84 00"; the destination E2E-ACKs it (bound port or not) and
# calls cb(meta, payload) with meta {source_hostname, source_address, source_port,
# destination_port}. A message to ourselves is delivered here without a frame. Streams
# (SDSP sub-frames) are p2p_stream.py's. Loaded by the first P2P call (Router.__getattr__) or
# the first type-18 frame addressed to us (control.dispatch).
from . import ids
from . import p2p_codec as pc
from .compat import const
from .control import eligible
from .errors import ArgumentError, BudgetError, DecodeError, IoError
from .routes import LOCAL

_P2P = const(18)  # SEDSNET_P2P_MESSAGE
_ACK = const(1)  # SEDSNET_RELIABLE_ACK
_REL = const(0x84)  # reliable header wire flags: unsequenced, has seq (seq 0), as 4.2.7
_D_DECODE = const(0)  # engine.D_DECODE
PORT_BYTES = const(48)  # budget charged per bound port (its dict slot and entry)
MAX_PORTS = const(32)  # bound datagram + stream ports per router
_TARGETS = const(8)  # routers whose hash and address are kept (target())
_CONTRACT_HEAD = b"\x07\x02\x01"  # targets | shape | reliable, UInt8, one target

API = ("bind_p2p_port", "clear_p2p_port", "send_p2p_to_hostname", "send_p2p_to_address")


class P2P:
    """One Router's datagram ports (Router._svc); Router.__getattr__ hands out its methods
    under the reference's names."""

    def __init__(self, router):
        self.router = router
        self.ports = {}  # port -> callback
        self.streams = None  # p2p_stream.Streams, made by the first stream call or SDSP frame
        self.scratch = bytearray(64)  # the type-18 payload being sent (grown as needed)
        self.contract = bytearray(_CONTRACT_HEAD + bytes(8))
        self.frame = bytearray(0)  # the frame being sent (grown as needed)
        self.hdr = None  # its FrameHeader
        self.pid = bytearray(8)  # its packet ID
        self.handler_failures = 0
        self.targets = {}  # hostname -> target(): at most _TARGETS
        self.ack_contract = None  # our E2E ACKs' contract (ack())
        self.ack_pid = bytearray(8)

    def __getattr__(self, name):
        # Router.__getattr__ hands us every name with "p2p": the stream API is p2p_stream's
        if "stream" in name:
            from . import p2p_stream
            if name in p2p_stream.API:
                return getattr(p2p_stream.of(self), name)
        raise AttributeError(name)

    # ---- ports --------------------------------------------------------------------------
    def charge_port(self, table, port, cb):
        """Put cb on port in table (ports, or the stream ports), charging max_queue_budget for
        a new entry."""
        check_port(port, "port")
        if not callable(cb):
            raise ArgumentError("callback must be callable, not %r" % (cb,))
        if port not in table:
            s = self.streams
            if len(self.ports) + (0 if s is None else len(s.ports)) >= MAX_PORTS:
                raise ArgumentError("port: at most %d bound P2P ports per router" % MAX_PORTS)
            if not self.router._budget.take(PORT_BYTES):
                raise BudgetError("P2P port %d does not fit max_queue_budget" % port)
        table[port] = cb

    def release_port(self, table, port):
        if not isinstance(port, int) or port < 0 or port > 0xFFFF:
            raise ArgumentError("port: a u16, not %r" % (port,))
        if table.pop(port, None) is not None:
            self.router._budget.give(PORT_BYTES)

    def bind_p2p_port(self, port, cb):
        self.charge_port(self.ports, port, cb)

    def clear_p2p_port(self, port):
        self.release_port(self.ports, port)

    # ---- sending ------------------------------------------------------------------------
    def send_p2p_to_hostname(self, hostname, dst_port, src_port, payload):
        if not isinstance(hostname, str):
            raise ArgumentError("hostname must be a str, not %s" % type(hostname).__name__)
        r = self.router
        disc = r.discovery
        if hostname != r.hostname and (disc is None or hostname.encode() not in disc.hosts) \
                and r.resolve_hostname(hostname) is None:  # (a dict: only when not heard)
            raise ArgumentError("BadArg: unknown hostname %r" % hostname)
        self.send(hostname, dst_port, src_port, payload)

    def send_p2p_to_address(self, address, dst_port, src_port, payload):
        self.send(self.host_of(address), dst_port, src_port, payload)

    def host_of(self, address):
        """The hostname of the router with this compact address (discovery's ADDRESS table,
        or us); ArgumentError when none is known."""
        if not isinstance(address, int) or address < 0 or address > 0xFFFFFFFF:
            raise ArgumentError("address: a u32, not %r" % (address,))
        r = self.router
        if address == r.current_address:
            return r.hostname
        disc = r.discovery
        if disc is not None:
            for name, h in disc.hosts.items():
                if h[0] == address:
                    return str(name, "utf-8")
        raise ArgumentError("BadArg: unknown address %d" % address)

    def send(self, hostname, dst_port, src_port, payload, check=True, keep=None):
        """The type-18 message with payload (bytes-like) from src_port to dst_port on the
        router named hostname (a known one): delivered here when that is us (None), else
        sent (transmit(): the frame when keep is given)."""
        if check:
            check_port(dst_port, "dst_port")
            if not isinstance(src_port, int) or src_port < 0 or src_port > 0xFFFF:
                raise ArgumentError("src_port: a u16, not %r" % (src_port,))
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise ArgumentError("payload must be bytes-like, not %s"
                                    % type(payload).__name__)
        r = self.router
        me = r.hostname.encode()
        n = pc.message_size(len(me), len(payload))
        if n + 64 > r._budget.total:
            raise BudgetError("P2P payload of %d bytes can never fit max_queue_budget %d"
                              % (len(payload), r._budget.total))
        if hostname == r.hostname:
            if keep is not None:  # a stream frame to ourselves
                from .p2p_stream import of
                of(self).on_frame(LOCAL, dst_port, src_port, r.current_address, r.hostname,
                                  payload, 0, len(payload))
            else:
                self.on_message(LOCAL, dst_port, src_port, r.current_address, me, payload)
            return None
        buf = self.scratch
        if len(buf) < n:
            buf = self.scratch = bytearray(n)
        pc.encode_message(buf, 0, dst_port, src_port, r.current_address, me, payload)
        self.contract[3:] = self.target(hostname)[0]
        return self.transmit(hostname, memoryview(buf)[:n], keep)

    def transmit(self, hostname, payload, keep=None):
        """A type-18 frame of payload from us, as 4.2.7 sends it, on the sides that lead to
        hostname (control.send's way: its own header and ID buffers, so it may be called
        from a callback). keep: an 8-byte buffer that gets the frame's packet ID (its E2E
        ACK's payload); the frame (bytes) is then returned, for resend()."""
        from .schema import R_EPS, type_record
        from .wire import frame_size, pack_into, uleb_len
        r = self.router
        eps = type_record(_P2P)[R_EPS]
        ts = r.now_ms() if r.ts is None else r.ts.stamp()
        nonce = ids.next_nonce()
        nep = 0
        for e in eps:
            nep += uleb_len(e)
        size = frame_size(nep, _P2P, r.src_addr, ts, nonce, len(payload), len(self.contract),
                          _REL)
        mask = self.sides_to(hostname)
        if not mask:
            raise IoError("no discovered route to %r" % hostname)
        f = self.frame
        if r._busy or keep is not None or len(f) < size:
            f = bytearray(size)  # (busy: an outer send may still be using self.frame)
            if not r._busy and keep is None:
                self.frame = f
        pack_into(f, _P2P, r.src_addr, eps, ts, nonce, payload, self.contract, _REL)
        hdr = self.hdr
        if hdr is None:
            from .wire import FrameHeader
            hdr = self.hdr = FrameHeader(max_endpoints=4)
        hdr.parse(f, size)
        ids.write_dup_key(hdr, f, self.pid)
        r._recent.seen(self.pid)  # our own frame brought back by a loop is a duplicate
        if keep is not None:
            ids.write_packet_id(hdr, f, keep)
        self.send_frame(mask, f, size)
        return f

    def resend(self, hostname, frame):
        """The same frame again (a stream frame not acknowledged yet)."""
        mask = self.sides_to(hostname)
        if mask:
            self.send_frame(mask, frame, len(frame))

    def send_frame(self, mask, f, size):
        r = self.router
        was = r._busy
        r._busy = True
        try:
            r._send(mask, f, size, False)
        finally:
            r._busy = was
            if not was and r._nested:
                r._drain()

    def sides_to(self, hostname):
        """Bitmask of the sides a message for hostname leaves on: those where discovery heard
        that router (its ADDRESS, or a TOPOLOGY board naming it), else every side we may send
        on (routers pass P2P messages on: control.dispatch)."""
        r = self.router
        elig = eligible(r, LOCAL, _P2P)
        disc = r.discovery
        if disc is None:
            return elig
        from .announce_table import ANN, BOARDS, NAME
        name = hostname.encode()
        addr = self.target(hostname)[1]
        mask = 0
        for sid, st in disc.sides.items():
            if not elig >> sid & 1:
                continue
            for a, rec in st[ANN].items():
                if a == addr or rec[NAME] == name or name in rec[BOARDS]:
                    mask |= 1 << sid
                    break
        return mask or elig

    def target(self, hostname):
        """(sender hash as 8 bytes LE, header source address) of a router we send to, kept for
        the last few: a 64-bit hash costs about 1 KB of heap ints on a 32-bit board."""
        t = self.targets.get(hostname)
        if t is None:
            if len(self.targets) >= _TARGETS:
                self.targets.clear()
            h = ids.sender_hash(hostname)
            t = self.targets[hostname] = (bytes((h >> (8 * i)) & 0xFF for i in range(8)),
                                          ids.source_address(hostname))
        return t

    # ---- receiving ----------------------------------------------------------------------
    def on_frame(self, src, hdr, data):
        """A type-18 frame addressed to us from side src: given to its port, then E2E-ACKed.
        A malformed payload is a counted decode drop (DecodeError)."""
        r = self.router
        try:
            dp, sp, addr, hs, he, ps, pe = pc.decode_message(data, hdr.payload_start,
                                                             hdr.payload_end)
            host = pc.hostname_of(data, hs, he)
            stream = pc.is_stream(data, ps, pe)
            if stream:
                pc.decode_stream(data, ps, pe)  # checked before it is ACKed
        except DecodeError:
            if src != LOCAL:
                r.sides[src].drops[_D_DECODE] += 1
            raise
        if src != LOCAL:
            r.sides[src].local_delivery_packets += 1
        if stream:
            from .p2p_stream import of
            of(self).on_frame(src, dp, sp, addr, host, data, ps, pe)
        else:
            self.on_message(src, dp, sp, addr, host, memoryview(data)[ps:pe])
        if src != LOCAL and hdr.contract_start >= 0:
            self.ack(src, hdr, data, host)  # (as 4.2.7: not when the callback failed)

    def ack(self, sid, hdr, data, host):
        """control.e2e_ack's E2E ACK (type 1 from "E2EACK:<us>", contract naming us, then the
        origin; payload = the packet ID) on the arrival side, with the origin's hash taken
        from target(): the sender's hostname is in the message."""
        r = self.router
        c = self.ack_contract
        if c is None:
            h = r.sender_hash
            c = self.ack_contract = bytearray(b"\x03\x44\x02\x02" + bytes(
                (h >> (8 * i)) & 0xFF for i in range(8)) + bytes(8))
        c[12:] = self.target(host)[0]
        ids.write_packet_id(hdr, data, self.ack_pid)
        r.send_control(sid, _ACK, self.ack_pid, r.e2e_src, c)

    def on_message(self, src, dp, sp, addr, host, payload):
        cb = self.ports.get(dp)
        if cb is None:
            return  # as 4.2.7: ACKed, no error for an unbound port
        if not isinstance(host, str):
            host = str(host, "utf-8")
        meta = {"source_hostname": host, "source_address": addr, "source_port": sp,
                "destination_port": dp}
        self.call(cb, meta, bytes(payload))

    def on_ack(self, hdr, data):
        """An E2E ACK addressed to us (control.dispatch): a stream frame's, maybe."""
        if self.streams is not None:
            self.streams.on_ack(data, hdr.payload_start, hdr.payload_end)

    def call(self, cb, meta, payload, what="p2p"):
        try:
            cb(meta, payload)
        except Exception as ex:  # 4.2.7 fails the receive call with Io("p2p handler error")
            self.handler_failures += 1  # (or "p2p stream handler error"), once, no ACK
            raise IoError("%s handler error: %r" % (what, ex))


def check_port(port, name):
    """A destination or bound port: 1..65535 (0 is 4.2.7's BadArg)."""
    if not isinstance(port, int) or port < 1 or port > 0xFFFF:
        raise ArgumentError("BadArg: %s: a port 1..65535, not %r" % (name, port))


def of(router):
    s = getattr(router, "_svc", None)
    if s is None:
        s = router._svc = P2P(router)
    return s


def deliver(router, sid, hdr, data):
    """control.dispatch's type-18 hook: a message from side sid addressed to us; True (it
    stops here)."""
    of(router).on_frame(sid, hdr, data)
    return True
