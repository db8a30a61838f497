# The pure kernels (_pure.py, _pure_frame.py: CircuitPython, builds without viper) on the hot
# paths: CRC sub-ranges and the duplicate key through their scratch buffers agree with the
# plain computation for every kind of buffer, the 16-bit nonce step equals the int one, and a
# router running on the pure kernels logs, forwards and delivers without garbage on 64-bit
# MicroPython (heap_lock) and with at most the CRC's heap ints on 32-bit.
import gc
import sys

import sedsnet
from sedsnet import _pure, _pure_frame
from sedsnet.relay import Relay
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into
from support import IS_MICROPYTHON, Clock, Tally

try:
    from binascii import crc32 as _ref
except ImportError:
    from zlib import crc32 as _ref

GPS = 3780  # (this module's own type and endpoints: the CPython items share one registry)
EPS = [3781, 3782]
NARROW = sys.maxsize < 0xFFFFFFFF  # the 32-bit runtime: CRCs of 2**30 or more are heap ints


def setup():
    if not sedsnet.data_type_exists(GPS):
        sedsnet.register_endpoint(EPS[0], "PURE_A")
        sedsnet.register_endpoint(EPS[1], "PURE_B")
        sedsnet.register_data_type(GPS, "PURE_GPS", True, 3, 1, 0, EPS, priority=80)


