"""Harness smoke test: the reference packs a frame in its own CPython process, a MicroPython
process receives it over the link and echoes it back, the bytes match and still decode."""
from peerproc import micropython_peer, reference_peer


def test_reference_frame_round_trips_through_micropython():
    with reference_peer() as ref, micropython_peer("mp_echo.py") as mp:
        assert ref.call("version")["sedsnet"] == "4.2.7"
        assert mp.call("ping")["impl"] == "micropython"
        ref.call("schema", calls=[
            {"call": "register_endpoint", "args": [1, "EP_A", False, ""]},
            {"call": "register_data_type", "args": [100, "T_F32X2", True, 2, 1, 0, [1]]},
        ])
        frame = bytes.fromhex(ref.call("pack", ty=100, sender="nodeA", endpoints=[1],
                                       timestamp_ms=1000, payload_hex="0000803f00000040",
                                       emit=True)["frame_hex"])
        mp.send_frame(ref.recv_frame())
        echoed = mp.recv_frame()
        assert echoed == frame
        ref.send_frame(echoed)
        decoded = ref.call("unpack", frame_hex=echoed.hex())
        assert decoded["ty"] == 100 and decoded["timestamp_ms"] == 1000
        assert decoded["payload_hex"] == "0000803f00000040"
