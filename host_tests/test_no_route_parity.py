"""When 4.2.7 raises Io("no discovered route") from log/transmit, and when ours raises IoError:
the same scenario (peers/noroute_scenario.py: 0-2 sides, with and without an announced peer,
plain/reliable/partly local/all local types, log now, log queued, transmit_message) in a
reference process and in ours, under each MicroPython runtime. Found: a reliable frame sent now
(not from the queue) raises when it has an endpoint not held here and no side leads to it
(also with no side at all; a Router with one side and nothing announced sends there); local
handlers have run by then; queued frames and unreliable types never raise."""
import json
import os
import subprocess

import toolchain

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")
SCRIPT = os.path.join(PEERS, "noroute_scenario.py")


def _lines(out):
    return [json.loads(x) for x in out.splitlines() if x.startswith("[")]


def _reference():
    env = dict(os.environ)
    env["PYTHONPATH"] = PEERS
    out = subprocess.run([toolchain.reference_python(), SCRIPT], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return _lines(out.stdout)


def test_no_discovered_route_as_the_reference(mp_runtime):
    ref = _reference()
    raised = [c for c in ref if c[4] == "no discovered route"]
    assert len(ref) == 90 and raised
    assert all(c[3] != "log_queue" for c in raised)
    assert all(c[2] not in (0x2A01, 0x2A04) for c in raised)  # plain / all-local types
    env = toolchain.mp_env()
    env["MICROPYPATH"] = os.pathsep.join([PEERS, env["MICROPYPATH"]])
    out = subprocess.run([toolchain.runtime_binary(mp_runtime), "-X", "heapsize=8M", SCRIPT],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert _lines(out.stdout) == ref
