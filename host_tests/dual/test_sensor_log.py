# A board's Sensor (sedsnet_node/mainloop.py) logs its float values as float32 bytes through
# log_bytes: the frame log_f32 sends for a Float32 type (static: cut or zero-padded to its
# count; dynamic: as many values as read), without loading sedsnet/typed_log.py (issue 10: the
# CircuitPython Feather compiles every module it loads in its ~152 KB heap).
import sys

import sedsnet
from sedsnet_node.mainloop import Sensor
from support import micropython_only

_STATIC = 0x5E4501  # data type IDs no other dual module uses
_DYN = 0x5E4502
_EP = 0x5E4503


def setup():
    for ty, name, static, count in ((_STATIC, "SNSL_STATIC", True, 3),
                                    (_DYN, "SNSL_DYN", False, 0)):
        if not sedsnet.data_type_exists(ty):
            sedsnet.register_data_type(ty, name, static, count, 1, 0, [_EP])
    frames = []
    r = sedsnet.Router(hostname="snsl", now_ms=lambda: 1234, discovery=False)
    r.add_side_packed("OUT", lambda f: frames.append(bytes(f)))
    return r, frames


@micropython_only("the CPython dual tests share one process: another module loads typed_log")
def test_a_sensor_logs_without_loading_typed_log():
    r, frames = setup()
    Sensor("s", _STATIC, 100, lambda: [1.0, 2.0, 3.0]).emit(r)
    r.process_all_queues()
    assert len(frames) == 1
    assert "sedsnet.typed_log" not in sys.modules


def test_sensor_frames_equal_log_f32_frames():
    r, frames = setup()
    for ty, values in ((_STATIC, [1.5, -2.25, 3e8]), (_STATIC, [0.1]),  # zero-padded
                       (_STATIC, [1.0, 2.0, 3.0, 4.0]),  # cut to the type's 3 values
                       (_DYN, [0.5, 7.0]), (_DYN, [1.0, 2.0, 3.0, 4.0, 5.0])):
        del frames[:]
        r.log_f32(ty, values)
        r.process_all_queues()
        s = Sensor("s", ty, 100, lambda: values)
        s.emit(r)
        s.emit(r)  # (its buffer is reused)
        r.process_all_queues()
        assert len(frames) == 3, (ty, values, frames)
        got = [_fields(f) for f in frames]  # (each packet has its own nonce, a ULEB)
        assert got[1] == got[0] and got[2] == got[0], (ty, values, got)
        assert got[0][0] == ty


def _fields(frame):
    from sedsnet.wire import FrameHeader
    h = FrameHeader()
    h.parse(frame)
    return (h.ty, h.src_addr, list(h.endpoints[:h.nep]), h.flags, h.data_size,
            bytes(frame[h.payload_start:h.payload_end]))
