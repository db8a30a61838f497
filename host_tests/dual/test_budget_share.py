# max_queue_budget shared by queued frames and discovery records: as 4.2.7
# (host_tests/test_budget_share_ref.py probes it), a new announcer's record takes the bytes of
# queued frames, the oldest dropped and counted, instead of the announcers already known
# being forgotten (announce_table._shed, _queue_room). Ours keeps each queue's starting size.
import sedsnet
from sedsnet.router import Router
from support import Clock

EP = 7591  # (IDs no other dual module uses: they share a process)
TY = 7590
N_ANN = 12


def setup():
    if not sedsnet.data_type_exists(TY):
        sedsnet.register_endpoint(EP, "BS_EP")
        sedsnet.register_data_type(TY, "BS_T", False, 0, 1, 0, [EP])
        for i in range(N_ANN):
            sedsnet.register_endpoint(EP + 1 + i, "BS_A%d" % i)


def _announcements(clock):
    """The frames of N_ANN routers' first announcements, each holding its own endpoint."""
    out = []
    for i in range(N_ANN):
        frames = []
        a = Router(hostname="bsAnn%d" % i, now_ms=clock,
                   handlers=[(EP + 1 + i, lambda p: None, None)])
        a.add_side_packed("x", lambda f, frames=frames: frames.append(bytes(f)))
        a.announce_discovery()
        a.process_all_queues()
        out.append(frames)
    return out


def _probe(clock, budget=8192, start=512):
    sent = []
    r = Router(hostname="bsProbe", now_ms=clock, max_queue_budget=budget,
               starting_queue_size=start)
    slow = r.add_side_packed("slow", sent.append)
    ann = r.add_side_packed("ann", lambda f: None)
    return r, slow, ann, sent


def test_announcers_are_kept_and_queued_frames_give_way():
    setup()
    clock = Clock(1000)
    anns = _announcements(clock)
    # (16 KB: an announcer's record grows with the schema the shared CPython process holds)
    r, _slow, ann, sent = _probe(clock, budget=16384)
    for i in range(900):  # a backlog: the TX queue grows into the whole budget
        r.log_bytes(TY, bytes([i & 0xFF]) * 4, None, True)
    q = r.export_runtime_stats()["queues"]
    assert r._budget.total - r._budget.used < 64  # (the budget is spent)
    queued = q["tx_len"]
    evicted0 = q["tx_evicted"]
    assert queued > 100 and evicted0 > 0 and not sent
    for frames in anns:
        for f in frames:
            try:
                r.receive_packed_from_side(ann, f)
            except sedsnet.SedsError:
                pass  # (a SCHEMA we pass on: nowhere to go)
    st = r.export_runtime_stats()
    d = st["discovery"]
    assert d["announcers"] == N_ANN and d["evicted"] == 0  # every route kept
    assert d["queue_room"] > 0
    q = st["queues"]
    dropped = q["tx_evicted"] - evicted0
    assert dropped > 0 and q["tx_len"] == queued - dropped  # frames dropped, and counted
    assert r._budget.used <= r._budget.total
    assert r._tx.cap >= 512 and r._rx.cap >= 512  # (never below the starting size)
    for i in range(N_ANN):  # each endpoint is routed toward the announcers' side
        assert r.discovery.reachable(ann, EP + 1 + i)
    r.process_all_queues()  # what is left is still handled (here: routed nowhere, as 4.2.7)
    assert r.export_runtime_stats()["queues"]["tx_len"] == 0


def test_without_queued_frames_discovery_sheds_as_before():
    setup()
    clock = Clock(1000)
    anns = _announcements(clock)
    # the queues sit at their starting size: nothing to give, so the least recently heard
    # announcer goes, counted (4.2.7 refuses the new one with Io("shared priority queue
    # saturated"))
    r, _slow, ann, _sent = _probe(clock, budget=5120, start=512)
    for k, frames in enumerate(anns):
        clock.t = 1000 + 10 * k
        for f in frames:
            try:
                r.receive_packed_from_side(ann, f)
            except sedsnet.SedsError:
                pass
    d = r.export_runtime_stats()["discovery"]
    assert d["evicted"] > 0 and 0 < d["announcers"] < N_ANN
    assert r._budget.used <= r._budget.total
    assert r._tx.cap == r._rx.cap == 512
    assert r.export_runtime_stats()["queues"]["tx_evicted"] == 0
