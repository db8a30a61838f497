# The viper kernels (_fast) against their pure twins (_pure) and zlib's CRC-32: same results on
# random buffers. Under CPython _fast must fail to import cleanly (no viper there).
import os

from sedsnet import _pure, wire
from support import IS_MICROPYTHON

try:
    from binascii import crc32 as _ref_crc
except ImportError:
    from zlib import crc32 as _ref_crc


def _fast():
    try:
        from sedsnet import _fast as f
        return f
    except ImportError:
        return None


def test_fast_is_chosen_exactly_where_viper_exists():
    f = _fast()
    assert (f is not None) == IS_MICROPYTHON
    assert wire.KERNELS == ("viper" if IS_MICROPYTHON else "pure")


def test_crc_kernels_agree_with_zlib_crc32():
    f = _fast()
    for n in (0, 1, 2, 3, 4, 7, 8, 31, 64, 255, 1024):
        data = bytearray(os.urandom(n)) + bytearray(4)
        want = _ref_crc(bytes(data[:n])) & 0xFFFFFFFF
        assert _pure.crc32(data, 0, n) == want
        kernels = [_pure] + ([f] if f else [])
        for k in kernels:
            work = bytearray(data)
            k.crc32_write(work, 0, n)
            assert work[n] | (work[n + 1] << 8) | (work[n + 2] << 16) | (work[n + 3] << 24) == want
            assert k.crc32_check(work, 0, n)
            if n:
                work[n // 2] ^= 0x10
                assert not k.crc32_check(work, 0, n)
        if f and n > 3:  # sub-ranges
            work = bytearray(data)
            f.crc32_write(work, 2, n)
            assert _pure.crc32_check(work, 2, n)


def test_pure_crc_fallback_table_matches():
    saved = _pure._crc32
    try:
        _pure._crc32 = None
        data = bytes(range(200))
        assert _pure.crc32(data, 0, 200) == _ref_crc(data) & 0xFFFFFFFF
        assert _pure.crc32(data, 10, 50) == _ref_crc(data[10:50]) & 0xFFFFFFFF
    finally:
        _pure._crc32 = saved
