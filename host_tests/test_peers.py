"""The twin peers (issue 11): the two router labs are one dispatcher (peers/router_lab.py),
the two codec peers share peers/codec_ops.py, so a command one twin knows the other knows
and answers the same way; the parity tests' one-shot scripts run through one helper."""
import struct
import tempfile

import pytest

from netlab import network
from peerproc import PeerError, codec_peers, micropython_peer, reference_peer, run_script

SCHEMA = [["register_endpoint", 1, "EP_A", False, ""],
          ["register_data_type", 101, "T_F", False, 0, 1, 0, [1]]]


def _lab_run(lab):
    lab.call("reset", schema=SCHEMA)
    lab.call("node", name="A", hostname="alpha", handlers=[1], sides=[False])
    lab.call("node", name="B", hostname="beta", sides=[])
    idx = lab.call("add_side", node="B")["index"]  # a side added after the node
    lab.call("link", a="A", a_side=0, b="B", b_side=idx)
    lab.call("log_f32", node="B", ty=101, values=[2.5])
    lab.call("run", to=200, step=50)
    got = lab.call("got", node="A")
    res = lab.call("batch", cmds=[{"op": "at", "t": 300}, {"op": "out"}])["results"]
    return idx, [(ep, ty, pl) for _, ep, ty, pl in got["got"]], got["senders"], res[1]


def test_the_two_router_labs_answer_the_same_commands_alike():
    with reference_peer("ref_router_lab.py") as ref:
        theirs = _lab_run(ref)
    with micropython_peer("mp_router_lab.py") as mp:
        ours = _lab_run(mp)
    assert theirs[0] == ours[0] == 0
    assert theirs[1] == ours[1] == [(1, 101, struct.pack("<f", 2.5).hex())]
    assert theirs[2] == ours[2] == ["beta"]
    assert theirs[3] == ours[3] == {"frames": [], "more": 0}  # nothing left on an open side


def _codec_run(peer):
    frame = peer.call("pack", ty=101, sender="beta", endpoints=[1], timestamp_ms=7,
                      payload_hex="0000203f")["frame_hex"]
    res = peer.call("batch", cmds=[{"op": "unpack", "frame_hex": frame},
                                   {"op": "route", "handlers": [1], "frame_hex": frame},
                                   {"op": "nope"}])["results"]
    return res


def test_the_two_codec_peers_answer_the_same_commands_alike():
    calls = {"calls": [{"call": "register_endpoint", "args": [1, "EP_A", False, ""]},
                       {"call": "register_data_type", "args": [101, "T_F", False, 0, 1, 0, [1]]}]}
    with reference_peer("ref_peer.py") as ref:
        ref.call("schema", **calls)
        theirs = _codec_run(ref)
    with micropython_peer("mp_codec_peer.py") as mp:
        mp.call("schema", **calls)
        ours = _codec_run(mp)
    unpacked = {"ok": True, "ty": 101, "sender": "beta", "sender_hex": b"beta".hex(),
                "endpoints": [1], "timestamp_ms": 7, "payload_hex": "0000203f"}
    assert theirs[0] == ours[0] == unpacked
    assert theirs[1] == ours[1] == {"ok": True, "got": [[1, "0000203f", True]], "sent": 0}
    assert theirs[2]["ok"] is ours[2]["ok"] is False  # an unknown command inside a batch


def test_run_script_runs_in_a_private_folder(tmp_path, monkeypatch):
    # a module lying in the shared temp folder must not shadow the script's imports
    (tmp_path / "json.py").write_text("raise ImportError('the temp folder shadowed json')\n")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    script = "import json, sys\nprint('noise')\nprint(json.dumps(sys.argv[1:]))\n"
    assert run_script(script, "reference", "x") == ["reference", "x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["json.py"]  # nothing left behind


def test_net_reset_leaves_nothing_of_the_last_test():
    with network(SCHEMA) as net:
        net.node("ref", "R", 1, handlers=[1])
        net.node("mp", "M", 1)
        net.link("M", 0, "R", 0, delay=30)
        net.log_f32("M", 101, [1.0])
        assert net.flight and net.delay and net.where
        assert net.reset(seed=5) is net
        assert (net.where, net.cross, net.delay, net.flight, net.trace, net.t) == (
            {}, {}, {}, [], [], 0)
        for lab, name in (("mp", "M"), ("ref", "R")):  # the labs' nodes are gone too
            with pytest.raises(PeerError):
                net.labs[lab].call("got", node=name)


def test_codec_peers_share_the_schema_and_the_reference_never_compresses():
    calls = [{"call": "register_endpoint", "args": [1, "EP_A", False, ""]},
             {"call": "register_data_type", "args": [101, "T_F", False, 0, 1, 0, [1]]}]
    cmd = {"op": "pack", "ty": 101, "sender": "beta", "endpoints": [1], "timestamp_ms": 7,
           "payload_hex": "00" * 400}  # would be zstd-compressed by 4.2.7's default tuning
    with codec_peers(calls) as (ref, mp):
        theirs = ref.call("batch", cmds=[cmd])["results"][0]["frame_hex"]
        ours = mp.call("batch", cmds=[cmd])["results"][0]["frame_hex"]
    assert not int(theirs[:2], 16) & 0x01  # FLAGS bit 0: compressed payload
    assert theirs == ours
