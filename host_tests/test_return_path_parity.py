"""Where a Router or a Relay in the middle sends a holder's E2E ACK, against 4.2.7: the return
path it learned per packet (lib/sedsnet/return_path.py). The same script in two processes
(test_reliable_origin_parity.py's, with three more steps), a chain A - M - B with an unrelated
router X on M's third side: data frames are put in on one of M's sides, the holder's own
ACKs are dropped and crafted ones come in from B's side instead, so each ACK's fate is known.
Probed facts (4.2.7, Router and Relay alike): the ACK goes on the side the data frame came in
on, before discovery's route to the origin (which is used when no data frame was seen, or
when it came in on the ACK's own side); an ACK for a packet never seen from an origin nobody
announced is dropped; reliable user data only (not a plain type), at holders too; at most
reliable_max_return_routes (32) packets, the oldest learned forgotten first (an ACK does not
refresh one), kept however old (120 s)."""
import json

import toolchain
from peerproc import run_script
from test_reliable_origin_parity import SCRIPT as BASE

from sedsnet.ids import sender_hash, source_address, write_packet_id
from sedsnet.schema import type_record
from sedsnet.wire import REL_HAS_SEQ, REL_UNSEQUENCED, FrameHeader, pack_into

ANCHOR = '    elif op == "stats":'
SCRIPT = BASE.replace(
    's.register_data_type(4103, "RO_STAT", True, 3, 4, 0, [301], reliable=2)',
    's.register_data_type(4103, "RO_STAT", True, 3, 4, 0, [301], reliable=2)\n'
    's.register_data_type(4104, "RO_PLAIN", False, 0, 2, 0, [301])').replace(ANCHOR, '''\
    elif op == "routes":
        rel = nodes[step[1]][0].export_runtime_stats()["reliable"]
        stats.append([T[0], step[1], rel["reliable_return_route_count"]])
    elif op == "tune":
        s.set_runtime_tuning_config(**step[1])
    elif op == "replay":  # the last frame of type step[2] that node step[1] sent, into a side
        f = [x for x in log if x[1] == step[1] and s.peek_header_py(bytes.fromhex(x[3]))["ty"] == step[2]][-1]
        r, relay = nodes[step[3]]
        (r.rx_packed_from_side if relay else r.receive_packed_from_side)(step[4], bytes.fromhex(f[3]))
        r.process_all_queues()
        pump()
''' + ANCHOR)
assert SCRIPT.count('op == "routes"') == 1 and "RO_PLAIN" in SCRIPT

UNO, PLAIN = 4101, 4104
Q = source_address("Q-unknown")  # an origin nobody announced


def _chain(relay):
    return {"nodes": [["A", 1, [], False], ["M", 3, [], relay], ["B", 1, [301], False],
                      ["X", 1, [302], False]],
            "links": [["A", 0, "M", 0], ["M", 1, "B", 0], ["M", 2, "X", 0]]}


def _data(nonce, origin=Q, ty=UNO, rel=0x84):
    buf = bytearray(64)
    n = pack_into(buf, ty, origin, [301], 3000, nonce, bytes([nonce & 0xFF]), None, rel, 0)
    return bytes(buf[:n])


def _le64(v):
    return bytes((v >> (8 * i)) & 0xFF for i in range(8))


def _ack(frame, origin=Q, nonce=1):
    """B's E2E ACK of frame (4.2.7's layout: sender E2EACK:B, contract naming B then the
    origin, payload the packet ID)."""
    h = FrameHeader(max_endpoints=8)
    h.parse(frame)
    pid = bytearray(8)
    write_packet_id(h, frame, pid)
    contract = b"\x03\x44\x02\x02" + _le64(sender_hash("B")) + _le64(origin)
    rel = (REL_UNSEQUENCED | REL_HAS_SEQ) if type_record(1)[6] else -1
    buf = bytearray(96)
    n = pack_into(buf, 1, source_address("E2EACK:B"), None, 3000, 5000 + nonce, bytes(pid),
                  contract, rel)
    return bytes(buf[:n]).hex()


def _run(kind, relay, steps):
    plan = dict(_chain(relay), steps=steps, tuning=None, reliable=False)
    return run_script(SCRIPT, kind, toolchain.LIB, json.dumps(plan), timeout=120)


def _acks(res):
    """(t, side) of the E2E ACKs M sent."""
    h = FrameHeader(max_endpoints=8)
    out = []
    for t, node, side, f in res["frames"]:
        b = bytes.fromhex(f)
        h.parse(b)
        if node == "M" and h.ty == 1 and h.contract_start >= 0:
            out.append((t, side))
    return out


def _both(relay, steps):
    ref = _run("reference", relay, steps)
    ours = _run("ours", relay, steps)
    return ref, ours


