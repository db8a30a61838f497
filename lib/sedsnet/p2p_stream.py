# P2P streams (the seed's stream ports, verified-4.2.7.md "P2P"): SDSP sub-frames inside
# type-18 messages (p2p_codec.py). As 4.2.7: stream ids count 1, 2, ... per router, opens
# and accepts alike; open sends SYN (src = our id, seq 0); the server answers SYN|ACK (its id,
# the client's) even for an unbound port; DATA is numbered 1, 2, ... per direction, FIN / RST
# take the next number. Callbacks cb(meta, payload) on the bound stream port equal to the
# stream's local port: "Accepted" (server, on SYN), "Connected" (client, on SYN|ACK), "Data",
# "Closed" (FIN), "Reset" (RST); meta {kind, stream_id, peer_stream_id, sequence,
# peer_hostname, peer_address, local_port, peer_port}.
# Ours on top (4.2.7 never resends a P2P message): each stream sends stop-and-wait, one frame
# in flight until its E2E ACK comes back, resent as the same bytes every
# reliable_retransmit_ms, given up after reliable_max_retries resends, so a lossy link loses
# nothing and keeps the order; the holder answers every copy with an ACK (reliable_e2e.py)
# and delivers it once. The timers run from discovery's periodic(). Streams, their queued
# and in-flight bytes are bounded and charged to max_queue_budget.
import sys

from . import p2p_codec as pc
from .compat import const
from .errors import ArgumentError, BudgetError, SedsError
from .p2p import check_port

MAX_STREAMS = const(8)  # open streams per router
STREAM_BYTES = const(320)  # budget charged per stream (its record and meta; measured)
_ITEM = const(32)  # budget charged per queued frame on top of its bytes
_RETRANSMIT_MS = const(200)  # 4.2.7's reliable defaults (tuning.py), while it is not loaded
_MAX_RETRIES = const(8)
# stream record fields
_ID = const(0)
_PEER = const(1)  # the peer's stream id (0 until SYN|ACK)
_HOST = const(2)
_ADDR = const(3)
_LPORT = const(4)
_PPORT = const(5)
_TXSEQ = const(6)  # last sequence number we sent
_RXSEQ = const(7)  # last sequence number delivered
_STATE = const(8)
_OUT = const(9)  # queued [flags, data] not sent yet
_FLIGHT = const(10)  # the frame in flight (bytes) or None
_PID = const(11)  # its packet ID
_AT = const(12)  # when it was last sent
_TRIES = const(13)  # resends so far
_COST = const(14)  # budget taken by queued and in-flight frames
_FL = const(15)  # the sub-frame flags of the frame in flight
_SHUT = const(16)  # FIN or RST queued: the API refuses the stream
# states
_SYN_SENT = const(0)
_OPEN = const(1)
_KINDS = {pc.SYN: "Accepted", pc.SYN | pc.ACK: "Connected", pc.DATA: "Data", pc.FIN: "Closed",
          pc.RST: "Reset"}

API = ("bind_p2p_stream_port", "clear_p2p_stream_port", "open_p2p_stream_to_hostname",
       "open_p2p_stream_to_address", "send_p2p_stream", "close_p2p_stream",
       "reset_p2p_stream")


