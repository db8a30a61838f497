# Duplicate suppression: the IDs of recently seen packets (u64, 8 bytes each) in one
# preallocated table, oldest overwritten first. Its full size is reserved in the queue budget
# up front, as the reference does (max_recent_rx_ids, default 128 -> 1024 bytes). A hash index
# of the table (2 bytes a slot, 2-4 slots an ID, beside the budget) makes a lookup cost the
# same for 64 IDs as for 1024 (the kernels: _fast.recent_seen and its twin).
from array import array

try:
    from ._fast import copy_into, find8, recent_seen
except (ImportError, SyntaxError, ValueError, AttributeError):
    from ._pure import copy_into, find8, recent_seen

_MAX = 32767  # index entries are u16 slot numbers + 1; above that, a linear scan


class RecentIds:
    def __init__(self, size):
        self.size = size
        self.table = bytearray(8 * size)
        cap = 1
        while cap < 2 * size and size <= _MAX:
            cap <<= 1
        self.index = array("H", bytes(2 * cap)) if size <= _MAX else None
        self.st = array("i", [0, 0, size, cap - 1])  # count, pos, size, index mask

    def __getattr__(self, name):  # (no property: it would slow every attribute store)
        if name == "count":
            return self.st[0]
        raise AttributeError(name)

    def seen(self, key, off=0):
        """True if the ID key[off:off+8] was seen; otherwise remember it and return False."""
        if self.index is not None:
            return recent_seen(self.table, self.index, self.st, key, off) == 1
        st = self.st
        if find8(self.table, st[0], key, off) >= 0:
            return True
        copy_into(self.table, 8 * st[1], key, off, 8)
        st[1] = (st[1] + 1) % self.size
        if st[0] < self.size:
            st[0] += 1
        return False

    def clear(self):
        self.st[0] = self.st[1] = 0
        idx = self.index
        for i in range(len(idx) if idx is not None else 0):
            idx[i] = 0

    def nbytes(self):
        return 8 * self.size
