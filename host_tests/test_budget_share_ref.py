"""What 4.2.7 does when its max_queue_budget is full of queued frames and new announcers
arrive (issue 18: the rocket lost its routes under a LoRa backlog), probed in its own
process (peers/ref_router_lab.py), then the same scenario on ours (peers/mp_router_lab.py,
MicroPython). 4.2.7: each new announcer's record takes the room of queued frames (the TX
queue shrinks by about one frame per announcer), none of the known announcers is forgotten;
once the queue is empty a new announcement is refused with
Io("shared priority queue saturated") and not learned. Ours (announce_table._queue_room): announcers kept,
the oldest queued frames dropped and counted (tx_evicted), down to the starting queue size."""
from peerproc import micropython_peer, reference_peer

EP = 3101
TY = 3100
N_ANN = 24
SCHEMA = [["register_endpoint", EP, "BR_EP", False, ""],
          ["register_data_type", TY, "BR_T", False, 0, 1, 0, [EP]]] + \
    [["register_endpoint", EP + 1 + i, "BR_A%d" % i, False, ""] for i in range(N_ANN)]


def _scenario(lab, budget, n_ann, start=None):
    lab.call("reset", schema=SCHEMA, t=1000)
    kw = {"hostname": "brProbe", "max_queue_budget": budget}
    if start is not None:
        kw["starting_queue_size"] = start
    lab.call("node", name="probe", kw=kw, sides=[False, False])  # 0: slow, 1: announcers
    for i in range(n_ann):
        lab.call("node", name="a%d" % i, hostname="brAnn%d" % i, handlers=[EP + 1 + i],
                 sides=[False])
        lab.call("call", node="a%d" % i, method="announce_discovery")
    frames = {}
    for _t, node, _side, f in lab.call("out")["frames"]:
        frames.setdefault(node, []).append(f)
    lab.call("log_f32", node="probe", ty=TY, values=[1.0, 2.0], queue=True, n=400)
    stats = lab.call("call", node="probe", method="export_runtime_stats", settle=False)["result"]
    trace = [(stats["queues"]["tx_len"], stats["discovery"]["announcer_count"], None)]
    for i in range(n_ann):
        errors = lab.call("rx", node="probe", side=1, frames=frames["a%d" % i])["errors"]
        stats = lab.call("call", node="probe", method="export_runtime_stats", settle=False)["result"]
        trace.append((stats["queues"]["tx_len"], stats["discovery"]["announcer_count"],
                      [e for e in errors if e]))
    return trace, stats


def test_reference_gives_queued_frames_to_new_announcers_then_refuses():
    with reference_peer("ref_router_lab.py") as lab:
        trace, _ = _scenario(lab, 8192, N_ANN)
    queued = trace[0][0]
    assert queued > 10 and trace[0][1] == 0  # the budget is full of queued frames
    emptied = next(i for i, t in enumerate(trace) if t[0] == 0)
    assert 1 < emptied < N_ANN
    for i in range(1, emptied + 1):  # each announcer learned, a queued frame or two dropped
        assert 1 <= trace[i - 1][0] - trace[i][0] <= 2 and trace[i][1] == i
    for i in range(emptied + 1, len(trace)):  # nothing left to drop: refused, not learned
        assert trace[i][1] == emptied and trace[i][0] == 0
        assert any("shared priority queue saturated" in e for e in trace[i][2])


def test_ours_keeps_the_announcers_and_drops_queued_frames():
    # (10 announcers: past that ours sheds its delta baselines, and the library's one-line
    # warning on stdout would break the lab's stdio framing)
    with micropython_peer("mp_router_lab.py") as lab:
        trace, stats = _scenario(lab, 8192, 10, start=512)
    queued = trace[0][0]
    assert queued > 100 and trace[0][1] == 0  # (ours packs more frames into the budget)
    assert [t[1] for t in trace] == list(range(11))  # every announcer learned
    assert trace[-1][0] < queued and not any(t[2] for t in trace[1:])  # frames gave way
    q = stats["queues"]
    assert q["tx_evicted"] > 0 and stats["discovery"]["evicted"] == 0
    assert stats["discovery"]["queue_room"] > 0
