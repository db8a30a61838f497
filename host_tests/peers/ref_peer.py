# Reference peer: runs the pinned reference `sedsnet==4.2.7` in its own CPython process (our
# package has the same import name, so the two can never share a process). Commands (those of
# codec_ops.py, shared with mp_codec_peer.py, and a few of its own) drive the reference as a
# black box; frames it emits go to the test as F records.
import sys

import sedsnet as ref

import stdio_link
from codec_ops import codec_handlers

_received = []


def _received_frames(cmd):
    frames = [f.hex() for f in _received]
    del _received[:]
    return {"frames": frames}


def _tuning(cmd):
    """set_runtime_tuning_config(**kwargs), e.g. payload_compress_threshold to stop pack()
    from compressing (our port never compresses)."""
    ref.set_runtime_tuning_config(**cmd["kwargs"])
    return {"config": dict(ref.runtime_tuning_config())}


def _version(cmd):
    from importlib.metadata import version
    return {"impl": sys.implementation.name, "sedsnet": version("sedsnet")}


_HANDLERS = codec_handlers(ref, ref, stdio_link.send_frame)
_HANDLERS.update({"tuning": _tuning, "received": _received_frames, "version": _version})
stdio_link.serve(_HANDLERS, on_frame=_received.append)