def test_an_e2e_ack_goes_back_the_way_its_packet_came_as_4_2_7():
    a_addr = sender_hash("A")  # A is announced on M's side 0
    q1, q2, q3, q4 = _data(11), _data(12), _data(13), _data(14)
    fa2, fa_unseen, fa1 = _data(21, source_address("A")), _data(22, source_address("A")), \
        _data(23, source_address("A"))
    plain = _data(31, ty=PLAIN)
    many = [_data(100 + i) for i in range(40)]
    steps = [["drop", {"from": "B"}],  # (only the crafted ACKs below reach M)
             ["rx", "M", 0, q1.hex()], ["rx", "M", 1, _ack(q1)], ["run", 3100],
             ["rx", "M", 2, q2.hex()], ["rx", "M", 1, _ack(q2)], ["run", 3200],
             ["rx", "M", 1, _ack(q3)], ["run", 3300],  # never seen, origin unknown
             ["rx", "M", 2, fa2.hex()], ["rx", "M", 1, _ack(fa2, a_addr)], ["run", 3400],
             ["rx", "M", 1, _ack(fa_unseen, a_addr)], ["run", 3500],  # never seen: discovery
             ["rx", "M", 1, fa1.hex()], ["rx", "M", 1, _ack(fa1, a_addr)], ["run", 3600],
             ["rx", "M", 1, q4.hex()], ["rx", "M", 1, _ack(q4)], ["run", 3700],
             ["rx", "M", 2, plain.hex()], ["rx", "M", 1, _ack(plain)], ["run", 3800],
             ["routes", "M"], ["routes", "B"]]
    steps += [["rx", "M", 2, f.hex()] for f in many] + [["routes", "M"]]
    for k, i in enumerate((0, 7, 8, 39)):  # the first 8 were forgotten for the last 8
        steps += [["rx", "M", 1, _ack(many[i], nonce=i + 2)], ["run", 3900 + 100 * k]]
    for relay in (True, False):
        ref, ours = _both(relay, steps)
        assert _acks(ours) == _acks(ref), (relay, _acks(ours), _acks(ref))
        assert _acks(ref) == [(3000, 0), (3100, 2), (3300, 2), (3400, 0), (3500, 0),
                              (4000, 2), (4100, 2)], _acks(ref)
        # the 5 reliable packets M got (not the plain one), then the last 32 of 40; a
        # holder learns too (the 3 packets M passed on to B)
        assert ours["stats"] == ref["stats"] == [[3800, "M", 5], [3800, "B", 3],
                                                 [3800, "M", 32]], (ours["stats"], ref["stats"])
        assert ours["errors"] == ref["errors"] == []


def test_return_routes_are_forgotten_oldest_first_never_by_age_as_4_2_7():
    qs = [_data(40 + i) for i in range(6)]
    steps = [["drop", {"from": "B"}], ["tune", {"reliable_max_return_routes": 4}]]
    steps += [["rx", "M", 2, q.hex()] for q in qs[:4]]
    steps += [["rx", "M", 1, _ack(qs[0], nonce=1)], ["run", 3100],  # routed, not refreshed
              ["rx", "M", 2, qs[4].hex()],  # the 5th: the oldest (qs[0]) goes
              ["rx", "M", 1, _ack(qs[0], nonce=2)], ["run", 3200],
              ["rx", "M", 1, _ack(qs[1], nonce=3)], ["run", 123200], ["routes", "M"],
              ["rx", "M", 1, _ack(qs[4], nonce=4)], ["run", 123300],  # 120 s later: kept
              ["tune", {"reliable_max_return_routes": 32}]]
    for relay in (True, False):
        ref, ours = _both(relay, steps)
        assert _acks(ours) == _acks(ref), (relay, _acks(ours), _acks(ref))
        assert _acks(ref) == [(3000, 2), (3200, 2), (123200, 2)], _acks(ref)
        assert ours["stats"] == ref["stats"] == [[123200, "M", 4]]


def test_a_resend_that_comes_another_way_takes_the_acks_with_it_as_4_2_7():
    # A's own contract frame reaches B through M's side 0, B's ACK is lost, then (A's own
    # resends lost) the same frame comes in on M's side 2 (another path) 200 ms later: B's
    # second ACK goes back there. (4.2.7 passes a repeat on only 200 ms after the first)
    steps = [["drop", {"from": "B", "ack": "034402", "times": 1}],
             ["log", "A", [[UNO, ["01"]]]], ["run", 3150], ["drop", {"from": "A"}],
             ["run", 3200], ["replay", "A", UNO, "M", 2], ["run", 3300], ["routes", "M"]]
    for relay in (True, False):
        ref, ours = _both(relay, steps)
        assert _acks(ours) == _acks(ref) == [(3200, 2)], (relay, _acks(ours), _acks(ref))
        assert ours["got"]["B"] == ref["got"]["B"] == [[3000, UNO, "01"]]
        assert ours["stats"] == ref["stats"] == [[3300, "M", 1]]
