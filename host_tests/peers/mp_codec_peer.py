# MicroPython peer for codec differential tests: our sedsnet in a fresh Unix-port process,
# driven with the same commands as ref_peer.py (both: codec_ops.py) so the two processes take
# the same nonce sequence.
import sys

import sedsnet
import stdio_link
from codec_ops import codec_handlers
from sedsnet import ids, schema

ids.set_sender_cache_size(4096)  # the reference remembers every sender it has seen


def _version(cmd):
    return {"impl": sys.implementation.name, "sedsnet": sedsnet.__version__}


_HANDLERS = codec_handlers(sedsnet, schema, stdio_link.send_frame)
_HANDLERS["version"] = _version
stdio_link.serve(_HANDLERS)
