"""A reference sedsnet 4.2.7 node (Router or Relay) in its own CPython process, for the simulator.

    python tools/netsim/refnode.py '<json spec>'

spec: {"name", "kind": "router"|"relay", "hostname", "schema": path or null, "handlers":
[endpoint names], "sides": [side names], "command": {"every_s", "type", "endpoint"} or null},
and the scenario's features: "type_flags" {type: {"reliable", "e2e_encryption"}},
"reliable_sides" [side names], "e2e" {"key_id", "key": hex} (this node holds the key),
"timesync_source" (a Source whose network time is the host's UTC clock, priority 10),
"timesync_backup_priority" (an Auto time source with that priority: a failover's backup), "tuning"
(set_runtime_tuning_config keywords).
Each side's frames come and go as records on stdin/stdout (records.py): the simulator owns the
links and their faults. Events: {"ev": "up"}, {"ev": "rx", "ty", "sender", "ts", "data", "t"}
for each packet a handler got, {"ev": "cmd", "n", "ts", "data", "t"} for each command sent.
Commands: {"op": "topology"|"stats"|"time"|"leave"|"timesync_withdraw"|"e2e_key"|"stop"} ->
a reply ("e2e_key" with "key_id", "key": a key rotation; "timesync_withdraw": a failover); after "leave" (announce_leave())
the node goes quiet (no periodic(), frames in ignored) unless the command has "stay": true.
"""
import json
import os
import queue
import sys
import threading
import time

import sedsnet as ref  # the reference; this process never imports ours

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import records  # noqa: E402

OUT = sys.stdout.buffer
SOURCE_PRIORITY = 10  # the scenario's time source: better (lower) than any board's default 100
IN = sys.stdin.buffer


def _register(path, flags=None):
    """The schema file, with the scenario's per-type flags ({type: {"reliable": 1,
    "e2e_encryption": 2}}) merged in, registered by ground_station's public loader."""
    import ground_station  # its public schema loader (same IDs as the firmware)
    with open(path) as f:
        doc = json.load(f)
    for t in doc.get("types", ()):
        t.update((flags or {}).get(t.get("name"), {}))
    return ground_station.register_schema(doc)


def _e2e_key(key_id, key_hex):
    """A software key in the reference's keyring: its Python API has none, so the exported C
    call (shared/protocol/verified-4.2.7.md "Signatures")."""
    import ctypes

    import sedsnet.sedsnet as native
    key = bytes.fromhex(key_hex)
    rc = ctypes.CDLL(native.__file__).seds_crypto_register_software_key(
        ctypes.c_uint32(key_id), key, ctypes.c_size_t(len(key)))
    if rc != 0:
        raise RuntimeError("seds_crypto_register_software_key(%d) returned %d" % (key_id, rc))


