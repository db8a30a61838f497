"""Discovery payloads, field by field, against the reference (issue 9: "match its verdicts on
decode"): every byte-sized field of DISCOVERY_ADDRESS v2, LINK_CAPABILITIES, TOPOLOGY (full and
delta), ANNOUNCE and TIMESYNC_SOURCES set to edge values, counts and lengths off by one either
way, a byte cut or added, names that are not UTF-8. Each frame goes to a fresh Router in a
reference process and in one of ours (test_decode_differential's peers: unpack, peek, route);
accept or refuse must agree everywhere. The random mutants of test_decode_mutations.py reach
these fields only by chance."""
import pytest

import test_decode_differential as tdd
from peerproc import codec_peers
from sedsnet import announce_codec as an
from sedsnet.ids import source_address
from sedsnet.wire import frame_size, pack_into


def ctrl(ty, payload, src="fnode"):
    a = source_address(src)
    buf = bytearray(frame_size(0, ty, a, 0, 1, len(payload), -1, 0x84))
    pack_into(buf, ty, a, None, 0, 1, payload, None, 0x84)
    return bytes(buf)


def w_addr(version=2, mode=0, state=1, host=b"peer", eps=(1, 2), netvars=(), ts=(),
           link=(1, 0, 0, 0, 0, 64), eps_count=None, trail=b"", ids=(77, 0, 1, 2)):
    w = an.Writer()
    w.u8(version)
    w.u8(mode)
    w.u8(state)
    w.u32(ids[0])
    w.u32(ids[1])
    w.u64(ids[2])
    w.u64(ids[3])
    w.str(host)
    w.u32(len(eps) if eps_count is None else eps_count)
    for e in eps:
        w.u32(e)
    w.u32s(netvars)
    w.strs(ts)
    return _link_into(w, *link) + trail


def _link_into(w, lv, flags, prof, mf, ct, tpl):
    """The link block (also a LINK_CAPABILITIES payload), any link version; the bytes so far."""
    w.u8(lv)
    w.u32(flags)
    w.u8(prof)
    w.u32(mf)
    w.u32(ct)
    w.u32(tpl)
    return bytes(w.view())


def w_link(lv=1, flags=0, prof=0, mf=0, ct=0, tpl=64):
    return _link_into(an.Writer(), lv, flags, prof, mf, ct, tpl)


