# COBS (Consistent Overhead Byte Stuffing) for byte-stream links: a frame never contains 0x00, so
# a 0x00 byte marks every frame boundary and a receiver resynchronises at the next delimiter.
# Encoding writes into a caller's buffer; decoding is a streaming state machine (CobsDecoder) that
# writes straight into a preallocated frame buffer, so neither direction allocates per frame.
# Its own const fallback, not sedsnet.compat's: the ground station and NetSim import this
# module in a CPython process whose `sedsnet` is the reference 4.2.7 (no compat module).
try:
    from micropython import const
except ImportError:
    def const(value):
        return value

_BLOCK = const(255)


def max_encoded_len(n):
    """Worst-case COBS length of an n-byte frame (without the 0x00 delimiter)."""
    return n + n // 254 + 1


def encode_into(src, n, dst, off=0):
    """COBS-encode src[:n] into dst starting at off; return the index just past the output.

    dst must hold max_encoded_len(n) bytes from off. No delimiter is written.
    """
    code_at = off
    out = off + 1
    code = 1
    for i in range(n):
        b = src[i]
        if b == 0:
            dst[code_at] = code
            code_at = out
            out += 1
            code = 1
        else:
            dst[out] = b
            out += 1
            code += 1
            if code == _BLOCK:
                dst[code_at] = code
                if i == n - 1:  # a full block that ends the data needs no empty block after it
                    return out
                code_at = out
                out += 1
                code = 1
    dst[code_at] = code
    return out


def encode(data):
    """COBS-encode bytes (allocates; for tools and tests)."""
    buf = bytearray(max_encoded_len(len(data)))
    return bytes(buf[:encode_into(data, len(data), buf)])


def decode(data):
    """Decode one delimiter-free COBS sequence to bytes (allocates; for tools and tests).

    ValueError if a block is truncated or holds a 0x00.
    """
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            raise ValueError("bad COBS block at %d" % i)
        for j in range(i + 1, end):
            if data[j] == 0:
                raise ValueError("0x00 inside COBS block at %d" % j)
            out.append(data[j])
        i = end
        if code != _BLOCK and i < n:
            out.append(0)
    return bytes(out)


class CobsDecoder:
    """Streaming COBS decoder into one preallocated buffer of `mtu` bytes.

    feed(chunk, n, on_frame) decodes chunk[:n] and calls on_frame(length) for each complete
    frame, which is then self.buf[:length] (valid until the next feed). Bad input is counted:
    `truncated` (a delimiter inside a block: partial frame, line noise) and `oversize` (frame
    longer than mtu, dropped up to the next delimiter). Decoding restarts at every 0x00.
    """

    def __init__(self, mtu):
        self.buf = bytearray(mtu)
        self.mtu = mtu
        self.truncated = 0
        self.oversize = 0
        self._pos = 0       # decoded bytes so far in the current frame
        self._left = 0      # data bytes still due in the current block
        self._zero = False  # the block that just ended was short: a 0x00 is due before the next
        self._skip = False  # oversize: drop everything up to the next delimiter

    def reset(self):
        """Forget any partial frame (the next byte is treated as a frame start)."""
        self._pos = 0
        self._left = 0
        self._zero = False
        self._skip = False

    def feed(self, chunk, n, on_frame):
        buf = self.buf
        mtu = self.mtu
        pos = self._pos
        left = self._left
        zero = self._zero
        skip = self._skip
        for i in range(n):
            b = chunk[i]
            if b == 0:
                if skip:
                    self.oversize += 1
                elif left:
                    self.truncated += 1
                elif pos:
                    self._pos = 0
                    self._left = 0
                    self._zero = False
                    self._skip = False
                    on_frame(pos)
                pos = 0
                left = 0
                zero = False
                skip = False
            elif skip:
                continue
            elif left:
                if pos >= mtu:
                    skip = True
                    continue
                buf[pos] = b
                pos += 1
                left -= 1
            else:  # a code byte
                if zero:
                    if pos >= mtu:
                        skip = True
                        continue
                    buf[pos] = 0
                    pos += 1
                left = b - 1
                zero = b != _BLOCK
        self._pos = pos
        self._left = left
        self._zero = zero
        self._skip = skip
