# Side transport "SDT" of 4.2.7 (shared/protocol/side-transport.md, verified-4.2.7.md "Side
# transport"): sides added with add_side_packed_profile() wrap canonical frames as full frames
# with a header-template id, compact frames by template, and fixed-size chunks. Loaded only
# when such a side is added; the codec helpers are in sdt_codec.py, reassembly in
# sdt_reassembly.py.
from .compat import const
from .errors import ArgumentError, DecodeError
from .sdt_codec import (CHUNK_OVERHEAD, K_CHUNK, K_COMPACT, K_FULL, check_args,
                        chunk_seed, header_spans, mix_into, shape_hash, template_id)
from .wire import put_uleb

from .kernels import copy_into, crc32_write

_M32 = const(0xFFFFFFFF)
_F_RELIABLE = const(0x02)
# link capability bits (control-payloads.md): templates, chunking, ipv4_like's flag
_CAP_TEMPLATES = const(0x01)
_CAP_CHUNKS = const(0x02)
_CAP_TS_OMIT = const(0x20)
_HCACHE = const(4)  # header shapes whose template id is kept (no allocation to find one)
_HCACHE_BYTES = const(48)
_REFRESH = const(8)  # compact frames of a template between two full ones (probed)
_TX_ENTRY = const(8)  # bytes a sent template is charged in max_queue_budget (memory_bytes())
_TARGETS = (0, 0, 40, 20)  # default compact_header_target_bytes per profile


