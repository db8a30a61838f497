"""Profiled sides (add_side_packed_profile, lib/sedsnet/sdt.py) against the reference: the same
script in two processes (the packages share the name `sedsnet`), fresh nonce sequences, one
fake clock. Every frame a single-side router sends (discovery included) must be byte-identical
for each profile x max_frame_bytes, chunk message ids included, and for template dictionaries
that overflow (4.2.7 forgets the smallest shape hash: docs/side-transport.md); a receiver with
a small dictionary must keep and drop the same templates; the side-transport stats must match."""

import toolchain
from peerproc import run_script

SCRIPT = r"""
import json, sys
if sys.argv[1] == "ours":
    sys.path.insert(0, sys.argv[2])
import sedsnet as seds
seds.register_endpoint(101, "RADIO")
seds.register_endpoint(102, "SD")
seds.register_data_type(3000, "GPS", True, 3, 1, 0, [101])
seds.register_data_type(3001, "BLOB", False, 0, 2, 0, [101])
seds.register_data_type(3002, "TWO", True, 1, 1, 0, [101, 102])
res = {}
for prof in ("canonical", "template", "ipv6_like", "ipv4_like"):
    for mf in (0, 255, 32, 40):
        t = [1000]
        out = []
        r = seds.Router(hostname="alpha", now_ms=lambda: t[0])
        r.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile=prof,
                                  max_frame_bytes=mf)
        r.periodic(0)
        for i in range(12):
            t[0] += 10
            r.log_f32(3000, [1.0 + i, 2.0, 3.0])
            if i % 4 == 0:
                r.log_bytes(3001, bytes(range(i, 200 + i)))
            if i % 3 == 0:
                r.log_f32(3002, [float(i)])
        t[0] += 600
        r.periodic(0)
        st = r.export_runtime_stats()["sides"][0]
        st.pop("data_types", None)
        st.pop("adaptive", None)
        res["%s/%d" % (prof, mf)] = {"frames": out, "stats": st}
lim = {}
for limit in (1, 2, 3):
    out = []
    t = [1000]
    r = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    r.add_side_packed_profile("S", lambda f: out.append(bytes(f)[3]), profile="template",
                              max_side_transport_templates=limit)
    r.periodic(0)
    n0 = len(out)
    for ty in (3000, 3001, 3000, 3002, 3000, 3001, 3002, 3001):
        t[0] += 10
        if ty == 3001:
            r.log_bytes(ty, b"abc")
        else:
            r.log_f32(ty, [1.0] * (3 if ty == 3000 else 1))
    lim[limit] = out[n0:]
res["limits"] = lim
for k in range(6):
    seds.register_data_type(3200 + k, "SH%d" % k, True, 1, 1, 0, [101])
# sequences of distinct shapes with re-uses that overflow small dictionaries; a receiver of a
# smaller one, fed every frame, and whether it could restore each
ovf = {}
for limit, seq in ((1, [0, 1, 0, 0, 2, 1]),
                   (2, [0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 5, 4, 4, 5, 0, 0, 0, 1]),
                   (3, [5, 4, 3, 2, 1, 0] * 2 + [0] * 10 + [5, 3, 1, 4, 2, 0, 3, 3]),
                   (4, [0, 2, 4, 1, 3, 5, 0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0, 2, 2, 4, 4])):
    for prof, mf in (("ipv6_like", 0), ("template", 40)):
        t = [1000]
        out = []
        r = seds.Router(hostname="alpha", now_ms=lambda: t[0])
        r.add_side_packed_profile("S", lambda f: out.append(bytes(f)), profile=prof,
                                  max_frame_bytes=mf, max_side_transport_templates=limit)
        r.periodic(0)
        for i, k in enumerate(seq):
            t[0] += 10
            r.log_f32(3200 + k, [float(i)])
        st = r.export_runtime_stats()["sides"][0]
        got = []
        b = seds.Router(hostname="beta", now_ms=lambda: t[0],
                        handlers=[(101, lambda p: got.append(p.ty), None)])
        bs = b.add_side_packed_profile("S", lambda f: None, profile=prof, max_frame_bytes=mf,
                                       max_side_transport_templates=max(1, limit - 1))
        rx = []
        for f in out:
            n = len(got)
            try:
                b.receive_packed_from_side(bs, f)
                b.process_all_queues()
            except Exception:
                pass
            rx.append(got[n:])
        sb = b.export_runtime_stats()["sides"][0]
        ovf["%d/%s/%d" % (limit, prof, mf)] = {
            "frames": [f.hex() for f in out], "rx": rx,
            "tx_stats": [st[k] for k in ("side_transport_template_evictions",
                                         "side_transport_tx_template_count",
                                         "side_transport_full_frames",
                                         "side_transport_compact_frames")],
            "rx_stats": [sb[k] for k in ("side_transport_template_evictions",
                                         "side_transport_rx_template_count")]}
res["overflow"] = ovf
# a dictionary of 0 templates: 4.2.7 sends frames plain on a template profile (chunked when
# longer than max_frame_bytes); canonical with max_frame_bytes keeps its kind-1 frames
zero = {}
for prof, mf in (("template", 0), ("ipv6_like", 32), ("ipv4_like", 255), ("canonical", 32)):
    t = [1000]
    out = []
    r = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    r.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile=prof,
                              max_frame_bytes=mf, max_side_transport_templates=0)
    r.periodic(0)
    for i in range(4):
        t[0] += 10
        r.log_f32(3000, [1.0 + i, 2.0, 3.0])
        r.log_bytes(3001, bytes(range(i, 40 + i)))
    st = r.export_runtime_stats()["sides"][0]
    zero["%s/%d" % (prof, mf)] = {"frames": out, "stats": {
        k: v for k, v in st.items() if k.startswith("side_transport_") or k == "tx_bytes"}}
res["zero"] = zero
# a Relay's dictionary of 2 overflowing (its ids are 1, 2, ...; the order is by shape hash)
rovf = []
for lim in (1, 2, 3):
    out = []
    src = []
    t = [1000]
    rl = seds.Relay(now_ms=lambda: t[0])
    ps = rl.add_side_packed("plain", lambda f: None)
    rl.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile="template",
                               max_side_transport_templates=lim)
    rl.periodic(0)
    rl.process_all_queues()
    a = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    a.add_side_packed("x", lambda f: src.append(bytes(f)))
    for i, k in enumerate([0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 5, 4, 4, 5, 0, 0, 0, 1]):
        t[0] += 10
        a.log_f32(3200 + k, [float(i)])
    for f in src:
        if seds.peek_header_py(f)["ty"] >= 3000:
            rl.rx_packed_from_side(ps, f)
    rl.process_all_queues()
    st = rl.export_runtime_stats()["sides"][1]
    rovf.append([out, st["side_transport_template_evictions"]])
res["relay_overflow"] = rovf
relay = {}
for prof, mf in (("ipv4_like", 32), ("template", 0), ("canonical", 255), ("ipv6_like", 255)):
    out = []
    src = []
    t = [1000]
    rl = seds.Relay(now_ms=lambda: t[0])
    plain = []
    ps = rl.add_side_packed("plain", lambda f: plain.append(bytes(f).hex()))
    rl.add_side_packed_profile("S", lambda f: out.append(bytes(f).hex()), profile=prof,
                               max_frame_bytes=mf)
    rl.periodic(0)
    a = seds.Router(hostname="alpha", now_ms=lambda: t[0])
    a.add_side_packed("x", lambda f: src.append(bytes(f)))
    for i in range(12):
        t[0] += 10
        a.log_f32(3000, [1.0 + i, 2.0, 3.0])
        if i % 5 == 0:
            a.log_bytes(3001, bytes(range(i, 200 + i)))
    for f in src:
        if seds.peek_header_py(f)["ty"] >= 3000:
            rl.rx_packed_from_side(ps, f)
    rl.process_all_queues()
    relay["%s/%d" % (prof, mf)] = out
    relay["plain %s/%d" % (prof, mf)] = plain
res["relay"] = relay
print(json.dumps(res))
"""


