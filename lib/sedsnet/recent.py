# Duplicate suppression: the IDs of recently seen packets (u64, 8 bytes each) in one
# preallocated table, oldest overwritten first. Its full size is reserved in the queue budget
# up front, as the reference does (max_recent_rx_ids, default 128 -> 1024 bytes). A hash index
# of the table (2 bytes a slot, 2-4 slots an ID, beside the budget) makes a lookup cost the
# same for 64 IDs as for 1024 (the kernels: _fast.recent_seen and its twin).
from array import array

from .kernels import recent_seen

MAX_IDS = 65534  # index entries are u16 slot numbers + 1 (4.2.7 has no such cap)


class RecentIds:
    def __init__(self, size):
        size = min(size, MAX_IDS)
        self.size = size
        self.table = bytearray(8 * size)
        cap = 1
        while cap < 2 * size:
            cap <<= 1
        self.index = array("H", bytes(2 * cap))
        self.st = array("i", [0, 0, size, cap - 1])  # count, pos, size, index mask
        self.count = 0

    def seen(self, key, off=0):
        """True if the ID key[off:off+8] was seen; otherwise remember it and return False."""
        if recent_seen(self.table, self.index, self.st, key, off):
            return True
        self.count = self.st[0]
        return False

    def clear(self):
        self.st[0] = self.st[1] = self.count = 0
        idx = self.index
        for i in range(len(idx)):
            idx[i] = 0

    def nbytes(self):
        return 8 * self.size
