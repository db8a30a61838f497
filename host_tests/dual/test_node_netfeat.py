# The "network_variables" and "p2p" sections of a board config (sedsnet_node/netfeat.py): each
# mistake is a ConfigError naming the file, the field and the allowed values; an owned variable
# is set (and pushed to a holder) when its value changes, a watched one is logged, the "status"
# service answers on its P2P port; a config without the sections imports neither feature.
import json
import sys

import sedsnet
from sedsnet_node import app
from sedsnet_node.config import ConfigError
from support import Clock, raises

_TAG = "%s-%d" % (sys.implementation.name, sys.maxsize > (1 << 32))  # two runtimes at once
SCHEMA = {"endpoints": [{"name": "CFGN_GROUND"}],
          "types": [{"name": "CFGN_STATE", "data_type": "UInt8", "count": 1,
                     "endpoints": ["CFGN_GROUND"]},
                    {"name": "CFGN_GPS", "data_type": "Float32", "count": 3,
                     "endpoints": ["CFGN_GROUND"]}]}
MODS = ("sedsnet.netvar", "sedsnet.netvar_push", "sedsnet.p2p", "sedsnet.p2p_stream",
        "sedsnet_node.netfeat")


def _write(name, text):
    path = "/tmp/sedsnet-netfeat-%s-%s" % (_TAG, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _config(name, **extra):
    _write("schema.json", json.dumps(SCHEMA))
    cfg = {"hostname": name, "sides": [], "schema": "sedsnet-netfeat-%s-schema.json" % _TAG}
    cfg.update(extra)
    return _write(name + ".json", json.dumps(cfg))


def _cleanup():
    for t in ("CFGN_STATE", "CFGN_GPS"):
        try:
            sedsnet.remove_data_type_by_name(t)
        except Exception:
            pass
    try:
        sedsnet.remove_endpoint_by_name("CFGN_GROUND")
    except Exception:
        pass


def _error(**extra):
    path = _config("cfgbad", **extra)
    try:
        return path, str(raises(ConfigError, app.boot, None, path, lambda *a: None))
    finally:
        _cleanup()


def test_bad_sections_name_file_field_and_allowed():
    cases = [
        ({"network_variables": []}, "network_variables: must be an object", None),
        ({"network_variables": {"owns": []}}, "network_variables.owns: unknown key", "own, watch"),
        ({"network_variables": {"own": [{"kind": "sim_flight_state"}]}},
         "network_variables.own[0].type: missing", None),
        ({"network_variables": {"own": [{"type": "CFGN_STATE", "kind": "dice"}]}},
         "network_variables.own[0].kind: unknown kind 'dice'", "sim_flight_state, module.factory"),
        ({"network_variables": {"own": [{"type": "CFGN_STATE", "period_ms": 0}]}},
         "network_variables.own[0].period_ms: must be an int >= 1", None),
        ({"network_variables": {"own": [{"type": "CFGN_STATE", "every": 1}]}},
         "network_variables.own[0].every: unknown key", "type, kind, period_ms, phase_ms"),
        ({"network_variables": {"watch": "CFGN_STATE"}},
         "network_variables.watch: must be a list of type names", None),
        ({"network_variables": {"watch": ["CFGN_STAT"]}},
         "network_variables.watch[0]: unknown data type 'CFGN_STAT'", "CFGN_STATE, CFGN_GPS"),
        ({"network_variables": {"own": [{"type": "CFGN_STAT"}]}},
         "network_variables.own[0].type: unknown data type 'CFGN_STAT'", "CFGN_STATE, CFGN_GPS"),
        ({"p2p": 7}, "p2p: must be an object", None),
        ({"p2p": {"port": 7}}, "p2p.port: unknown key", "status_port"),
        ({"p2p": {"status_port": 0}}, "p2p.status_port: must be a port 1..65535", None),
        ({"p2p": {"status_port": True}}, "p2p.status_port: must be a port 1..65535", None),
    ]
    for extra, want, allowed in cases:
        path, msg = _error(**extra)
        assert msg.startswith(path + ": " + want), (extra, msg)
        if allowed is not None:
            assert msg.endswith("allowed: " + allowed), (extra, msg)


def _pair(clock, rocket_logs, holder_logs):
    rocket = app.boot(None, _config("cfgrocket", network_variables={
        "own": [{"type": "CFGN_STATE", "kind": "sim_flight_state", "period_ms": 100,
                 "phase_ms": 1000}]}, p2p={"status_port": 7}), rocket_logs.append, clock=clock)
    holder = app.boot(None, _config("cfgholder", network_variables={"watch": ["CFGN_STATE"]}),
                      holder_logs.append, clock=clock)
    ra, ha = rocket.router, holder.router
    wire = []  # (router, side, frame): delivered by _run
    sides = {}

    def tx(dst, name):
        return lambda f: wire.append((dst, name, bytes(f)))
    sides["r"] = ra.add_side_packed("H", tx(ha, "h"))
    sides["h"] = ha.add_side_packed("R", tx(ra, "r"))

    def run(ms):
        for _ in range(ms // 10):
            clock.t += 10
            rocket.step()
            holder.step()
            while wire:
                dst, name, f = wire.pop(0)
                dst.receive_packed_from_side(sides[name], f)
    return rocket, holder, run


def test_owned_variable_is_pushed_to_a_watching_holder_and_status_answers():
    clock = Clock(5000)
    rlog, hlog = [], []
    try:
        rocket, holder, run = _pair(clock, rlog, hlog)
        run(3500)  # discovery, then phases 0..3 (one every 1000 ms)
        ty = sedsnet.data_type_info_by_name("CFGN_STATE")["id"]
        sets = [x for x in rlog if x.startswith("sedsnet: netvar set ")]
        assert sets[:4] == ["sedsnet: netvar set CFGN_STATE=%d" % i for i in range(4)], rlog
        seen = [x for x in hlog if x.startswith("sedsnet: netvar CFGN_STATE=")]
        assert seen and seen[-1] == "sedsnet: netvar CFGN_STATE=3 from cfgrocket", hlog
        assert bytes(holder.router.get_network_variable(ty).payload) == b"\x03"
        assert bytes(rocket.router.cached_network_variable(ty).payload) == b"\x03"
        got = []
        holder.router.bind_p2p_port(9000, lambda meta, p: got.append((meta, bytes(p))))
        holder.router.send_p2p_to_hostname("cfgrocket", 7, 9000, b"status q1\nbogus\n")
        run(200)
        assert len(got) == 2, got
        lines = got[0][1].decode().splitlines()
        assert lines[0] == "tag=q1" and lines[1].startswith("uptime_ms="), lines
        assert [x.split("=")[0] for x in lines] == ["tag", "uptime_ms", "heap_free", "loops",
                                                    "errors"], lines
        assert got[0][0]["source_hostname"] == "cfgrocket" and got[0][0]["source_port"] == 7
        assert got[1][1] == b"error unknown command\n"
        assert rocket.errors == 0 and holder.errors == 0, (rlog, hlog)
    finally:
        _cleanup()


def test_a_board_without_the_sections_imports_neither_feature():
    saved = {}
    for full in MODS:
        if full in sys.modules:
            saved[full] = sys.modules.pop(full)
    for short in ("netvar", "netvar_push", "p2p", "p2p_stream"):
        if short in sedsnet.__dict__:
            saved[short] = sedsnet.__dict__.pop(short)
    clock = Clock(1000)
    try:
        loop = app.boot(None, _config("cfgplain", sensors=[
            {"name": "gps", "type": "CFGN_GPS", "kind": "sim_gps", "period_ms": 100}]),
            lambda *a: None, clock=clock)
        out = []
        loop.router.add_side_packed("X", out.append)
        for _ in range(30):
            clock.t += 10
            loop.step()
        assert loop.sensors[0].samples >= 3 and out, loop.status()
        for full in MODS:
            assert full not in sys.modules, full
    finally:
        _cleanup()
        for k, v in saved.items():
            if "." in k:
                sys.modules[k] = v
            else:
                setattr(sedsnet, k, v)


class _Router:
    """send_p2p_to_hostname refuses (BadArg) until `known` holds the hostname."""

    def __init__(self):
        self.known = set()
        self.sent = []

    def send_p2p_to_hostname(self, host, port, src_port, payload):
        from sedsnet.errors import ArgumentError
        if host not in self.known:
            raise ArgumentError("BadArg: unknown hostname %r" % host)
        self.sent.append((host, port, src_port, bytes(payload)))


class _Loop:
    loops = 12
    errors = 0


def test_a_status_reply_waits_until_the_askers_hostname_is_heard():
    from sedsnet_node.netfeat import StatusServer
    clock = Clock(100)
    r = _Router()
    srv = StatusServer(r, _Loop(), 7, clock)
    meta = {"source_hostname": "gs", "source_port": 9000, "source_address": 5,
            "destination_port": 7}
    srv.on_request(meta, b"status a\n")
    assert r.sent == [] and len(srv.pending) == 1
    clock.t += 250
    srv.emit(r)  # still unknown: keeps waiting
    assert r.sent == [] and len(srv.pending) == 1
    r.known.add("gs")
    clock.t += 250
    srv.emit(r)
    assert len(r.sent) == 1 and srv.pending == [] and srv.answered == 1
    host, port, src, text = r.sent[0]
    assert (host, port, src) == ("gs", 9000, 7) and text.startswith(b"tag=a\nuptime_ms=0\n")  # (at the request)
    assert b"\nloops=12\nerrors=0\n" in text
    # at most 4 wait, each at most 5 s; the rest are counted unanswered
    r.known.clear()
    for i in range(6):
        srv.on_request(meta, b"status %d\n" % i)
    assert len(srv.pending) == 4 and srv.unanswered == 2
    assert [p[2].split(b"\n")[0] for p in srv.pending] == [b"tag=2", b"tag=3", b"tag=4", b"tag=5"]
    clock.t += 5001
    srv.emit(r)
    assert srv.pending == [] and srv.unanswered == 6 and len(r.sent) == 1
