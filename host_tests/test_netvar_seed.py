"""The seed's network-variable example ("Network Variables and E2E Policy", copied below as
the seed prints it) runs in fresh processes on our sedsnet under CPython and both
MicroPython runtimes, and on the reference 4.2.7, with the same results. The seed leaves
`packet` and `on_flight_state_update` to the reader: the harness defines the callback first
and builds `packet` (an 8-byte FLIGHT_STATE: element type 0 is Float64, whatever the seed's
comment says) just before the set. With key id 7 registered both run through; without a key
both refuse the set (ours E2EError, 4.2.7 RuntimeError BadArg) and keep the value cached.
Live interop of the same configuration: test_netvar_push_interop.py."""
import os
import subprocess
import sys

import pytest
import toolchain

SEED_EXAMPLE = '''import sedsnet as seds
RADIO = 101
FLIGHT_STATE = 3100
seds.register_endpoint(RADIO, "RADIO")
seds.register_data_type(
FLIGHT_STATE,
"FLIGHT_STATE",
True,
1,
0, # UInt8
0, # Data
[RADIO],
priority=90,
e2e_encryption=2, # RequireOn
)
router = seds.Router(e2e_mode=1, e2e_key_id=7) # RequiredOnly
router.enable_network_variable(FLIGHT_STATE, True, True)
router.on_network_variable_update(FLIGHT_STATE, on_flight_state_update)
router.set_network_variable(packet)
cached = router.get_network_variable(FLIGHT_STATE, 1000)
router.process_all_queues()
'''

PRELUDE = '''updates = []


def on_flight_state_update(pkt):
    updates.append(pkt)


'''
KEY = {"ours": "import sedsnet\nsedsnet.register_e2e_key(7, bytes(range(32)))\n",
       "ref": "import ctypes\nimport sedsnet.sedsnet as native\n"
              "ctypes.CDLL(native.__file__).seds_crypto_register_software_key("
              "ctypes.c_uint32(7), bytes(range(32)), ctypes.c_size_t(32))\n"}
SET = "router.set_network_variable(packet)\n"
MAKE = ("packet = seds.make_packet(FLIGHT_STATE, 'FC', [RADIO], 5, "
        "b'\\x00\\x00\\x00\\x00\\x00\\x00\\xf0\\x3f')\n")
TRY_SET = "try:\n    " + SET + "except Exception as e:\n    print('refused', type(e).__name__, e)\n"
REPORT = ("print('cached', cached.timestamp_ms, bytes(cached.payload).hex(), cached.sender)\n"
          "print('updates', len(updates))\n")


def _script(who, key):
    assert SEED_EXAMPLE.count(SET) == 1
    body = SEED_EXAMPLE.replace(SET, MAKE + (SET if key else TRY_SET))
    return (KEY[who] if key else "") + PRELUDE + body + REPORT


def _run(argv, env, script, tmp_path):
    path = tmp_path / "seed_example.py"
    path.write_text(script)
    out = subprocess.run(argv + [str(path)], capture_output=True, text=True, timeout=60,
                         env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.splitlines()


def _ours_cpython(key, tmp_path):
    env = dict(os.environ, PYTHONPATH=toolchain.LIB)  # ours, ahead of the reference in .venv
    return _run([sys.executable], env, _script("ours", key), tmp_path)


def _reference(key, tmp_path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return _run([sys.executable], env, _script("ref", key), tmp_path)


CACHED = "cached 5 000000000000f03f FC"


@pytest.mark.parametrize("key", [True, False])
def test_seed_example_runs_the_same_on_ours_and_on_4_2_7(key, tmp_path):
    ours = _ours_cpython(key, tmp_path)
    ref = _reference(key, tmp_path)
    assert ours[-2:] == ref[-2:] == [CACHED, "updates 0"]  # the setter's callback never fires
    if key:
        assert len(ours) == len(ref) == 2
    else:
        assert ref[0] == "refused RuntimeError Telemetry error: BadArg"
        assert ours[0].startswith("refused E2EError no e2e key for key id 7")


def test_seed_example_runs_on_micropython(mp_runtime, tmp_path):
    env = dict(os.environ, MICROPYPATH=toolchain.LIB)
    out = _run([toolchain.runtime_binary(mp_runtime), "-X", "heapsize=1M"], env,
               _script("ours", True), tmp_path)
    assert out == [CACHED, "updates 0"]