class SdtSide:
    """One profiled side: its tx wrapper (installed as the Side's tx), its rx unwrapper
    (forward._ingest calls rx()), template tables, reassembly and the side-transport stats."""

    def __init__(self, node, tx, code, max_frame, target, max_templates):
        self.node = node
        self.user_tx = tx
        self.max_frame = max_frame
        self.max_templates = max_templates
        self.templates = code != 0  # canonical with max_frame: kind 1 without template id
        # 4.2.7's Relay numbers a side's templates 1, 2, ... (a Router sends the shape's hash)
        # and templates even on a canonical side with max_frame (whose Router peers then
        # cannot read its kind-1 frames: they expect none of a template id there)
        self.relay_ids = node.kind == "relay"
        self.wrap = self.templates or (self.relay_ids and max_frame > 0)
        # a template profile with room for no template: 4.2.7 sends its frames plain
        self.bare = self.templates and max_templates == 0
        self.next_id = 1
        self.tx_wire = []  # the wire id of each tx_ids entry
        # recent header shapes, their template ids and hashes: [bytes, length, id, hash]
        self.hcache = [[bytearray(_HCACHE_BYTES), -1, 0, 0] for _ in range(_HCACHE)]
        self.hpos = 0
        self._wid = 0
        self._h = 0  # the shape hash of the last _tid()
        self.active = code != 0 or max_frame > 0  # canonical, no limit: plain add_side_packed
        # 4.2.7 reports (and advertises) canonical-with-chunks as profile "template"
        self.code = 1 if code == 0 and max_frame else code
        self.target = (target or _TARGETS[code]) if code >= 2 else 0
        caps = (_CAP_TEMPLATES if self.templates else 0) | (_CAP_CHUNKS if max_frame else 0)
        self.link_flags = caps | (_CAP_TS_OMIT if code == 3 else 0)
        self.tx_ids = []  # template ids sent in full
        self.tx_hash = []  # their shape hashes: a full table forgets the smallest (as 4.2.7)
        self.tx_uses = []  # compact frames sent of each since its last full frame
        self.out = bytearray(64)  # wrapper under construction (grows to the longest frame)
        self.views = {}
        self.chunk = bytearray(max_frame) if max_frame else None
        self.cviews = {}  # memoryviews of the chunk buffer by length (few: the last chunks)
        self.spans = [0, 0, 0]
        # chunk message ids as 4.2.7's: mix64 seeded by the node's name over the chunked bytes
        self.mseed = bytearray(8)  # the mixer state after the name (remade on a rename)
        self.mname = None
        self.mst = bytearray(8)
        self.rx_side = None  # the reassembler and rx template table, made on the first SDT rx
        self.full = self.compact = self.chunks = self.raw = self.wire = self.saved = 0
        self.min_over = self.max_over = None
        self.misses = self.evictions = 0

    # ---- sending ------------------------------------------------------------------------
    def send(self, frame):
        """The Side's tx: frame is a canonical frame (memoryview or bytes)."""
        if not self.active:
            self.user_tx(frame)
            return
        n = len(frame)
        self.raw += n
        mf = self.max_frame
        if mf and n > mf:
            self.full += 1
            self._chunked(frame, n)
            return
        out = self.out
        if len(out) < n + 16:
            out = self.out = bytearray(n + 32)
            self.views = {}
        out[0] = 0x53  # "SDT"
        out[1] = 0x44
        out[2] = 0x54
        if not self.wrap:
            out[3] = K_FULL
            copy_into(out, 4, frame, 0, n)
            k = 4 + n
            self.full += 1
        else:
            if frame[0] & _F_RELIABLE or self.bare:  # 4.2.7 leaves these frames plain
                self.full += 1
                self._emit(frame, n, n)
                return
            sp = header_spans(frame, n, self.spans)  # (no tuple per frame)
            size_off = sp[0]
            src_off = sp[1]
            hdr_end = sp[2]
            compact = self._compact_ok(self._tid(frame, size_off, src_off, hdr_end))
            tid = self._wid
            if compact:
                out[3] = K_COMPACT
                out[4] = frame[0]
                p = put_uleb(out, 5, tid)
                q = p + src_off - size_off
                copy_into(out, p, frame, size_off, q - p)  # data_size, timestamp, nonce
                plen = n - 4 - hdr_end
                copy_into(out, q, frame, hdr_end, plen)
                k = q + plen
                self.compact += 1
                over = k + 4 - plen
                if self.min_over is None or over < self.min_over:
                    self.min_over = over
                if self.max_over is None or over > self.max_over:
                    self.max_over = over
                if self.target and over > self.target:
                    self.misses += 1
            else:
                out[3] = K_FULL
                p = put_uleb(out, 4, tid)
                copy_into(out, p, frame, 0, n)
                k = p + n
                self.full += 1
        crc32_write(out, 0, k)
        k += 4
        if mf and k > mf:
            self._chunked(self._view(k), k)
            return
        self._emit(self._view(k), k, n)

    def _tid(self, f, size_off, src_off, hdr_end):
        """template_id() of f, from a small cache of recent header shapes: computing it
        makes Python ints (kilobytes per frame on a board); comparing bytes allocates none."""
        n = size_off + hdr_end - src_off
        fl = f[0] & 0xF6
        for e in self.hcache:
            h = e[0]
            if e[1] != n or h[0] != fl:
                continue
            j = 1
            for i in range(1, size_off):
                if h[j] != f[i]:
                    break
                j += 1
            else:
                for i in range(src_off, hdr_end):
                    if h[j] != f[i]:
                        break
                    j += 1
                else:
                    self._h = e[3]
                    return e[2]
        sh = self._h = shape_hash(f, size_off, src_off, hdr_end)
        tid = template_id(sh)
        if n <= _HCACHE_BYTES:
            e = self.hcache[self.hpos]
            self.hpos = (self.hpos + 1) % len(self.hcache)
            h = e[0]
            h[0] = fl
            j = 1
            for i in range(1, size_off):
                h[j] = f[i]
                j += 1
            for i in range(src_off, hdr_end):
                h[j] = f[i]
                j += 1
            e[1] = n
            e[2] = tid
            e[3] = sh
        return tid

    def _compact_ok(self, tid):
        """True: send tid's frame compact. As 4.2.7, a known template goes compact 8 times,
        then in full once more (a receiver that missed the full frame recovers); a new one
        is remembered; a full table first forgets the template whose shape hash (self._h of
        each) is the smallest (4.2.7 keeps them in a map ordered by it, and pops its first:
        tools/probe_sdt_eviction.py)."""
        ids_ = self.tx_ids
        uses = self.tx_uses
        if tid in ids_:
            i = ids_.index(tid)
            self._wid = self.tx_wire[i]
            if uses[i] < _REFRESH:
                uses[i] += 1
                return True
            uses[i] = 0
            return False
        wid = tid
        if self.relay_ids:
            wid = self.next_id
            self.next_id = (wid + 1) & _M32 or 1
        self._wid = wid
        if self.max_templates == 0:
            return False
        hs = self.tx_hash
        bud = self.node._budget
        if len(ids_) >= self.max_templates:
            i = hs.index(min(hs))
            ids_.pop(i)
            hs.pop(i)
            uses.pop(i)
            self.tx_wire.pop(i)
            self.evictions += 1
            bud.give(_TX_ENTRY)
        if not bud.take(_TX_ENTRY):
            return False  # no room in max_queue_budget: not remembered, sent in full
        ids_.append(tid)
        hs.append(self._h)
        uses.append(0)
        self.tx_wire.append(wid)
        return False

    def _view(self, k):
        return _view_of(self.views, self.out, k)

    def _emit(self, data, k, raw):
        self.user_tx(data)
        self.wire += k
        if raw > k:
            self.saved += raw - k

    def _chunked(self, data, n):
        """data[:n] (a canonical frame or an SDT wrapper) as kind-3 chunks of at most
        max_frame bytes each."""
        c = self.chunk
        step = self.max_frame - CHUNK_OVERHEAD
        total = (n + step - 1) // step
        if total > 0xFFFF:
            raise ArgumentError("frame of %d bytes needs more than 65535 chunks" % n)
        # 4.2.7's message id: mix64(mix64(seed, our name), data) folded to 32 bits, 0 -> 1
        name = self.node.hostname
        if name is not self.mname:
            chunk_seed(name, self.mseed)
            self.mname = name
        st = self.mst
        copy_into(st, 0, self.mseed, 0, 8)
        mix_into(st, data, 0, n)
        c[0] = 0x53
        c[1] = 0x44
        c[2] = 0x54
        c[3] = K_CHUNK
        c[4] = st[0] ^ st[4]
        c[5] = st[1] ^ st[5]
        c[6] = st[2] ^ st[6]
        c[7] = st[3] ^ st[7]
        if not (c[4] | c[5] | c[6] | c[7]):
            c[4] = 1
        c[10] = total & 0xFF
        c[11] = total >> 8
        views = self.cviews
        off = 0
        idx = 0
        while off < n:
            m = n - off if n - off < step else step
            c[8] = idx & 0xFF
            c[9] = idx >> 8
            copy_into(c, 12, data, off, m)
            crc32_write(c, 0, 12 + m)
            k = 16 + m
            self.user_tx(c if k == len(c) else _view_of(views, c, k))
            self.wire += k
            self.chunks += 1
            off += m
            idx += 1

    # ---- receiving ----------------------------------------------------------------------
    def rx(self, data, n):
        """A frame from the side: canonical frames pass as they are; an SDT frame gives the
        canonical frame it carries, or None (a chunk kept for later). DecodeError when bad."""
        if n < 4 or data[0] != 0x53 or data[1] != 0x44 or data[2] != 0x54:
            return data
        r = self.rx_side
        if r is None:
            from .sdt_reassembly import Reassembler
            r = self.rx_side = Reassembler(self)
        return r.rx(data, n)

    def rx_counted(self, side, data, n):
        """rx() for forward._ingest: a bad SDT frame counts as a decode drop on the side."""
        try:
            return self.rx(data, n)
        except DecodeError:
            side.drops[0] += 1  # engine.D_DECODE
            raise

    def release(self):
        """The side is removed: give back what reassembly and the templates hold."""
        self.node._budget.give(_TX_ENTRY * len(self.tx_ids))
        r = self.rx_side
        if r is not None:
            r.budget.give(r.bytes)
            r.bytes = 0
            r.msgs = {}
            r.templates = {}
        self.tx_ids = []
        self.tx_hash = []
        self.tx_uses = []
        self.tx_wire = []

    def expire(self, now_ms):
        if self.rx_side is not None:
            self.rx_side.expire(now_ms)

    # ---- discovery and stats ------------------------------------------------------------
    def link(self):
        """(extra link flags, profile code, max_frame, compact target, templates) for the
        ADDRESS / LINK_CAPABILITIES link block."""
        return self.link_flags, self.code, self.max_frame, self.target, self.max_templates

    def memory_bytes(self):
        r = self.rx_side
        return _TX_ENTRY * len(self.tx_ids) + (r.bytes if r is not None else 0)



