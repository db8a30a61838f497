# Viper kernel of the side transport (sdt.py): 4.2.7's 64-bit byte mixer (ids.mix64) run over
# a buffer with its state in an 8-byte buffer, for the chunk message id of every chunked frame
# (side-transport.md "Chunk message IDs"). sdt_codec.mix_into is the pure twin; sdt_codec picks
# this one when kernels.py picked _fast. The 64-bit state is four 16-bit limbs, so no value
# exceeds 32 bits and every shift is masked: the same code on 32-bit boards and the Unix port.
import micropython


@micropython.viper
def mix_into(st, data, start: int, end: int):
    """st[0:8] (the mixer state, little-endian) mixed with data[start:end]."""
    s = ptr8(st)
    d = ptr8(data)
    m = 0xFFFF
    h0 = s[0] | (s[1] << 8)
    h1 = s[2] | (s[3] << 8)
    h2 = s[4] | (s[5] << 8)
    h3 = s[6] | (s[7] << 8)
    k0 = 0x79B1  # 0x9E3779B1, the multiplier, in 16-bit halves
    k1 = 0x9E37
    i = start
    while i < end:
        h0 = h0 ^ d[i]
        # h * k mod 2**64 by 16-bit columns; each partial product split into masked halves
        p00 = h0 * k0
        p10 = h1 * k0
        p20 = h2 * k0
        p30 = h3 * k0
        p01 = h0 * k1
        p11 = h1 * k1
        p21 = h2 * k1
        c1 = ((p00 >> 16) & m) + (p10 & m) + (p01 & m)
        c2 = ((p10 >> 16) & m) + ((p01 >> 16) & m) + (p20 & m) + (p11 & m) + (c1 >> 16)
        c3 = ((p20 >> 16) & m) + ((p11 >> 16) & m) + (p30 & m) + (p21 & m) + (c2 >> 16)
        h0 = p00 & m
        h1 = c1 & m
        h2 = c2 & m
        h3 = c3 & m
        # h ^= h >> 27
        h0 = h0 ^ (((h1 >> 11) | (h2 << 5)) & m)
        h1 = h1 ^ (((h2 >> 11) | (h3 << 5)) & m)
        h2 = h2 ^ (h3 >> 11)
        i += 1
    s[0] = h0 & 0xFF
    s[1] = h0 >> 8
    s[2] = h1 & 0xFF
    s[3] = h1 >> 8
    s[4] = h2 & 0xFF
    s[5] = h2 >> 8
    s[6] = h3 & 0xFF
    s[7] = h3 >> 8
