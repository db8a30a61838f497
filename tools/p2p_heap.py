"""P2P memory figures (issue 16), run under MicroPython (the 32-bit build gives a board's
numbers): two Routers on an in-process link, discovery on.

    MICROPYPATH=lib micropython32 -X heapsize=2M tools/p2p_heap.py

Prints one JSON line: "p2p_state" / "streams_state" (a Router's P2P and Streams objects,
made by its first bind), "port" (heap per bound datagram port, averaged over 16), "stream" (heap
per open, idle stream at the client plus at the server, averaged over 4), "datagram" (bytes
allocated per 16-byte datagram sent and delivered to a bound port: both routers' work, the
callback's meta dict and payload included, gc disabled, averaged over 50), "stream_data"
(the same per 16-byte stream chunk), and the budget charges (PORT_BYTES, STREAM_BYTES) they
are checked against by host_tests/test_p2p_heap.py.
"""
import gc
import json

import sedsnet
from sedsnet.p2p import PORT_BYTES
from sedsnet.p2p_stream import STREAM_BYTES

T = [1000]


def now():
    return T[0]


def pair():
    a = sedsnet.Router(hostname="heap_a", now_ms=now)
    b = sedsnet.Router(hostname="heap_b", now_ms=now)
    q = []
    ids = [0, 0]
    ids[0] = a.add_side_packed("b", lambda f: q.append((b, 1, bytes(f))))
    ids[1] = b.add_side_packed("a", lambda f: q.append((a, 0, bytes(f))))

    def run(ms):
        for _ in range(ms // 10):
            T[0] += 10
            a.periodic(0)
            b.periodic(0)
            pump()

    def pump():
        while q:
            r, k, f = q.pop(0)
            r.receive_packed_from_side(ids[k], f)
    run(300)
    return a, b, run, pump


def used():
    gc.collect()
    return gc.mem_alloc()


def main():
    a, b, run, pump = pair()
    got = []

    def cb(meta, payload):
        got.append(len(payload))
    import sedsnet.p2p_stream  # noqa: F401  (code, outside the state figures)
    before = used()
    b.bind_p2p_port(1, cb)  # the P2P object itself, outside the per-port figure
    p2p_state = used() - before
    before = used()
    b.bind_p2p_stream_port(1, cb)  # the Streams object (and one stream port)
    streams_state = used() - before
    a.bind_p2p_port(1, cb)
    before = used()
    for p in range(2, 18):
        b.bind_p2p_port(p, cb)
    port = (used() - before) // 16
    payload = bytes(16)
    for _ in range(3):  # warm: first-use imports and buffers
        a.send_p2p_to_hostname("heap_b", 1, 1, payload)
        pump()
    gc.collect()
    gc.disable()
    m0 = gc.mem_alloc()
    for _ in range(50):
        a.send_p2p_to_hostname("heap_b", 1, 1, payload)
        pump()
    per_dgram = (gc.mem_alloc() - m0) // 50
    gc.enable()
    b.bind_p2p_stream_port(100, cb)
    s = a.open_p2p_stream_to_hostname("heap_b", 100, 100)
    run(50)
    before = used()
    opened = [a.open_p2p_stream_to_hostname("heap_b", 100, 100) for _ in range(4)]
    run(50)
    stream = (used() - before) // 4
    for _ in range(3):
        a.send_p2p_stream(s, payload)
        run(10)
    gc.collect()
    gc.disable()
    m0 = gc.mem_alloc()
    for _ in range(20):
        a.send_p2p_stream(s, payload)
        pump()  # (no periodic: its announcements are not the stream's)
    per_chunk = (gc.mem_alloc() - m0) // 20
    gc.enable()
    assert len(opened) == 4 and got
    print(json.dumps({"p2p_state": p2p_state, "streams_state": streams_state, "port": port, "stream": stream, "datagram": per_dgram,
                      "stream_data": per_chunk, "PORT_BYTES": PORT_BYTES,
                      "STREAM_BYTES": STREAM_BYTES}))


main()