def _view_of(views, buf, k):
    """memoryview of buf[:k] from views (a dict by length); a miss also makes the lengths
    next to k (a frame's length moves with its nonce's and timestamp's ULEB lengths)."""
    v = views.get(k)
    if v is None:
        if len(views) > 24:
            views.clear()
        mv = memoryview(buf)
        for j in range(max(0, k - 3), min(len(buf), k + 3) + 1):
            if j not in views:
                views[j] = mv[:j]
        v = views[k]
    return v


def add_profiled_side(node, name, tx, reliable_enabled, profile, max_frame_bytes,
                      compact_header_target_bytes, max_side_transport_templates):
    """Node.add_side_packed_profile(): a packed side whose frames go through an SdtSide."""
    code = check_args(profile, max_frame_bytes, compact_header_target_bytes,
                      max_side_transport_templates)
    if not callable(tx):
        raise ArgumentError("tx must be callable, not %s" % type(tx).__name__)
    sdt = SdtSide(node, tx, code, max_frame_bytes, compact_header_target_bytes,
                  max_side_transport_templates)
    sid = node._add_side(name, sdt.send, reliable_enabled, False)
    node.sides[sid].sdt = sdt
    node._sdt_on = expire_all  # (true: queues.process_all_queues_with_timeout calls it)
    return sid


def expire_all(node):
    """Reclaim the chunked messages that timed out on every profiled side of node."""
    for s in node.sides:
        if s is not None and s.sdt is not None:
            s.sdt.expire(node.now_ms())
