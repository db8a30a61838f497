# The P2P frames (type 18) sedsnet 4.2.7 sends, captured for the differential codec test
# (host_tests/test_p2p_codec_differential.py): two reference Routers linked in this process,
# datagrams by hostname and address, a stream open/data/reply/close and a reset. Prints one
# JSON line: {"addresses": {host: address}, "frames": [[direction, frame hex, payload hex]]}.
# Run with the reference sedsnet only (never beside our lib).
import json

import sedsnet as ref

t = [1000]
qa = []
qb = []
A = ref.Router(now_ms=lambda: t[0], hostname="alpha")
B = ref.Router(now_ms=lambda: t[0], hostname="bravo")
sa = A.add_side_packed("toB", lambda b: qb.append(bytes(b)))
sb = B.add_side_packed("toA", lambda b: qa.append(bytes(b)))
out = []


def pump(steps=3):
    for _ in range(steps):
        t[0] += 10
        A.periodic(0)
        B.periodic(0)
        while qa or qb:
            while qb:
                f = qb.pop(0)
                out.append(("ab", f))
                B.receive_packed_from_side(sb, f)
            while qa:
                f = qa.pop(0)
                out.append(("ba", f))
                A.receive_packed_from_side(sa, f)


pump(100)
out.clear()
B.bind_p2p_port(80, lambda m, p: None)
B.bind_p2p_stream_port(8080, lambda m, p: None)
A.bind_p2p_stream_port(49152, lambda m, p: None)
A.send_p2p_to_hostname("bravo", 80, 49152, b"GET / HTTP/1.1\r\n\r\n")
pump()
A.send_p2p_to_address(B.current_address, 7, 65535, b"")
pump()
A.send_p2p_to_address(B.current_address, 65535, 1, bytes(range(256)) * 2)
pump()
s = A.open_p2p_stream_to_hostname("bravo", 8080, 49152)
pump()
A.send_p2p_stream(s, b"GET /stream")
pump()
B.send_p2p_stream(1, b"reply")
pump()
A.close_p2p_stream(s)
pump()
s = A.open_p2p_stream_to_address(B.current_address, 8080, 49152)
pump()
A.reset_p2p_stream(s)
pump()
frames = []
for d, f in out:
    if f[2] == 18:
        frames.append([d, f.hex(), bytes(ref.unpack_packet_py(f).payload).hex()])
print(json.dumps({"addresses": {"alpha": A.current_address, "bravo": B.current_address},
                  "frames": frames}))
