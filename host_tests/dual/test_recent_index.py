# The hashed duplicate cache (recent.RecentIds over _fast/_pure recent_seen) against a plain
# FIFO model: the same answers for every ID, the same window (the oldest ID leaves first), for
# sizes from 1 to 1024 and IDs that share their hash home; the viper and pure kernels agree
# on the table, index and state after every call.
from array import array

from sedsnet import _pure
from sedsnet.recent import RecentIds
from support import micropython_only


class _Model:
    def __init__(self, size):
        self.size = size
        self.ids = []

    def seen(self, key):
        k = bytes(key)
        if self.size == 0:
            return False
        if k in self.ids:
            return True
        self.ids.append(k)
        if len(self.ids) > self.size:
            self.ids.pop(0)
        return False


def _keys(n, seed):
    # pseudo-random IDs, a third of them sharing the low 3 bytes (one hash home) with others
    x = seed
    out = []
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        key = bytearray(8)
        for j in range(8):
            key[j] = (x >> (j * 3)) & 0xFF
        if i % 3 == 0:
            key[0] = key[1] = key[2] = 0x5A
        out.append(key)
    return out


def _drive(recent, model, keys):
    # new IDs interleaved with repeats of recent and of long-gone ones
    for i, key in enumerate(keys):
        assert recent.seen(key) == model.seen(key), i
        for back in (1, 5, 40):
            if i >= back:
                k = keys[i - back]
                assert recent.seen(k) == model.seen(k), (i, back)
    assert recent.count == len(model.ids)


def test_hashed_cache_equals_a_fifo_model():
    for size in (0, 1, 2, 3, 4, 7, 64, 1024):
        _drive(RecentIds(size), _Model(size), _keys(2 * size + 60, size + 1))


def test_keys_at_an_offset_and_clear():
    recent = RecentIds(4)
    buf = bytearray(24)
    buf[8:16] = b"abcdefgh"
    assert not recent.seen(buf, 8)
    assert recent.seen(bytearray(b"abcdefgh"))
    recent.clear()
    assert recent.count == 0 and not recent.seen(buf, 8) and recent.seen(buf, 8)


def test_the_cache_holds_at_most_max_ids():
    from sedsnet.recent import MAX_IDS
    big = RecentIds(MAX_IDS + 1000)
    assert big.size == MAX_IDS == 65534 and len(big.index) == 131072
    model = _Model(MAX_IDS)
    for key in _keys(50, 9):
        assert big.seen(key) == model.seen(key)
    assert big.count == 50


@micropython_only("the viper kernel exists only under MicroPython")
def test_viper_and_pure_recent_seen_agree():
    from sedsnet import _fast
    for size in (1, 3, 16, 100):
        cap = 1
        while cap < 2 * size:
            cap <<= 1
        a = [bytearray(8 * size), array("H", bytes(2 * cap)), array("i", [0, 0, size, cap - 1])]
        b = [bytearray(8 * size), array("H", bytes(2 * cap)), array("i", [0, 0, size, cap - 1])]
        keys = _keys(3 * size + 20, size)
        for i, key in enumerate(keys):
            for k in (key, keys[i // 2]):
                x = _fast.recent_seen(a[0], a[1], a[2], k, 0)
                y = _pure.recent_seen(b[0], b[1], b[2], k, 0)
                assert x == y, (size, i)
                assert a[0] == b[0] and list(a[1]) == list(b[1]) and list(a[2]) == list(b[2])