def _set_wall_time(node):
    """A time source: the network time is the host's UTC clock (ms) from now on."""
    import datetime as dt
    n = dt.datetime.now(dt.timezone.utc)
    node.set_local_network_datetime_millis(n.year, n.month, n.day, n.hour, n.minute, n.second,
                                           n.microsecond // 1000)


def _monotonic_ms():
    return int(time.monotonic() * 1000)


class Node:
    def __init__(self, spec):
        self.spec = spec
        self.apps = None  # netvar_p2p.RefApps: holders' callbacks, P2P status queries
        self.names = _register(spec["schema"], spec.get("type_flags")) if spec.get("schema") else {}
        e2e = spec.get("e2e")
        if e2e:
            _e2e_key(e2e["key_id"], e2e["key"])
        if spec.get("tuning"):  # process-wide in 4.2.7 (this process is one node)
            ref.set_runtime_tuning_config(**spec["tuning"])
        self.by_name = {v: k for k, v in self.names.items()}
        self.inbox = queue.Queue()
        self.stop = False
        handlers = []
        for ep in spec.get("handlers", ()):
            handlers.append((ref.endpoint_identity(ep), self._on_packet, None))
        self.fake = [0] if spec.get("fake_clock") else None  # --fast: the host's clock (ms)
        # real time: a monotonic ms clock of ours. With 4.2.7's own clock (no now_ms) its
        # Relay dropped an origin's resends for ~11 s after the first copy (issue 18)
        kw = {"now_ms": (lambda: self.fake[0]) if self.fake else _monotonic_ms}
        if spec.get("kind") == "relay":
            self.node = ref.Relay(**kw)
            self.rx = self.node.rx_packed_from_side
        else:
            if spec.get("timesync_source"):
                kw["timesync_role"] = 1  # Source
                # (and the best priority: with 4.2.7's default of 100 every node ties, the
                # smaller address wins, and a board that promoted itself during an outage
                # took over the network's time: host_tests/test_timesync_election.py)
                kw["timesync_priority"] = SOURCE_PRIORITY
            elif "timesync_backup_priority" in spec:  # a failover's backup (netevents.py)
                kw["timesync_role"] = 2  # Auto
                kw["timesync_priority"] = spec["timesync_backup_priority"]
            if e2e:
                kw["e2e_key_id"] = e2e["key_id"]
            self.node = ref.Router(handlers=handlers, hostname=spec.get("hostname") or spec["name"],
                                   **kw)
            self.rx = self.node.receive_packed_from_side
            if spec.get("timesync_source"):
                _set_wall_time(self.node)
            if spec.get("netvar_watch") or spec.get("p2p_query"):  # netvar_p2p.py
                import netvar_p2p
                self.apps = netvar_p2p.RefApps(ref, self.node, spec, self.names,
                                               lambda ev: records.write_json(OUT, "E", ev),
                                               self.now_s)
        self.sides = []
        rel = spec.get("reliable_sides", ())
        for i, side in enumerate(spec.get("sides", ())):
            self.sides.append(self.node.add_side_packed(side, self._tx(i), side in rel))
        self.commands = 0
        self.left = False  # after a leave: no more periodic(), frames in are ignored

    def _tx(self, index):
        prefix = bytes([index])

        def tx(frame):
            records.write(OUT, "F", prefix + bytes(frame))
        return tx

    def now_s(self):
        return self.fake[0] / 1000.0 if self.fake else time.time()

    def _on_packet(self, pkt):
        records.write_json(OUT, "E", {"ev": "rx", "ty": self.names.get(pkt.ty, "type %d" % pkt.ty),
                                      "sender": pkt.sender, "ts": pkt.timestamp_ms,
                                      "data": bytes(pkt.payload).hex(), "t": self.now_s()})

    def _command(self):
        cmd = self.spec["command"]
        self.commands += 1
        ts = int(self.now_s() * 1000) & 0xFFFFFFFF
        data = bytes([1, self.commands & 0xFF, (self.commands >> 8) & 0xFF, 0])
        try:
            pkt = ref.make_packet(ref.data_type_identity(cmd["type"]), self.spec["hostname"],
                                  [ref.endpoint_identity(cmd["endpoint"])], ts, data)
            self.node.transmit_message(pkt)
        except Exception as e:  # 4.2.7: IoError("no discovered route") when the holder is
            # gone; the node goes on (an uncaught one ended the process: a broken pipe)
            records.write_json(OUT, "E", {"ev": "drop", "why": "command: " + str(e)[:70]})
            return
        records.write_json(OUT, "E", {"ev": "cmd", "n": self.commands, "ts": ts, "data": data.hex(),
                                      "t": self.now_s()})

    def _op(self, msg):
        op = msg.get("op")
        if op == "topology":
            return self.node.export_topology()
        if op == "time":  # the network time and the host's clock (--fast: the simulated one)
            return {"net_ms": self.node.network_time_ms() if hasattr(self.node, "network_time_ms")
                    else None, "wall_ms": self.fake[0] if self.fake else time.time() * 1000.0}
        if op == "stats":
            return json.loads(json.dumps(self.node.export_runtime_stats(), default=str))
        if op == "leave":
            self.node.announce_leave()
            # 4.2.7 puts a node that keeps running periodic() back into its peers' topology at
            # its next announcement (at once): a node that leaves goes quiet unless "stay"
            self.left = not msg.get("stay")
            return {"ok": True, "silent": self.left}
        if op == "timesync_withdraw":  # the source's clock is gone: a consumer from now on
            self.node.configure_timesync(True, 0)  # (4.2.7 drops its network time too)
            return {"ok": True, "net_ms": self.node.network_time_ms()}
        if op == "e2e_key":  # a key rotation: the key id's key replaced in this keyring
            _e2e_key(msg["key_id"], msg["key"])
            return {"ok": True}
        if op == "stop":
            self.stop = True
            return {"ok": True}
        return {"error": "unknown op %r" % op}

    def run_fake(self):
        """--fast: no thread, no wall clock. {"op": "advance", "t": ms} sets the clock, runs
        periodic() and the command timer, then replies; frames are handled as they come."""
        records.write_json(OUT, "E", {"ev": "up"})
        cmd = self.spec.get("command")
        next_cmd = cmd["every_s"] * 1000 if cmd else None
        while not self.stop:
            rec = records.read(IN)
            if rec is None:
                return
            kind, body = rec
            if kind == "F":
                if not self.left and body and body[0] < len(self.sides):
                    try:
                        self.rx(self.sides[body[0]], body[1:])
                    except Exception as e:
                        records.write_json(OUT, "E", {"ev": "drop", "why": str(e)[:80],
                                                      "side": body[0], "frame": body[1:].hex()})
                continue
            msg = json.loads(body)
            if msg.get("op") == "advance":
                self.fake[0] = msg["t"]
                if not self.left:
                    try:
                        self.node.periodic(0)
                    except Exception as e:
                        records.write_json(OUT, "E", {"ev": "drop", "why": str(e)[:80]})
                    if self.apps is not None:
                        self.apps.tick()
                    while next_cmd is not None and self.fake[0] >= next_cmd:  # (a flood:
                        next_cmd += cmd["every_s"] * 1000  # several per window)
                        self._command()
                reply = {"t": self.fake[0]}
            else:
                try:
                    reply = self._op(msg)
                except Exception as e:
                    reply = {"error": "%s: %s" % (type(e).__name__, e)}
            records.write_json(OUT, "R", reply)

    def _reader(self):
        while True:
            rec = records.read(IN)
            self.inbox.put(rec)
            if rec is None:
                return

    def run(self):
        threading.Thread(target=self._reader, daemon=True).start()
        records.write_json(OUT, "E", {"ev": "up"})
        cmd = self.spec.get("command")
        next_cmd = time.monotonic() + cmd["every_s"] if cmd else None
        while not self.stop:
            try:
                rec = self.inbox.get(timeout=0.002)
            except queue.Empty:
                rec = ()
            while rec != ():
                if rec is None:
                    return
                kind, body = rec
                if kind == "F" and self.left:
                    pass
                elif kind == "F" and body and body[0] < len(self.sides):
                    try:
                        self.rx(self.sides[body[0]], body[1:])
                    except Exception as e:  # the reference's error family varies: count it
                        records.write_json(OUT, "E", {"ev": "drop", "why": str(e)[:80],
                                                      "side": body[0], "frame": body[1:].hex()})
                elif kind == "C":
                    try:
                        reply = self._op(json.loads(body))
                    except Exception as e:
                        reply = {"error": "%s: %s" % (type(e).__name__, e)}
                    records.write_json(OUT, "R", reply)
                try:
                    rec = self.inbox.get_nowait()
                except queue.Empty:
                    rec = ()
            if self.left:
                continue
            try:
                self.node.periodic(0)
            except Exception as e:
                records.write_json(OUT, "E", {"ev": "drop", "why": str(e)[:80]})
            if self.apps is not None:
                self.apps.tick()
            while next_cmd is not None and time.monotonic() >= next_cmd:
                next_cmd += cmd["every_s"]
                self._command()


if __name__ == "__main__":
    node = Node(json.loads(sys.argv[1]))
    node.run_fake() if node.fake else node.run()