def test_crc_sub_ranges_agree_for_every_buffer_kind_and_length():
    data = bytes((i * 37 + 11) & 0xFF for i in range(1400))
    for total in (8, 31, 256, 1024, 1025, 1400):  # up to _PART through the scratch, then not
        for kind in (bytes, bytearray, memoryview):
            buf = kind(data[:total]) if kind is not memoryview else memoryview(data[:total])
            for start, end in ((0, total), (0, total - 4), (3, total - 4), (total // 2, total)):
                want = _ref(data[start:end]) & 0xFFFFFFFF
                assert _pure.crc32(buf, start, end) == want, (total, kind, start, end)
                assert _pure.crc32(buf, start, end, 0x1234) == _ref(data[start:end], 0x1234)
            work = bytearray(data[:total])
            for start in (0, 3):
                _pure.crc32_write(work, start, total - 4)
                assert _pure.crc32_check(work, start, total - 4)
                assert _pure.crc32_check(bytes(work), start, total - 4)
                work[total - 5] ^= 1
                assert not _pure.crc32_check(work, start, total - 4)
                work[total - 5] ^= 1
    assert len(_pure._S) <= _pure._PART  # the scratch never outgrows its limit


def test_dup_key_is_the_same_through_the_scratch_and_past_its_limit():
    # a frame alone (the scratch path) and the same frame at the start of a buffer longer than
    # _PART (the memoryview path) get the same key; different payloads get different keys
    setup()
    buf = bytearray(160)
    hdr = FrameHeader()
    keys = []
    for pay in (b"", b"\x01", bytes(12), bytes(range(80))):
        n = pack_into(buf, GPS, 0xC0000001, EPS, 1767225600000, 7, pay)
        frame = bytes(buf[:n])
        big = bytearray(_pure._PART + 100)
        big[:n] = frame
        a = bytearray(8)
        b = bytearray(8)
        hdr.parse(frame)
        _pure.key_into(frame, hdr.spans, hdr.endpoints, a, 0)
        hdr.parse(big, n)
        _pure.key_into(big, hdr.spans, hdr.endpoints, b, 0)
        assert a == b, pay
        keys.append(bytes(a))
    assert len(set(keys)) == len(keys)


def test_nonce_on_16_bit_halves_equals_the_int_step():
    from array import array
    a = array("I", [0xA5C31F27])
    b = array("I", [0xA5C31F27])
    saved = _pure._NARROW
    try:
        for start in (None, 0, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x61C88647):
            if start is not None:
                a[0] = b[0] = start
            for _ in range(300):
                _pure._NARROW = False
                x = _pure.nonce_next(a)
                _pure._NARROW = True
                y = _pure.nonce_next(b)
                assert x == y and a[0] == b[0], (start, x, y)
    finally:
        _pure._NARROW = saved
    assert saved == NARROW


def _bindings():
    # every name a hot-path module bound to a kernel at import, with its pure twin
    from sedsnet import (announce_table, engine, forward, ids, isr, queues, recent, ring,
                         router_log, router_tx, wire, wire_parse)
    p = _pure
    return [(announce_table, "copy_into", p.copy_into), (ids, "_pid_kernel", p.pid_into),
            (wire_parse, "crc32_check", p.crc32_check),
            (wire, "hdr_scan", _pure_frame.hdr_scan), (router_log, "log_pack", _pure_frame.log_pack),
            (wire, "crc32_write", p.crc32_write), (ids, "_key_kernel", p.key_into), (engine, "_dup_key", p.key_into),
            (forward, "_dup_key", p.key_into), (forward, "_recent_seen", p.recent_seen),
            (router_log, "_recent_seen", p.recent_seen),
            (router_log, "key_into", p.key_into),
            (ids, "_nonce_kernel", p.nonce_next), (recent, "recent_seen", p.recent_seen),
            (queues, "copy_into", p.copy_into), (router_tx, "copy_into", p.copy_into),
            (ring, "copy_into", p.copy_into), (isr, "copy_into", p.copy_into)]


# the modules of the paths the pure runs below drive (log, forward, deliver, discovery)
_HOT = ("announce_table", "engine", "forward", "ids", "isr", "node", "queues", "recent", "ring",
        "router", "router_log", "router_tx", "wire", "wire_parse")


def test_the_pure_run_rebinds_every_kernel_a_hot_path_module_holds():
    # a hot-path module that imports a kernel under its own name must be in _bindings(), or
    # the pure runs below would test it on the viper kernel
    import sedsnet as pkg
    from sedsnet import kernels
    names = ("copy_into", "crc32_check", "crc32_write", "key_into", "nonce_next", "pid_into",
             "recent_seen", "hdr_scan", "log_pack")
    chosen = [getattr(kernels, k) for k in names]
    listed = {(m.__name__, k) for m, k, _ in _bindings()}
    held = set()
    for name in _HOT:
        __import__("sedsnet." + name)
        mod = getattr(pkg, name)
        for k in dir(mod):
            v = getattr(mod, k)
            if any(v is c for c in chosen):
                held.add((mod.__name__, k))
    assert ("sedsnet.forward", "_recent_seen") in held
    assert held <= listed, sorted(held - listed)


def _pure_run(fn):
    """fn() with the pure kernels bound in every hot-path module (as on CircuitPython, where
    kernels.py takes them); restored after."""
    table = _bindings()
    saved = [(m, k, getattr(m, k)) for m, k, _ in table]
    for m, k, f in table:
        setattr(m, k, f)
    try:
        return fn()
    finally:
        for m, k, f in saved:
            setattr(m, k, f)


def _per_packet(fn, n):
    """fn(i) for i in 0..n-1: under the heap lock on 64-bit MicroPython (0 bytes); the bytes
    allocated per call on 32-bit (no collection during the run); 0 under CPython (no lock)."""
    if not IS_MICROPYTHON:
        for i in range(n):
            fn(i)
        return 0
    gc.collect()
    if not NARROW:
        from micropython import heap_lock, heap_unlock
        heap_lock()
        try:
            for i in range(n):
                fn(i)
        finally:
            heap_unlock()
        return 0
    gc.disable()
    try:
        m0 = gc.mem_alloc()
        for i in range(n):
            fn(i)
        return (gc.mem_alloc() - m0) / n
    finally:
        gc.enable()


def _log_run(ts, me):
    out = Tally()
    clock = Clock()
    clock.t = ts
    r = Router(hostname=me, now_ms=clock, discovery=False)
    r.add_side_packed("UART", out)
    vals = [1.0, 2.0, 3.0]

    def one(i):
        clock.t += 1
        r.log_f32(GPS, vals)
    one(0)  # warm-up: views, templates, scratch lengths
    per = _per_packet(one, 200)
    return out.n, out.sig, per


def test_log_f32_on_the_pure_kernels_sends_the_same_frames_without_garbage():
    from sedsnet import ids
    setup()
    for me in ("bench", "a-longer-host-name"):
        for ts in (5000, (1 << 30) - 500, 1767225600000):
            ids.reset_nonce()
            n, sig, per = _pure_run(lambda: _log_run(ts, me))
            ids.reset_nonce()
            want = _log_run(ts, me)  # the kernels kernels.py chose (viper under MicroPython)
            assert (n, sig) == want[:2] and n == 201, (me, ts)
            # 32-bit: the written CRC and the key's CRC (2**30 or more: 32 B each), the
            # nonce's halves (16 B), an epoch-ms timestamp's ints
            assert per <= 160, (me, ts, per)


def test_forwarding_on_the_pure_kernels_makes_no_garbage():
    setup()
    frames = [sedsnet.make_packet(GPS, "peer", EPS, 1000 + i, bytes(12)).pack()
              for i in range(121)]

    def run():
        out = Tally()
        relay = Relay(now_ms=Clock())
        a = relay.add_side_packed("IN", Tally())
        relay.add_side_packed("OUT", out)

        def fwd(i):
            relay.rx_packed_from_side(a, frames[i + 1])
            relay.process_all_queues()
        fwd(-1)
        per = _per_packet(fwd, 120)
        side = relay.export_runtime_stats()["sides"][1]
        return side["relayed_tx_packets"], side["relayed_tx_bytes"], per

    n, nbytes, per = _pure_run(run)
    assert n == 121 and nbytes == sum(len(f) for f in frames)
    assert per <= 96, per  # 32-bit: at most the CRC ints
