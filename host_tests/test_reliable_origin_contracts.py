"""Wire contracts on E2E-sealed reliable logs and on transmit_* frames, against 4.2.7 (the
test_reliable_origin_parity.py way: the same script in two processes, a Router A with two
holders B and C, one fake clock, C's E2E ACKs dropped by a rule).

What 4.2.7 does, and ours now too:
- a reliable type that is also E2E-sealed (RequireOn, key set) carries the cflags-07 contract
  (FLAGS `de`): the contract and the `84 00` reliable header sit in the header, before the
  sealed payload (so they are in its AAD); the holders ACK the packet ID of the opened
  (clear) frame; the origin resends the sealed frame toward the holders still missing;
- transmit_message, transmit_message_queue, transmit_packed_message and
  transmit_packed_message_queue of a reliable type go as a log of it would: the contract,
  tracked, resent toward the missing holder, ordered types stop-and-wait, and the same
  `reliable window full` error; sealed too when the type is E2E.
Compared: every user frame and E2E ACK sent (time, node, side, FLAGS, contract + reliable
header, payload or, for a sealed one, its wrapper fields; nonces, tags, ciphertext and CRCs
differ with the process's nonce counter), which data frame each ACK names, what each holder
delivered, the errors, the pending counts. Then live (netlab.py, each lab its own process):
a sealed reliable log from our origin under MicroPython to a 4.2.7 holder and from a 4.2.7
origin to our holder, the first ACK lost: the re-ACK of the resend completes it."""
import json

import toolchain
from peerproc import run_script

from sedsnet import ids
from sedsnet.kernels import crc32_write
from sedsnet.wire import FrameHeader

SCRIPT = r"""
import json, sys
OURS = sys.argv[1] == "ours"
if OURS:
    sys.path.insert(0, sys.argv[2])
import sedsnet as s
plan = json.loads(sys.argv[3])
if OURS:
    s.register_e2e_key(7, bytes(range(32)))
else:
    import ctypes
    import sedsnet.sedsnet as native
    assert ctypes.CDLL(native.__file__).seds_crypto_register_software_key(
        ctypes.c_uint32(7), bytes(range(32)), ctypes.c_size_t(32)) == 0
s.register_endpoint(311, "RC_H", False, "")
s.register_data_type(4110, "RC_ORD", False, 0, 2, 0, [311], reliable=1)
s.register_data_type(4111, "RC_UNO", False, 0, 2, 0, [311], reliable=2)
s.register_data_type(4112, "RC_SORD", False, 0, 2, 0, [311], reliable=1, e2e_encryption=2)
s.register_data_type(4113, "RC_SSTAT", True, 3, 4, 0, [311], reliable=2, e2e_encryption=2)
T = [0]
now = lambda: T[0]
nodes, q, log, got, errors, stats = {}, [], [], {}, [], []
for name, nsides, eps in (("A", 2, []), ("B", 1, [311]), ("C", 1, [311])):
    got[name] = []
    r = s.Router(now_ms=now, hostname=name, e2e_key_id=7, handlers=[
        (e, (lambda name: lambda p: got[name].append([T[0], p.ty, bytes(p.payload).hex()]))(name),
         None) for e in eps])
    for i in range(nsides):
        r.add_side_packed("s%d" % i, (lambda name, i: lambda f: q.append((name, i, bytes(f))))(name, i))
    nodes[name] = r
links = {("A", 0): ("B", 0), ("B", 0): ("A", 0), ("A", 1): ("C", 0), ("C", 0): ("A", 1)}
rule = [None]

def drop(name, f):
    r = rule[0]
    if r is None or s.peek_header_py(f)["ty"] != 1 or name not in r["from"]:
        return False
    if r["times"] is not None:
        if r["times"] <= 0:
            return False
        r["times"] -= 1
    return True

def pump():
    while q:
        name, i, f = q.pop(0)
        log.append([T[0], name, i, f.hex()])
        if drop(name, f):
            continue
        peer = links[(name, i)]
        try:
            nodes[peer[0]].receive_packed_from_side(peer[1], f)
            nodes[peer[0]].process_all_queues()
        except Exception as e:
            errors.append([T[0], peer[0], "rx", str(e)])

def run(to):
    while T[0] < to:
        T[0] += 50
        for name in nodes:
            try:
                nodes[name].periodic(0)
            except Exception as e:
                errors.append([T[0], name, "periodic", str(e)])
        pump()

run(3000)
del log[:]
A = nodes["A"]
for step in plan:
    op = step[0]
    if op == "drop":
        rule[0] = step[1]
    elif op == "run":
        run(step[1])
    elif op == "stats":
        rel = A.export_runtime_stats()["reliable"]
        stats.append([T[0], rel["end_to_end_pending_count"],
                      rel["end_to_end_pending_destination_count"]])
    else:  # op ty payload-hex: log, tm (transmit_message), tmq, tpm (packed), tpmq
        ty, pl = step[1], bytes.fromhex(step[2])
        try:
            if op == "log":
                A.log_bytes(ty, pl)
            else:
                p = s.make_packet(ty, "A", [311], T[0], pl)
                if op == "tm":
                    A.transmit_message(p)
                elif op == "tmq":
                    A.transmit_message_queue(p)
                elif op == "tpm":
                    A.transmit_packed_message(bytes(p.pack()))
                else:
                    A.transmit_packed_message_queue(bytes(p.pack()))
                A.process_all_queues()
        except Exception as e:
            errors.append([T[0], "A", op, str(e)])
        pump()
print(json.dumps({"frames": [f for f in log if s.peek_header_py(bytes.fromhex(f[3]))["ty"] in
                             (1, 4110, 4111, 4112, 4113)],
                  "got": got, "errors": errors, "stats": stats}))
"""

