# Issue 10, the log path (router_log.py): a logged frame skips Router._deliver when no local
# handler holds one of its type's endpoints and no network variables exist (the type's
# template records the handlers), and is delivered as before otherwise; the less common send
# paths load router_tx.py on first use; Router._originate and _originate_busy keep to 11 words
# of call state (MicroPython takes a bigger frame from the heap on every call).
import sys

import sedsnet
from sedsnet.router import Router
from support import Clock, micropython_only

EP_A = 175
EP_B = 176
LT = 3660  # static f32 x2 -> EP_A, EP_B
LU = 3661  # static u8 x1 -> EP_B


def setup():
    if sedsnet.data_type_exists(LT):
        return
    sedsnet.register_endpoint(EP_A, "LP_A")
    sedsnet.register_endpoint(EP_B, "LP_B")
    sedsnet.register_data_type(LT, "LOG_PATH_F32", True, 2, 1, 0, [EP_A, EP_B])
    sedsnet.register_data_type(LU, "LOG_PATH_U8", True, 1, 2, 0, [EP_B])


class Wire:
    def __init__(self):
        self.frames = []

    def __call__(self, frame):
        self.frames.append(bytes(frame))


class Delivers:
    """Stands in for Router._deliver on one router (an instance attribute), counting calls."""

    def __init__(self, router):
        self.real = router._deliver
        self.calls = 0

    def __call__(self, src, hdr, data, n):
        self.calls += 1
        return self.real(src, hdr, data, n)


def test_a_log_skips_deliver_only_where_no_handler_holds_its_endpoints():
    setup()
    got = []
    r = Router(hostname="LP1", now_ms=Clock(), discovery=False,
               handlers=[(EP_A, None, lambda f: got.append(bytes(f)))])
    w = Wire()
    r.add_side_packed("OUT", w)
    d = r._deliver = Delivers(r)
    r.log_f32(LT, [1.5, 2.5])  # EP_A is held here: delivered, then sent on for EP_B
    assert d.calls == 1 and len(got) == 1 and got[0] == w.frames[0]
    r.log_u8(LU, [7])  # nobody here holds EP_B: no _deliver call, sent on
    r.log_bytes(LU, b"\x08")
    assert d.calls == 1 and len(got) == 1 and len(w.frames) == 3
    assert [sedsnet.unpack_packet(f).payload for f in w.frames[1:]] == [b"\x07", b"\x08"]
    r.log_f32(LT, [3.5, 4.5])
    assert d.calls == 2 and len(got) == 2
    plain = Router(hostname="LP2", now_ms=Clock(), discovery=False)
    plain.add_side_packed("OUT", Wire())
    d = plain._deliver = Delivers(plain)
    plain.log_f32(LT, [1.0, 2.0])
    assert d.calls == 0
    nv = plain.netvar = Values()  # network variables see every frame (Router._deliver)
    plain.log_f32(LT, [1.0, 2.0])
    assert d.calls == 1 and nv.seen == 1
    plain.netvar = None
    plain.log_f32(LT, [1.0, 2.0])
    assert d.calls == 1 and nv.seen == 1


class Values:
    """Stands in for a router's network variables (netvar.py): counts the frames it sees."""

    def __init__(self):
        self.seen = 0

    def on_data(self, src, hdr, data, n):
        self.seen += 1


def test_a_plain_log_loads_no_router_tx_and_a_queued_one_does():
    setup()
    r = Router(hostname="LP3", now_ms=Clock(), discovery=False)
    w = Wire()
    r.add_side_packed("OUT", w)
    r.log_f32(LT, [1.0, 2.0])
    r.log_bytes(LU, b"\x01")
    if "sedsnet.router_tx" not in sys.modules:  # (another test in this process may load it)
        r.log_f32(LT, [1.0, 2.0])
        assert "sedsnet.router_tx" not in sys.modules
    sent = len(w.frames)
    r.log_f32(LT, [3.0, 4.0], queue=True)
    assert "sedsnet.router_tx" in sys.modules and len(w.frames) == sent
    assert r.process_all_queues() >= 1 and len(w.frames) == sent + 1
    assert sedsnet.unpack_packet(w.frames[-1]).data_as_f32() == [3.0, 4.0]


def test_a_logged_frame_that_comes_back_is_a_duplicate():
    # the lone-side log path registers its frame's ID from log_pack's spans, without a parse:
    # the same ID a received copy of the frame gets, whatever the field widths
    from sedsnet.engine import D_DUP
    setup()
    r = Router(hostname="LP5", now_ms=Clock(), discovery=False)
    w = Wire()
    side = r.add_side_packed("LOOP", w)
    got = []
    r.add_side_packed("OTHER", got.append)
    r.log_f32(LT, [1.0, 2.0])  # two sides: the general path (a parse)
    for ts in (0, 200, 2 ** 40, 2 ** 64 - 1):
        r.log_f32(LT, [1.0, 2.0], timestamp_ms=ts)
    plain = Router(hostname="LP6", now_ms=Clock(), discovery=False)
    pw = Wire()
    ps = plain.add_side_packed("LOOP", pw)
    for ts in (0, 200, 2 ** 40, 2 ** 64 - 1):
        plain.log_f32(LT, [1.0, 2.0], timestamp_ms=ts)
        plain.log_u8(LU, [ts & 0xFF], timestamp_ms=ts)
    assert len(pw.frames) == 8
    for f in pw.frames:
        plain.receive_packed_from_side(ps, f)
    assert plain.sides[ps].drops[D_DUP] == 8
    for f in w.frames:
        r.receive_packed_from_side(side, f)
    assert r.sides[side].drops[D_DUP] == len(w.frames) == 5


def _zero(r, src, hdr, held):
    return 0


def _parse(hdr, buf, n, full):
    return None


@micropython_only("micropython.mem_total: the heap's allocation counter")
def test_originate_takes_no_heap_call_frame():
    from micropython import mem_total
    setup()
    r = Router(hostname="LP4", now_ms=Clock(), discovery=False)
    w = Wire()
    r.add_side_packed("OUT", w)
    r.log_f32(LT, [1.0, 2.0])  # a real frame in _tx_buf, parsed into _hdr as _parse would
    n = len(w.frames[-1])
    r._hdr.parse(r._tx_buf, n)
    # the callees that are not the log path's own: small stand-ins (their frames are theirs),
    # in router_log's _tl list, where _originate_busy finds them (FrameHeader.parse at 6,
    # forward._destinations at 4)
    from sedsnet.router_log import _tl
    real = _tl[6], _tl[4]
    _tl[6], _tl[4] = _parse, _zero
    try:
        r._held = 0
        r._originate(n)
        r._held = 0
        before = mem_total()
        r._originate(n)
        assert mem_total() - before == 0
    finally:
        _tl[6], _tl[4] = real