def variants():
    out = []
    for v in (0, 1, 2, 3, 255):
        out.append(("address version", w_addr(version=v)))
    for m in (0, 1, 2, 3, 4, 255):
        out.append(("address mode", w_addr(mode=m)))
    for s in (0, 1, 2, 3, 255):
        out.append(("address state", w_addr(state=s)))
    for lv in (0, 1, 2, 3, 255):
        out.append(("address link version", w_addr(link=(lv, 0, 0, 0, 0, 64))))
    for prof in (0, 1, 2, 3, 4, 5, 255):
        out.append(("address profile", w_addr(link=(1, 0, prof, 0, 0, 64))))
    for flags in (0, 1, 2, 4, 8, 0xFF, 0xFFFFFFFF):
        out.append(("address link flags", w_addr(link=(1, flags, 0, 0, 0, 64))))
    for mf, ct, tpl in ((1, 0, 64), (16, 0, 64), (32, 0, 0), (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
                        (0, 5, 64), (255, 0, 1)):
        out.append(("address link sizes", w_addr(link=(1, 0, 1, mf, ct, tpl))))
    for ids in ((0, 0, 1, 2), (77, 5, 1, 2), (0, 5, 1, 2), (0xFFFFFFFF, 0xFFFFFFFF, 1, 2),
                (77, 0, 0, 2), (77, 0, 1, 0), (77, 0, 0, 0), (77, 0, (1 << 64) - 1, (1 << 64) - 1)):
        out.append(("address ids", w_addr(ids=ids)))
    for mode, ids in ((1, (77, 0, 1, 2)), (1, (0, 0, 1, 2)), (2, (77, 0, 1, 2)),
                      (2, (77, 77, 1, 2)), (1, (77, 77, 1, 2))):
        out.append(("address mode ids", w_addr(mode=mode, ids=ids)))
    for host in (b"", b" ", b"\x00", b"x" * 300, b"x" * 5000, b"\xc3", b"h\xc3\xa9"):
        out.append(("address hostname", w_addr(host=host)))
    for eps in ((), (0,), (1, 1), (0xFFFFFFFF,)):
        out.append(("address endpoints", w_addr(eps=eps)))
    for cnt in (1, 3, 0xFFFFFFFF):
        out.append(("address endpoint count", w_addr(eps_count=cnt)))
    out.append(("address netvars", w_addr(netvars=(3000, 5))))
    out.append(("address timesync", w_addr(ts=(b"SRC", b""))))
    out.append(("address trailing byte", w_addr(trail=b"\x00")))
    base = w_addr()
    for cut in (1, 4, 21, len(base) - 1):
        out.append(("address cut", base[:-cut]))
    for lv in (0, 1, 2, 255):
        out.append(("link caps version", w_link(lv=lv)))
    for prof in (0, 3, 4, 255):
        out.append(("link caps profile", w_link(prof=prof)))
    out.append(("link caps trailing", w_link() + b"\x00"))
    out.append(("link caps cut", w_link()[:-1]))
    return [(17 if k.startswith("address") else 16, k, p) for k, p in out] + topo_variants()


def topo_variants():
    out = []
    b = an.board(b"peer", [1, 2], [b"SRC"], [b"other"])
    full = an.topology_full_payload([b])
    out.append(("topology full", full))
    out.append(("topology full empty board", an.topology_full_payload([an.board(b"")])))
    w = an.Writer()
    w.u32(0xFFFFFFFF)
    out.append(("topology full huge count", bytes(w.view()) + full[4:]))
    w = an.Writer()
    w.u32(2)
    out.append(("topology full count +1", bytes(w.view()) + full[4:]))
    out.append(("topology full trailing", full + b"\x00"))
    out.append(("topology full cut", full[:-1]))
    out.append(("topology delta", an.topology_delta_payload([b], [b"gone"])))
    out.append(("topology delta empty", an.topology_delta_payload([], [])))
    out.append(("topology delta bad removed", an.topology_delta_payload([], [b"\xff"])))
    out.append(("topology delta cut", an.topology_delta_payload([b], [b"gone"])[:-1]))
    out.append(("topology just count", b"\x00\x00\x00\x00"))
    out.append(("topology empty", b""))
    ann = an.announce_payload([1, 2])
    out = [(9, k, p) for k, p in out]
    for k, p in (("announce", ann), ("announce empty", b""), ("announce odd", ann + b"\x00"),
                 ("announce 3 bytes", ann[:3]), ("announce zero ep", b"\x00" * 4)):
        out.append((7, k, p))
    w = an.Writer()
    w.strs([b"SRC", b""])
    srcs = bytes(w.view())
    for k, p in (("timesync sources", srcs), ("timesync sources cut", srcs[:-1]),
                 ("timesync sources trailing", srcs + b"\x00"), ("timesync sources none", b""),
                 ("timesync sources zero", b"\x00" * 4)):
        out.append((8, k, p))
    return out


@pytest.fixture(scope="module")
def peers():
    with codec_peers(tdd.CALLS, "32M") as pair:
        yield pair


def test_discovery_fields_get_the_reference_verdicts(peers):
    cases = variants()
    assert len(cases) > 100
    frames = [ctrl(ty, p) for ty, _k, p in cases]
    theirs = tdd.verdicts(peers[0], frames)
    ours = tdd.verdicts(peers[1], frames)
    bad = []
    for (ty, k, p), a, b in zip(cases, theirs, ours):
        va = [a[0]["ok"], a[1]["ok"], a[2]["ok"]]
        vb = [b[0]["ok"], b[1]["ok"], b[2]["ok"]]
        if va != vb:
            bad.append((ty, k, p.hex(), va, vb, a[2].get("error"), b[2].get("error")))
    refused = sum(1 for a in theirs if not a[2]["ok"])
    assert refused > 10 and len(cases) - refused > 30  # both verdicts are exercised
    assert not bad, "\n".join(repr(x) for x in bad)