ACK_C = "c7279f673fec51f7"  # C's sender hash, first target of its E2E ACKs
_h = FrameHeader(max_endpoints=8)


def _uleb(b, p):
    v = s = 0
    while True:
        x = b[p]
        p += 1
        v |= (x & 0x7F) << s
        if x < 0x80:
            return v, p
        s += 7


def _clear_pid(b, plain):
    """The packet ID of a frame as a holder sees it: FLAGS without 0x10, the plaintext."""
    _h.parse(b)
    c = bytearray(b[:_h.payload_start]) + plain + b"\0\0\0\0"
    c[0] &= ~0x10 & 0xFF
    crc32_write(c, 0, len(c) - 4)
    _h.parse(c, len(c), True)
    pid = bytearray(8)
    ids.write_packet_id(_h, c, pid)
    return bytes(pid).hex()


def _norm(res, plains):
    """(t, node, side, ty, FLAGS, contract + reliable header, payload) per frame; a sealed
    payload as its wrapper's fields without the nonce counter, tag and ciphertext; an ACK's
    payload as the index of the data frame (by clear packet ID) it names."""
    frames, pids = [], []
    for t, node, side, f in res["frames"]:
        b = bytes.fromhex(f)
        _h.parse(b)
        cs = _h.contract_start
        head = b[cs - 1:_h.payload_start].hex() if cs >= 0 else ""
        ps, pe = _h.payload_start, _h.payload_end
        if _h.ty == 1:
            pay = pids.index(b[ps:pe].hex()) if b[ps:pe].hex() in pids else "?"
        elif _h.e2e:
            kid, p = _uleb(b, ps)
            plen, p = _uleb(b, p)
            assert b[p] == 12 and b[p + 13] == 16
            nonce = b[p + 1:p + 11].hex()  # u32le ty | timestamp (the u16 counter left out)
            pay = "sealed kid %d plen %d nonce %s" % (kid, plen, nonce)
            pid = _clear_pid(b, bytes.fromhex(plains[_h.ty]))
            pids.append(pid) if pid not in pids else None
        else:
            pay = b[ps:pe].hex()
            pid = bytearray(8)
            ids.write_packet_id(_h, b, pid)
            pids.append(pid.hex()) if pid.hex() not in pids else None
        frames.append((t, node, side, _h.ty, b[0], head, pay))
    frames.sort(key=lambda f: (f[0], f[1], f[2], f[3], repr(f[6])))  # (resends within one periodic(): 4.2.7's
    # order is its pending map's, not the log order)
    errors = [(t, n, w, "reliable window full" if "reliable window full" in m else m)
              for t, n, w, m in res["errors"]]
    return {"frames": frames, "got": res["got"], "errors": errors, "stats": res["stats"]}


def _both(plan, plains=None):
    out = []
    for kind in ("reference", "ours"):
        res = run_script(SCRIPT, kind, toolchain.LIB, json.dumps(plan), timeout=120)
        out.append(_norm(res, plains or {}))
    return out


def _sends(res, ty):
    return [(t, side) for t, n, side, fty, fl, head, pay in res["frames"] if n == "A" and fty == ty]


def test_sealed_reliable_logs_carry_the_contract_and_are_resent_as_4_2_7():
    plains = {4112: "0102", 4113: "00" * 12}
    plan = [["drop", {"from": "C", "times": 2}], ["log", 4112, plains[4112]],
            ["log", 4113, plains[4113]], ["stats"], ["run", 4000], ["stats"]]
    ref, ours = _both(plan, plains)
    assert ours == ref
    first = ref["frames"][0]
    assert first[3:5] == (4112, 0xDE)  # explicit endpoints, E2E, nonce, contract, reliable
    assert first[5].startswith("13070202") and first[5].endswith("8400")  # contract, `84 00`
    assert ACK_C in first[5] and first[6].startswith("sealed kid 7 plen 2")
    assert _sends(ref, 4112) == [(3000, 0), (3000, 1), (3200, 1)]  # toward C only
    assert _sends(ref, 4113) == [(3000, 0), (3000, 1), (3200, 1)]
    acks = [pay for t, n, s, ty, fl, head, pay in ref["frames"] if ty == 1]
    assert sorted(set(acks)) == [0, 1]  # the ACKs name the clear frames' packet IDs
    assert ref["got"]["B"] == ref["got"]["C"] == [[3000, 4112, "0102"], [3000, 4113, "00" * 12]]
    assert ref["stats"] == [[3000, 2, 2], [4000, 0, 0]]


