# Receiving side of the SDT side transport (sdt.py): the CRC check, the rx template table that
# kind-1 frames fill and kind-2 frames are restored from, and chunk reassembly bounded in
# memory (charged to the node's max_queue_budget) and in time (4.2.7 reclaims a message whose
# last chunk is more than 2000 ms old).
from .compat import const
from .errors import DecodeError
from .sdt_codec import K_CHUNK, K_COMPACT, K_FULL, header_spans, shape_hash, uleb_at

from .kernels import crc32_check, crc32_write

REASSEMBLY_MS = const(2000)  # probed: a chunk 2000 ms after the previous one completes, 2001 not
MAX_MESSAGES = const(4)  # messages being reassembled at once per side; the oldest is reclaimed
MAX_MESSAGE_BYTES = const(4096)  # a reassembled frame longer than this is refused
_P_TOTAL = const(0)
_P_LAST = const(1)
_P_HAVE = const(2)
_P_PARTS = const(3)
_P_BYTES = const(4)


class Reassembler:
    def __init__(self, sdt):
        self.sdt = sdt
        self.budget = sdt.node._budget
        # template id -> (nep+ty bytes, src..contract bytes, shape hash): one entry per shape
        self.templates = {}
        self.msgs = {}  # message id -> [total, last ms, chunks held, [chunk bytes], bytes]
        self.bytes = 0  # charged to the budget: chunks held and templates
        self.reclaims = self.evictions = 0
        self.buf = bytearray(64)  # a restored compact frame

    def rx(self, data, n, nested=False):
        if n < 8 or not crc32_check(data, 0, n - 4):
            raise DecodeError("side transport crc32 mismatch")
        kind = data[3]
        end = n - 4
        if kind == K_FULL:
            p = 4
            if self.sdt.templates:
                tid, p = uleb_at(data, 4, end)
                inner = memoryview(data)[p:end]
                self._learn(tid, inner)
                return inner
            return memoryview(data)[p:end]
        if kind == K_COMPACT:
            return self._compact(data, end)
        if kind == K_CHUNK and not nested:
            return self._chunk(data, n)
        raise DecodeError("side transport: unknown kind %d" % kind)

    # ---- templates ----------------------------------------------------------------------
    def _learn(self, tid, f):
        """Remember the header of full frame f under tid, as 4.2.7's receiver does
        (tools/probe_sdt_eviction.py): one entry per header shape; a known shape under a
        new id moves to that id; a known id with a new shape takes the new one; a new shape
        into a full table first forgets the entry of the smallest shape hash (counted)."""
        size_off, src_off, hdr_end = header_spans(f, len(f))
        h = shape_hash(f, size_off, src_off, hdr_end)
        t = self.templates
        e = t.get(tid)
        if e is not None and e[2] == h:
            return
        lim = self.sdt.max_templates
        if lim == 0:
            return
        for k in [k for k, v in t.items() if v[2] == h]:  # the shape under another id
            if e is None:
                t[tid] = t.pop(k)
                return
            self._forget(k)
        if e is not None:
            self._forget(tid)
        elif len(t) >= lim:
            old = None
            for k, v in t.items():
                if old is None or v[2] < t[old][2]:
                    old = k
            self._forget(old)
            self.evictions += 1
        a = bytes(f[1:size_off])
        b = bytes(f[src_off:hdr_end])
        if not self._take(len(a) + len(b) + 8):
            return  # no room in the budget: later compact frames of it are dropped
        t[tid] = (a, b, h)

    def _forget(self, tid):
        a, b, _ = self.templates.pop(tid)
        self._give(len(a) + len(b) + 8)

    def _compact(self, data, end):
        if end < 6:
            raise DecodeError("side transport: short compact frame")
        flags = data[4]
        tid, p = uleb_at(data, 5, end)
        t = self.templates.get(tid)
        if t is None:
            raise DecodeError("side transport: unknown template %d" % tid)
        _, q = uleb_at(data, p, end)  # data_size, timestamp, nonce: copied as they are
        _, q = uleb_at(data, q, end)
        if flags & 0x08:
            _, q = uleb_at(data, q, end)
        a, b, _ = t
        k = 1 + len(a) + (q - p) + len(b) + (end - q) + 4
        buf = self.buf
        if len(buf) < k:
            buf = self.buf = bytearray(k + 16)
        buf[0] = flags
        i = 1 + len(a)
        buf[1:i] = a
        buf[i:i + q - p] = data[p:q]
        i += q - p
        buf[i:i + len(b)] = b
        i += len(b)
        buf[i:i + end - q] = data[q:end]
        i += end - q
        crc32_write(buf, 0, i)
        return memoryview(buf)[:i + 4]

    # ---- chunks -------------------------------------------------------------------------
    def _chunk(self, data, n):
        if n <= 16:
            raise DecodeError("side transport: short chunk")
        mid = data[4] | (data[5] << 8) | (data[6] << 16) | (data[7] << 24)
        idx = data[8] | (data[9] << 8)
        total = data[10] | (data[11] << 8)
        if total == 0 or idx >= total:
            raise DecodeError("side transport: chunk %d of %d" % (idx, total))
        now = self.sdt.node.now_ms()
        self.expire(now)
        msgs = self.msgs
        m = msgs.get(mid)
        if m is not None and m[_P_TOTAL] != total:
            self._drop(mid)  # a reused id: the old message is gone
            m = None
        if m is None:
            if total * (n - 16) > 2 * MAX_MESSAGE_BYTES:
                raise DecodeError("side transport: message of %d chunks too long" % total)
            if len(msgs) >= MAX_MESSAGES:
                self._drop(self._oldest())
            m = msgs[mid] = [total, now, 0, [None] * total, 0]
        m[_P_LAST] = now
        parts = m[_P_PARTS]
        if parts[idx] is not None:
            return None  # a duplicate
        k = n - 16
        while not self._take(k):
            if len(msgs) <= 1:
                self._drop(mid)
                return None  # the budget cannot hold it: counted as a reclaim
            self._drop(self._oldest(mid))
        parts[idx] = bytes(data[12:n - 4])
        m[_P_HAVE] += 1
        m[_P_BYTES] += k
        if m[_P_BYTES] > MAX_MESSAGE_BYTES:
            self._drop(mid)
            raise DecodeError("side transport: reassembled frame over %d bytes"
                              % MAX_MESSAGE_BYTES)
        if m[_P_HAVE] < total:
            return None
        whole = b"".join(parts)
        del msgs[mid]
        self._give(m[_P_BYTES])
        if len(whole) >= 4 and whole[0] == 0x53 and whole[1] == 0x44 and whole[2] == 0x54:
            return self.rx(whole, len(whole), True)
        return whole

    def _oldest(self, keep=None):
        best = None
        for k, m in self.msgs.items():
            if k != keep and (best is None or m[_P_LAST] - self.msgs[best][_P_LAST] < 0):
                best = k
        return best

    def _drop(self, mid):
        m = self.msgs.pop(mid, None)
        if m is not None:
            self._give(m[_P_BYTES])
            self.reclaims += 1

    def expire(self, now_ms):
        """Reclaim messages whose last chunk came more than REASSEMBLY_MS ago (counted)."""
        if self.msgs:
            for mid in [k for k, m in self.msgs.items() if now_ms - m[_P_LAST] > REASSEMBLY_MS]:
                self._drop(mid)

    def _take(self, k):
        if not self.budget.take(k):
            return False
        self.bytes += k
        return True

    def _give(self, k):
        self.budget.give(k)
        self.bytes -= k
