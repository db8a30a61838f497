# Hop reliability, the sending half (lib/sedsnet/reliable.py), on a fake clock: sequence numbers
# per (side, type), ACKs (cumulative for an ordered type), PACKET_REQUEST, PARTIAL_ACK, resends,
# the retry limit, the per-type window and its backlog, tuning keys, and that a node without a
# reliable side never loads the module. host_tests/test_reliable_parity.py holds the same
# behaviour against 4.2.7.
import struct
import sys

import sedsnet
from sedsnet.ids import source_address
from sedsnet.router import Router
from sedsnet.wire import FrameHeader, pack_into

EP = 111
ORD = 3100  # reliable=1 (ordered)
UNO = 3101  # reliable=2 (unordered)
PLAIN = 3102


def setup():
    if sedsnet.data_type_exists(ORD):
        return
    sedsnet.register_endpoint(EP, "REL_EP")
    sedsnet.register_data_type(ORD, "REL_ORD", False, 0, 2, 0, [EP], reliable=1)
    sedsnet.register_data_type(UNO, "REL_UNO", False, 0, 2, 0, [EP], reliable=2)
    sedsnet.register_data_type(PLAIN, "REL_PLAIN", False, 0, 2, 0, [EP])


setup()


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


def node(reliable=True, tuning=None):
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                      reliable_max_pending=32)
    if tuning:
        sedsnet.set_runtime_tuning_config(**tuning)
    clock = Clock()
    out = []
    r = Router(hostname="relA", now_ms=clock, discovery=False)
    sid = r.add_side_packed("r", lambda f: out.append(bytes(f)), reliable_enabled=reliable)
    return r, sid, clock, out


_h = FrameHeader(max_endpoints=8)


def user(out):
    """[(ty, rel flags or None, seq, payload)] of the user frames in out, then out cleared."""
    res = []
    for f in out:
        _h.parse(f)
        if _h.ty >= 3000:
            res.append((_h.ty, _h.rel_flags if _h.rel_form else None, _h.seq,
                        f[_h.payload_start:_h.payload_end]))
    del out[:]
    return res


_nonce = [100]


def ctl(kind, ty, seq):
    _nonce[0] += 2
    buf = bytearray(64)
    n = pack_into(buf, kind, source_address("peerB"), None, 0, _nonce[0],
                  struct.pack("<II", ty, seq))
    return bytes(buf[:n])


def run(r, clock, to, step=50):
    while clock.t < to:
        clock.t += step
        r.periodic(0)


def test_plain_router_never_loads_reliable():
    sys.modules.pop("sedsnet.reliable", None)
    got = []
    r = Router(hostname="plainR", now_ms=Clock(), handlers=[(EP, lambda p: got.append(p), None)])
    sid = r.add_side_packed("p", lambda f: None)
    r.log_bytes(UNO, b"\x01")
    buf = bytearray(64)
    n = pack_into(buf, UNO, source_address("peerB"), None, 0, 7, b"\x02", None, 0x04, 1)
    r.receive_packed_from_side(sid, bytes(buf[:n]))
    r.periodic(0)
    assert len(got) == 2
    assert "sedsnet.reliable" not in sys.modules
    r.add_side_packed("q", lambda f: None, reliable_enabled=True)
    assert "sedsnet.reliable" in sys.modules


def test_sequence_per_type_and_plain_side_unsequenced():
    r, sid, clock, out = node()
    for i in range(2):
        r.log_bytes(ORD, bytes([i]))
        r.log_bytes(UNO, bytes([i]))
        r.log_bytes(PLAIN, bytes([i]))
    assert [x[:3] for x in user(out)] == [(ORD, 0x04, 1), (UNO, 0x06, 1), (PLAIN, None, 0),
                                          (ORD, 0x04, 2), (UNO, 0x06, 2), (PLAIN, None, 0)]
    p, psid, pclock, pout = node(reliable=False)
    p.log_bytes(UNO, b"\x00")
    assert [x[:3] for x in user(pout)] == [(UNO, 0x84, 0)]
    run(p, pclock, 1000)
    assert user(pout) == []  # nothing kept on a plain side


def test_resend_same_bytes_then_give_up():
    r, sid, clock, out = node()
    r.log_bytes(UNO, b"\x05")
    first = out[0]
    del out[:]
    run(r, clock, 150)
    assert out == []
    run(r, clock, 200)
    assert out == [first]
    run(r, clock, 3000)
    assert len(out) == 8 and out[-1] == first  # 8 resends (reliable_max_retries), then none
    assert r.rel.pending(sid) == []


def test_acks_cumulative_for_ordered_exact_for_unordered():
    r, sid, clock, out = node()
    for i in range(3):
        r.log_bytes(ORD, bytes([i]))
        r.log_bytes(UNO, bytes([i]))
    user(out)
    r.receive_packed_from_side(sid, ctl(1, ORD, 2))
    r.receive_packed_from_side(sid, ctl(1, UNO, 2))
    assert sorted(r.rel.pending(sid)) == [(ORD, 3), (UNO, 1), (UNO, 3)]
    r.receive_packed_from_side(sid, ctl(2, UNO, 3))  # PACKET_REQUEST: sent again at once
    assert [x[:3] for x in user(out)] == [(UNO, 0x06, 3)]
    r.receive_packed_from_side(sid, ctl(3, UNO, 1))  # PARTIAL_ACK: its next resend skipped
    run(r, clock, 200)
    assert sorted(x[:3] for x in user(out)) == [(ORD, 0x04, 3), (UNO, 0x06, 3)]
    run(r, clock, 400)
    assert sorted(x[:3] for x in user(out)) == [(ORD, 0x04, 3), (UNO, 0x06, 1), (UNO, 0x06, 3)]


def test_window_per_type_backlog_and_tuning():
    r, sid, clock, out = node(tuning={"reliable_max_pending": 3, "reliable_retransmit_ms": 100,
                                      "reliable_max_retries": 1})
    for i in range(5):
        r.log_bytes(UNO, bytes([i]))  # no error when the window is full: the rest waits
    r.log_bytes(ORD, b"\x09")  # another type has its own window
    assert [x[:3] for x in user(out)] == [(UNO, 6, 1), (UNO, 6, 2), (UNO, 6, 3), (ORD, 4, 1)]
    r.receive_packed_from_side(sid, ctl(1, UNO, 1))
    assert user(out) == []  # the backlog moves at the next periodic()
    clock.t = 50
    r.periodic(0)
    assert [x[:3] for x in user(out)] == [(UNO, 6, 4)]
    run(r, clock, 1000)
    sent = user(out)
    assert (UNO, 6, 5, b"\x04") in sent and r.rel.pending(sid) == []
    # bad ACKs (short, unknown side state) are ignored, never raised
    r.receive_packed_from_side(sid, ctl(1, UNO, 99))
    sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                      reliable_max_pending=32)