def test_transmit_frames_of_reliable_types_go_as_logs_do():
    plains = {4113: "ab" * 12}
    plan = [["drop", {"from": "C", "times": 6}], ["tm", 4111, "05"], ["tm", 4110, "06"],
            ["tmq", 4111, "07"], ["tpm", 4111, "08"], ["tpmq", 4111, "09"],
            ["tm", 4113, plains[4113]], ["stats"], ["run", 4000], ["stats"]]
    ref, ours = _both(plan, plains)
    assert ours == ref
    for t, n, side, ty, fl, head, pay in ref["frames"]:
        if n == "A":
            assert head.startswith("1") and head.endswith("8400") and ACK_C in head
            assert fl == (0xDE if ty == 4113 else 0xCE)
    assert [s for t, s in _sends(ref, 4111)] == [0] * 4 + [1] * 8  # each resent to C
    assert _sends(ref, 4110) == _sends(ref, 4113) == [(3000, 0), (3000, 1), (3200, 1)]
    assert ref["stats"] == [[3000, 6, 6], [4000, 0, 0]]
    assert [p for t, ty, p in ref["got"]["C"]] == ["05", "06", "07", "08", "09", "ab" * 12]


def test_transmit_ordered_stop_and_wait_and_window_full_as_4_2_7():
    plan = [["drop", {"from": "BC", "times": None}]]  # no E2E ACK gets through
    plan += [["tm", 4110, "%02x" % i] for i in range(3)]
    plan += [["tpm", 4111, "%02x" % i] for i in range(30)] + [["stats"], ["run", 3300]]
    ref, ours = _both(plan)
    assert ours == ref
    assert ref["errors"] == [(3000, "A", "tpm", "reliable window full")]
    assert len(_sends(ref, 4110)) == 2 + 2 * 1  # the head only (and its resend to both)
    assert ref["stats"] == [[3000, 32, 64]]  # both holders missing from each


def _of(net, name, ty):
    """The frames of type ty that name sent across the network (net.trace)."""
    out = []
    for _t, n, _s, f in net.trace:
        b = bytes.fromhex(f)
        _h.parse(b)
        if n == name and _h.ty == ty:
            out.append(b)
    return out


LIVE_SCHEMA = [["register_endpoint", 311, "RC_H"],
               ["register_data_type", 4112, "RC_SORD", False, 0, 2, 0, [311], 1, 0, "", 2]]


def test_sealed_contract_frames_live_between_our_process_and_4_2_7_both_ways():
    # our origin in a MicroPython process to a 4.2.7 holder, and a 4.2.7 origin to our holder:
    # the holder's first E2E ACK lost, the resend re-ACKed, the origin done; delivered once
    import os
    import sys
    sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
    from linksim import Duplex
    from netlab import network
    with network(LIVE_SCHEMA) as net:
        for lab in net.labs.values():
            lab.call("e2e_key", key_id=7, key=bytes(range(32)).hex())
        for origin_lab, holder_lab in (("mp", "ref"), ("ref", "mp")):
            net.reset(1)
            net.node(origin_lab, "O", 1, kw={"e2e_key_id": 7})
            net.node(holder_lab, "H", 1, handlers=[311], kw={"e2e_key_id": 7})
            link = Duplex(seed=3)
            net.link("O", 0, "H", 0, sim=link)
            net.run(3000)
            del net.trace[:]
            link.b_to_a.loss = 1.0  # the holder's first ACK is lost
            net.log_bytes("O", 4112, b"\x01\x02")
            net.run(net.t + 50)
            link.b_to_a.loss = 0.0
            net.run(net.t + 1000)
            data = _of(net, "O", 4112)
            assert len(data) == 2 and data[0] == data[1], (origin_lab, len(data))
            _h.parse(data[0])
            assert data[0][0] == 0xDE and _h.contract_start >= 0 and _h.e2e
            pid = bytes.fromhex(_clear_pid(data[0], b"\x01\x02"))
            acks = _of(net, "H", 1)
            assert len(acks) == 2, (origin_lab, len(acks))
            for a in acks:
                _h.parse(a)
                assert a[_h.payload_start:_h.payload_end] == pid, origin_lab
            assert [g[2:] for g in net.got("H")] == [[4112, "0102"]]
            rel = net.call("O", "export_runtime_stats")["reliable"]
            assert rel["end_to_end_pending_count"] == 0, (origin_lab, rel)