class Streams:
    """One Router's streams (P2P.streams); P2P.__getattr__ hands out these methods."""

    def __init__(self, svc):
        self.svc = svc
        self.router = svc.router
        self.ports = {}  # stream port -> callback
        self.streams = {}  # our stream id -> record
        self.next_id = 1
        self.given_up = 0  # frames never acknowledged after every resend
        self.refused = 0  # SYNs refused (MAX_STREAMS or the budget)
        self.sub = bytearray(pc.SDSP_HEADER + 64)  # the sub-frame being sent (grown)
        disc = self.router.discovery
        if disc is not None:
            disc.polls += (self.poll,)  # announce.py calls it from its periodic()

    # ---- the API ------------------------------------------------------------------------
    def bind_p2p_stream_port(self, port, cb):
        self.svc.charge_port(self.ports, port, cb)

    def clear_p2p_stream_port(self, port):
        self.svc.release_port(self.ports, port)

    def open_p2p_stream_to_hostname(self, hostname, dst_port, src_port):
        if not isinstance(hostname, str):
            raise ArgumentError("hostname must be a str, not %s" % type(hostname).__name__)
        r = self.router
        res = r.resolve_hostname(hostname)
        if res is None:
            raise ArgumentError("BadArg: unknown hostname %r" % hostname)
        return self._open(hostname, res["address"], dst_port, src_port)

    def open_p2p_stream_to_address(self, address, dst_port, src_port):
        return self._open(self.svc.host_of(address), address, dst_port, src_port)

    def _open(self, host, addr, dst_port, src_port):
        check_port(dst_port, "dst_port")
        if not isinstance(src_port, int) or src_port < 0 or src_port > 0xFFFF:
            raise ArgumentError("src_port: a u16, not %r" % (src_port,))
        st = self._new(host, addr, src_port, dst_port, 0, _SYN_SENT)
        if st is None:
            raise BudgetError("at most %d P2P streams, within max_queue_budget" % MAX_STREAMS)
        self._queue(st, pc.SYN, b"")
        return st[_ID]

    def _stream(self, sid):
        st = self.streams.get(sid) if isinstance(sid, int) else None
        if st is None or st[_SHUT]:
            raise ArgumentError("BadArg: no open P2P stream %r" % (sid,))
        return st

    def send_p2p_stream(self, stream_id, payload):
        st = self._stream(stream_id)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise ArgumentError("payload must be bytes-like, not %s" % type(payload).__name__)
        self._queue(st, pc.DATA, bytes(payload))

    def close_p2p_stream(self, stream_id):
        st = self._stream(stream_id)
        st[_SHUT] = True
        self._queue(st, pc.FIN, b"")

    def reset_p2p_stream(self, stream_id):
        st = self._stream(stream_id)
        st[_SHUT] = True
        for item in st[_OUT]:  # what was not sent yet is dropped
            self._give(st, len(item[1]) + _ITEM)
        st[_OUT] = []
        self._queue(st, pc.RST, b"")

    # ---- the table ----------------------------------------------------------------------
    def _new(self, host, addr, lport, pport, peer, state):
        if len(self.streams) >= MAX_STREAMS or not self.router._budget.take(STREAM_BYTES):
            return None
        sid = self.next_id
        self.next_id = sid + 1 if sid < 0xFFFFFFFF else 1
        st = [sid, peer, host, addr, lport, pport, 0, 0, state, [], None, bytearray(8), 0, 0,
              0, 0, False]
        self.streams[sid] = st
        return st

    def _drop(self, st):
        if self.streams.pop(st[_ID], None) is not None:
            self._give(st, st[_COST])
            self.router._budget.give(STREAM_BYTES)

    def _give(self, st, n):
        st[_COST] -= n
        self.router._budget.give(n)

    # ---- sending: stop-and-wait, one frame in flight per stream -------------------------
    def _queue(self, st, flags, data):
        n = len(data) + _ITEM
        if not self.router._budget.take(n):
            raise BudgetError("P2P stream %d: %d bytes do not fit max_queue_budget"
                              % (st[_ID], len(data)))
        st[_COST] += n
        st[_OUT].append([flags, data])
        self._pump(st)

    def _pump(self, st):
        """Send the next queued frame when none is in flight (data only once connected)."""
        while st[_FLIGHT] is None and st[_OUT]:
            flags, data = st[_OUT][0]
            if flags & (pc.DATA | pc.FIN) and not st[_PEER]:
                return  # a client's data and FIN wait for the server's SYN|ACK (its id)
            seq = st[_TXSEQ] + 1 if flags & (pc.DATA | pc.FIN | pc.RST) else st[_TXSEQ]
            n = pc.stream_size(len(data))
            sub = self.sub
            if len(sub) < n:
                sub = self.sub = bytearray(n)
            pc.encode_stream(sub, 0, flags, st[_ID], st[_PEER], seq, data)
            st[_OUT].pop(0)  # (before the send: to ourselves, the answer may pump this stream)
            st[_TXSEQ] = seq
            self._give(st, len(data) + _ITEM)
            try:
                f = self.svc.send(st[_HOST], st[_PPORT], st[_LPORT], memoryview(sub)[:n],
                                  False, st[_PID])
            except SedsError:  # no side leads there now: it waits (poll() tries again)
                st[_OUT].insert(0, [flags, data])
                st[_TXSEQ] = seq - 1 if flags & (pc.DATA | pc.FIN | pc.RST) else seq
                st[_COST] += len(data) + _ITEM
                self.router._budget.used += len(data) + _ITEM
                return
            st[_AT] = self.router.now_ms() or 1
            st[_TRIES] = 0
            if f is not None:  # (None: to ourselves, delivered already)
                cost = len(f) + _ITEM
                if self.router._budget.take(cost):
                    st[_COST] += cost
                    st[_FLIGHT] = f
                    st[_FL] = flags
            if flags & (pc.FIN | pc.RST) and st[_FLIGHT] is None:
                self._drop(st)
                return

    def on_ack(self, data, p, end):
        if end - p != 8:
            return
        for st in self.streams.values():
            f = st[_FLIGHT]
            if f is not None and st[_PID] == data[p:end]:
                self._landed(st)
                return

    def _landed(self, st):
        f = st[_FLIGHT]
        st[_FLIGHT] = None
        self._give(st, len(f) + _ITEM)
        if st[_FL] & (pc.FIN | pc.RST):
            self._drop(st)  # our FIN/RST got there (or was given up): the stream is gone
            return
        self._pump(st)

    def poll(self, now):
        """Resend what is due; give up on a frame after max_retries resends."""
        if not self.streams:
            return
        wait, tries = _tuned()
        for st in list(self.streams.values()):
            f = st[_FLIGHT]
            if f is None and st[_OUT]:
                self._pump(st)  # what could not be sent before (no side then)
                continue
            if f is None or now - st[_AT] < wait:
                continue
            if st[_TRIES] >= tries:
                self.given_up += 1
                self._landed(st)
                continue
            st[_TRIES] += 1
            st[_AT] = now
            self.svc.resend(st[_HOST], f)

    # ---- receiving ----------------------------------------------------------------------
    def on_frame(self, src, dp, sp, addr, host, data, p, end):
        """A stream sub-frame in data[p:end] of a message from host (addr) port sp to our
        port dp. A malformed one is a DecodeError (p2p.on_frame counts it)."""
        flags, s_src, s_dst, seq, d0, d1 = pc.decode_stream(data, p, end)
        if flags == pc.SYN:
            st = None
            for x in self.streams.values():  # a SYN sent again before our SYN|ACK got there
                if x[_PEER] == s_src and x[_HOST] == host and x[_LPORT] == dp:
                    st = x
            if st is None:
                st = self._new(host, addr, dp, sp, s_src, _OPEN)
                if st is None:
                    self.refused += 1
                    return
                self._queue(st, pc.SYN | pc.ACK, b"")
                self._call(st, pc.SYN, 0, b"")
            return
        st = self.streams.get(s_dst)
        if st is None or st[_HOST] != host:
            return  # not ours (closed, or never opened): ignored
        st[_ADDR] = addr
        if flags == pc.SYN | pc.ACK:
            if st[_STATE] == _SYN_SENT:
                st[_PEER] = s_src
                st[_STATE] = _OPEN
                self._call(st, flags, 0, b"")
                self._pump(st)
            return
        if seq <= st[_RXSEQ]:
            return  # a copy of what was delivered already
        st[_RXSEQ] = seq
        if flags & pc.DATA:
            self._call(st, pc.DATA, seq, bytes(data[d0:d1]))
        elif flags & (pc.FIN | pc.RST):
            kind = pc.RST if flags & pc.RST else pc.FIN
            self._drop(st)
            self._call(st, kind, seq, b"")

    def _call(self, st, flags, seq, payload):
        cb = self.ports.get(st[_LPORT])
        if cb is None:
            return
        meta = {"kind": _KINDS[flags], "stream_id": st[_ID], "peer_stream_id": st[_PEER],
                "sequence": seq, "peer_hostname": st[_HOST], "peer_address": st[_ADDR],
                "local_port": st[_LPORT], "peer_port": st[_PPORT]}
        self.svc.call(cb, meta, payload, "p2p stream")


def _tuned():
    t = sys.modules.get("sedsnet.tuning")  # reliable_retransmit_ms, reliable_max_retries
    return (_RETRANSMIT_MS, _MAX_RETRIES) if t is None else (t._values[5], t._values[6])


def of(svc):
    s = svc.streams
    if s is None:
        s = svc.streams = Streams(svc)
    return s
