# Duplicate suppression: the IDs of recently seen packets (u64, 8 bytes each) in one
# preallocated table, oldest overwritten first. Its full size is reserved in the queue budget
# up front, as the reference does (max_recent_rx_ids, default 128 -> 1024 bytes).
from .kernels import copy_into, find8


class RecentIds:
    def __init__(self, size):
        self.size = size
        self.table = bytearray(8 * size)
        self.count = 0
        self.pos = 0

    def seen(self, key, off=0):
        """True if the ID key[off:off+8] was seen; otherwise remember it and return False."""
        if self.size == 0:
            return False
        if find8(self.table, self.count, key, off) >= 0:
            return True
        copy_into(self.table, 8 * self.pos, key, off, 8)
        self.pos = (self.pos + 1) % self.size
        if self.count < self.size:
            self.count += 1
        return False

    def clear(self):
        self.count = self.pos = 0

    def nbytes(self):
        return 8 * self.size
