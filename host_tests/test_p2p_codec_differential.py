"""The P2P message (type 18) and its stream sub-frames against sedsnet 4.2.7 (issue 16):
peers/ref_p2p_capture.py makes the reference send datagrams (by hostname and by address,
empty and 512-byte payloads, extreme ports) and a stream (open, data both ways, close; open,
reset) between two of its Routers; our p2p_codec decodes every payload to the fields the calls
gave and encodes those fields to the same bytes."""
import os

import pytest

from peerproc import PEERS_DIR, run_script
from sedsnet import p2p_codec as pc

REQUEST = b"GET / HTTP/1.1\r\n\r\n"
BIG = bytes(range(256)) * 2
# (direction, dst_port, src_port, sender, payload or (flags, src_stream, dst_stream, seq, data))
EXPECTED = [
    ("ab", 80, 49152, "alpha", REQUEST),
    ("ab", 7, 65535, "alpha", b""),
    ("ab", 65535, 1, "alpha", BIG),
    ("ab", 8080, 49152, "alpha", (pc.SYN, 1, 0, 0, b"")),
    ("ba", 49152, 8080, "bravo", (pc.SYN | pc.ACK, 1, 1, 0, b"")),
    ("ab", 8080, 49152, "alpha", (pc.DATA, 1, 1, 1, b"GET /stream")),
    ("ba", 49152, 8080, "bravo", (pc.DATA, 1, 1, 1, b"reply")),
    ("ab", 8080, 49152, "alpha", (pc.FIN, 1, 1, 2, b"")),
    ("ab", 8080, 49152, "alpha", (pc.SYN, 2, 0, 0, b"")),
    ("ba", 49152, 8080, "bravo", (pc.SYN | pc.ACK, 2, 2, 0, b"")),
    ("ab", 8080, 49152, "alpha", (pc.RST, 2, 2, 1, b"")),
]


@pytest.fixture(scope="module")
def captured():
    with open(os.path.join(PEERS_DIR, "ref_p2p_capture.py"), encoding="utf-8") as f:
        return run_script(f.read())


def test_reference_sends_what_we_expect(captured):
    got = [(d, bytes.fromhex(p)) for d, _, p in captured["frames"]]
    assert [d for d, _ in got] == [e[0] for e in EXPECTED]


@pytest.mark.parametrize("i", range(len(EXPECTED)))
def test_decode_and_encode_match_the_reference(captured, i):
    _d, dst, src, host, body = EXPECTED[i]
    frame = bytes.fromhex(captured["frames"][i][1])
    assert frame[0] & 0x01 == 0  # never zstd-compressed (FLAGS 0x01), even at 512 bytes
    raw = bytes.fromhex(captured["frames"][i][2])
    addr = captured["addresses"][host]
    dp, sp, a, hs, he, ps, pe = pc.decode_message(raw)
    assert (dp, sp, a) == (dst, src, addr)
    assert pc.hostname_of(raw, hs, he) == host
    assert pe == len(raw)
    if isinstance(body, tuple):
        assert pc.is_stream(raw, ps, pe)
        fl, ss, ds, seq, s0, s1 = pc.decode_stream(raw, ps, pe)
        assert (fl, ss, ds, seq, raw[s0:s1]) == body
        inner = bytearray(pc.stream_size(len(body[4])))
        assert pc.encode_stream(inner, 0, *body) == len(inner)
        assert bytes(inner) == raw[ps:pe]
    else:
        assert not pc.is_stream(raw, ps, pe) and raw[ps:pe] == body
        inner = body
    buf = bytearray(pc.message_size(len(host), len(inner)) + 3)
    assert pc.encode_message(buf, 3, dst, src, addr, host.encode(), inner) == len(buf)
    assert bytes(buf[3:]) == raw
