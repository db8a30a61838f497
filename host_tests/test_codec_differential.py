"""Live differential test of the codec: a fresh reference process (sedsnet 4.2.7) and a fresh
MicroPython process of ours get the same schema and the same make_packet calls, so their nonce
sequences stay in step. Our bytes must equal theirs, the reference must decode ours and we must
decode theirs to the same fields. 500 hypothesis packets over every element type."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerproc import codec_peers

WIDTHS = (8, 4, 1, 2, 4, 8, 16, 1, 2, 4, 8, 16, 1, 1024, 1024, 0)
ENDPOINTS = [1, 2, 300, 70000, 10299908]  # 10299908 = endpoint_identity("EP_A")
TYPES = []  # (ty, is_static, count, mdt)
CALLS = [{"call": "register_endpoint", "args": [e, "EP_%d" % e, False, ""]} for e in ENDPOINTS]
for mdt in range(16):
    for is_static in (True, False):
        ty = 1000 + mdt * 2 + (0 if is_static else 1)
        count = (1 if mdt in (13, 14) else 3) if is_static else 0
        eps = ENDPOINTS[mdt % 3: mdt % 3 + 2]
        TYPES.append((ty, is_static, count, mdt))
        CALLS.append({"call": "register_data_type",
                      "args": [ty, "T_%d_%s" % (mdt, "S" if is_static else "D"), is_static,
                               count, mdt, mdt % 3, eps],
                      "kwargs": {"reliable": ty % 3, "priority": mdt * 10}})


@pytest.fixture(scope="module")
def peers():
    with codec_peers(CALLS) as (ref, mp):
        assert ref.call("version")["sedsnet"] == "4.2.7"
        yield ref, mp


@st.composite
def packets(draw):
    ty, is_static, count, mdt = draw(st.sampled_from(TYPES))
    width = WIDTHS[mdt] or 1
    if mdt == 13:  # String: UTF-8 text (static ones are zero-padded by make_packet)
        limit = 1024
        payload = draw(st.text(max_size=200)).encode()[:limit]
        while True:  # do not cut a UTF-8 sequence in half
            try:
                payload.decode()
                break
            except UnicodeDecodeError:
                payload = payload[:-1]
    elif is_static:
        payload = draw(st.binary(min_size=width * count, max_size=width * count))
    elif mdt == 15:
        payload = b""
    elif mdt == 14:
        payload = draw(st.binary(max_size=1024))
    else:
        n = draw(st.integers(0, 1024 // width))
        payload = draw(st.binary(min_size=n * width, max_size=n * width))
    return {"op": "pack", "ty": ty,
            "sender_hex": draw(st.text(max_size=24)).encode().hex(),
            "endpoints": draw(st.lists(st.sampled_from(ENDPOINTS), min_size=1, max_size=5)),
            "timestamp_ms": draw(st.integers(0, 2 ** 63 - 1)),
            "payload_hex": payload.hex()}


def _fields(rep):
    return (rep["ty"], rep["sender_hex"], sorted(set(rep["endpoints"])), rep["timestamp_ms"],
            rep["payload_hex"])


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(packets(), min_size=20, max_size=20))
def test_our_frames_equal_the_reference_frames(peers, batch):
    ref, mp = peers
    theirs = ref.call("batch", cmds=batch)["results"]
    ours = mp.call("batch", cmds=batch)["results"]
    for cmd, a, b in zip(batch, theirs, ours):
        assert a["ok"] == b["ok"], (cmd, a, b)  # same rejections (dynamic NoData), same nonces
        if a["ok"]:
            assert b["frame_hex"] == a["frame_hex"], cmd
    keep = [a["ok"] for a in theirs]
    batch = [c for c, k in zip(batch, keep) if k]
    theirs = [a for a, k in zip(theirs, keep) if k]
    ours = [b for b, k in zip(ours, keep) if k]
    dec_ours = ref.call("batch", cmds=[{"op": "unpack", "frame_hex": b["frame_hex"]}
                                       for b in ours])["results"]
    dec_theirs = mp.call("batch", cmds=[{"op": "unpack", "frame_hex": a["frame_hex"]}
                                        for a in theirs])["results"]
    for cmd, x, y in zip(batch, dec_ours, dec_theirs):
        assert x["ok"] and y["ok"], (cmd, x, y)
        assert _fields(x) == _fields(y)
        assert x["ty"] == cmd["ty"] and x["timestamp_ms"] == cmd["timestamp_ms"]
        assert x["sender_hex"] == cmd["sender_hex"]


def test_rejected_calls_keep_the_nonce_sequences_in_step(peers):
    """The reference takes a nonce before its size/UTF-8/empty-endpoint checks (not before the
    type and endpoint-registration checks); ours does the same, so later frames still match."""
    ref, mp = peers
    good = {"op": "pack", "ty": 1029, "sender_hex": "6e6f646541", "endpoints": [300],
            "timestamp_ms": 5, "payload_hex": "6869"}
    bad = [dict(good, ty=999999), dict(good, endpoints=[]), dict(good, endpoints=[4242]),
           dict(good, ty=1026, payload_hex="ff"), dict(good, ty=1007, payload_hex="0102"),
           dict(good, ty=1031, payload_hex="")]
    cmds = []
    for b in bad:
        cmds += [b, good]
    theirs = ref.call("batch", cmds=cmds)["results"]
    ours = mp.call("batch", cmds=cmds)["results"]
    for cmd, a, b in zip(cmds, theirs, ours):
        assert a["ok"] == b["ok"], (cmd, a, b)
        assert a.get("frame_hex") == b.get("frame_hex"), cmd


def test_reference_compressed_frame_is_rejected_with_a_specific_error(peers):
    ref, mp = peers
    ref.call("tuning", kwargs={"payload_compress_threshold": 128})
    try:
        cmd = {"op": "pack", "ty": 1029, "sender_hex": "61", "endpoints": [300],
               "timestamp_ms": 1, "payload_hex": "00" * 300}
        frame = ref.call("batch", cmds=[cmd])["results"][0]["frame_hex"]
        mp.call("batch", cmds=[cmd])  # keep the nonce sequences in step
    finally:
        ref.call("tuning", kwargs={"payload_compress_threshold": 1 << 20})
    assert int(frame[:2], 16) & 0x01
    rep = mp.call("batch", cmds=[{"op": "unpack", "frame_hex": frame},
                                 {"op": "peek", "frame_hex": frame}])["results"]
    assert not rep[0]["ok"] and rep[0]["error"].startswith("CompressedFrameError")
    assert rep[1]["ok"] and rep[1]["ty"] == 1029