def _run(kind):
    return run_script(SCRIPT, kind, toolchain.LIB, timeout=120)

def _shape(hexframe):
    b = bytes.fromhex(hexframe)
    if b[:3] != b"SDT":
        return ("plain", b[0])
    if b[3] == 3:
        return ("chunk", b[8] | b[9] << 8, b[10] | b[11] << 8)
    p = 4 if b[3] == 1 else 5
    tid = 0
    k = 0
    while True:
        tid |= (b[p] & 0x7F) << k
        k += 7
        p += 1
        if b[p - 1] < 0x80:
            break
    return (b[3], tid)


_REF = []


def _both():
    if not _REF:
        _REF.append((_run("reference"), _run("ours")))
    return _REF[0]


def test_profiled_side_frames_equal_the_reference():
    ref, ours = _both()
    for key in ref:
        if key in ("limits", "relay", "overflow", "zero", "relay_overflow"):
            continue
        a = ref[key]["frames"]
        b = ours[key]["frames"]
        assert a == b, key
        mf = int(key.split("/")[1])
        if mf:
            assert max(len(x) // 2 for x in b) <= mf, key
    # the kinds we rely on really occur: compact frames, chunks, plain frames
    def kinds(key):
        return {x[6:8] for x in ours[key]["frames"] if x.startswith("534454")}
    assert kinds("ipv4_like/255") == {"01", "02"}
    assert kinds("ipv4_like/32") == {"02", "03"}  # (kind 1 frames only inside chunks)
    assert kinds("canonical/40") == {"01", "03"}
    assert not ours["canonical/0"]["frames"][0].startswith("534454")
    # (chunk message ids included: one per chunked frame, none fixed or counted)
    chunks = [x for x in ours["template/32"]["frames"] if x.startswith("53445403")]
    firsts = [x for x in chunks if x[16:20] == "0000"]
    assert len({x[8:16] for x in chunks}) == len(firsts) > 5


def test_profiled_side_stats_equal_the_reference():
    ref, ours = _both()
    for key in ref:
        if key in ("limits", "relay", "overflow", "zero", "relay_overflow"):
            continue
        a = ref[key]["stats"]
        b = ours[key]["stats"]
        keys = [k for k in a if k.startswith("side_transport_") or k in (
            "header_template_enabled", "max_frame_bytes", "compact_header_target_bytes",
            "max_side_transport_templates", "tx_packets", "tx_bytes", "link_local_enabled")]
        assert {k: b.get(k) for k in keys} == {k: a[k] for k in keys}, key
    assert ref["template/0"]["stats"]["side_transport_compact_frames"] > 10


def test_template_limit_sequences():
    """Kinds (1 full, 2 compact) for a shape sequence with a small template limit. At limit 2
    4.2.7 forgets 3000 (the smaller shape hash, not the older or less recently used 3001)."""
    ref, ours = _both()
    assert ref["limits"]["1"] == ours["limits"]["1"] == [1] * 8
    assert ref["limits"]["3"] == ours["limits"]["3"] == [1, 1, 2, 1, 2, 2, 2, 2]
    assert ref["limits"]["2"] == ours["limits"]["2"] == [1, 1, 2, 1, 1, 2, 1, 2]  # (FIFO: 1 at 6)


def test_overflowing_dictionaries_equal_the_reference():
    """Shape sequences that overflow dictionaries of 1-4 templates: the same bytes (template
    ids, full/compact choice, chunks and their ids), the same stats; and a receiver of one
    template fewer restores and drops the same frames as 4.2.7's."""
    ref, ours = _both()
    assert len(ref["overflow"]) == 8
    for key, a in ref["overflow"].items():
        b = ours["overflow"][key]
        assert b["frames"] == a["frames"], key
        assert b["tx_stats"] == a["tx_stats"], key
        assert b["rx"] == a["rx"], key
        assert b["rx_stats"] == a["rx_stats"], key
        assert a["tx_stats"][0] > 0 and a["rx_stats"][0] > 0, key  # both tables overflowed
        assert [] in a["rx"] and any(x for x in a["rx"]), key  # some frames lost, some not


def test_relay_link_capabilities_and_frames():
    """A Relay's LINK_CAPABILITIES carries the side's profile (and is chunked on a 32-byte
    side), and the data it forwards onto a profiled side is wrapped as 4.2.7's Relay does it:
    template ids numbered 1, 2, ... per side (not the shape's hash), templates even on a
    canonical side with max_frame_bytes. Compared by kind, template id and chunk numbering: the
    nonces differ (4.2.7 takes nonces for due announcements inside log(), and the Relay's two
    sides announce in another order), so the bytes cannot be equal here."""
    ref, ours = _both()
    for (a, ea), (b, eb) in zip(ref["relay_overflow"], ours["relay_overflow"]):
        # dictionaries of 1-3 overflowing: the same kinds and template ids
        assert [_shape(x) for x in b] == [_shape(x) for x in a]
        assert eb == ea > 0
    for key in ref["relay"]:
        if not key.startswith("plain"):
            assert [_shape(x) for x in ours["relay"][key]] == \
                [_shape(x) for x in ref["relay"][key]], key
    assert ref["relay"]["ipv4_like/32"][0].startswith("53445403")
    assert ref["relay"]["canonical/255"][0].startswith("5344540101")  # id 1: LINK_CAPABILITIES
    assert any(x.startswith("5344540288") for x in ref["relay"]["canonical/255"])  # compact


def test_a_dictionary_of_no_templates_equals_the_reference():
    """max_side_transport_templates=0: the same frames and stats as 4.2.7's (on template
    profiles plain frames, chunked plain when too long; canonical/32 unchanged)."""
    ref, ours = _both()
    for key, a in ref["zero"].items():
        assert ours["zero"][key] == a, key
    assert not any(x.startswith("534454") for x in ref["zero"]["template/0"]["frames"])
    assert any(x.startswith("53445403") for x in ref["zero"]["ipv6_like/32"]["frames"])


def test_the_probe_still_finds_the_documented_rules():
    """tools/probe_sdt_eviction.py (a short run): 4.2.7 still behaves as docs/side-transport.md
    says (eviction of the smallest shape hash on Router, Relay and receiver; chunk ids)."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, toolchain.REPO + "/tools/probe_sdt_eviction.py",
                          "--cases", "16"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "documented rules: all hold" in out.stdout
