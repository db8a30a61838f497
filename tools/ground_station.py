"""Ground station: read a board's UART link, decode its SEDSnet frames with the reference
`sedsnet==4.2.7` and print live values, then a summary.

    python tools/ground_station.py --port /dev/pts/7 --schema boards/rp2040/schema.json \
        [--seconds 10] [--decoder]

By default it is a reference Router node that announces GROUND_STATION on the link: a board
with more than one side sends its telemetry only where that endpoint is announced (as any 4.2.7
router does). --decoder only decodes frames one by one and announces nothing, so such a board
sends it nothing but its own discovery (the summary says so). --router is the default, kept.
The link framing is the firmware's (sedsnet_node/cobs.py: 0x00 + COBS(frame) + 0x00). A frame whose
trailing CRC-32 does not match is counted as a CRC failure; one that passes the CRC but that the
reference refuses is a decode error. Runs under CPython only (the reference is a CPython
extension); it imports sedsnet_node/cobs.py for the framing, never our `sedsnet`.
"""
import argparse
import json
import os
import signal
import struct
import sys
import time
import zlib

import serial
import sedsnet as ref  # the reference implementation (this process never imports ours)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "firmware"))
from sedsnet_node import cobs  # noqa: E402

_DATA_TYPES = ("Float64", "Float32", "UInt8", "UInt16", "UInt32", "UInt64", "UInt128", "Int8",
               "Int16", "Int32", "Int64", "Int128", "Bool", "String", "Binary", "NoData")
_CLASSES = ("Data", "Error", "Warning")


def _pick(names, entry, key, default):
    """The code of entry[key] in names, any case ("float32" as the board takes it)."""
    value = entry.get(key, default)
    for i, n in enumerate(names):
        if isinstance(value, str) and n.lower() == value.replace("_", "").lower():
            return i
    raise SystemExit("ground: schema type %r: %s %r; allowed: %s"
                     % (entry.get("name"), key, value, ", ".join(names)))


def register_schema(doc):
    """The board's schema document, registered in the reference with the same name-derived IDs
    as sedsnet_node.app.register_schema (4.2.7's JSON loader rejects "types" entries)."""
    for ep in doc.get("endpoints", ()):
        ref.register_endpoint(ref.endpoint_identity(ep["name"]), ep["name"],
                              ep.get("link_local_only", False), ep.get("description", ""))
    names = {}
    for t in doc.get("types", ()):
        ty = ref.data_type_identity(t["name"])
        count = t.get("count", 0)
        ref.register_data_type(ty, t["name"], count > 0, count,
                               _pick(_DATA_TYPES, t, "data_type", "Float32"),
                               _pick(_CLASSES, t, "class", "Data"),
                               [ref.endpoint_identity(n) for n in t["endpoints"]],
                               priority=t.get("priority", 0), description=t.get("description", ""),
                               reliable=t.get("reliable", 0),
                               e2e_encryption=t.get("e2e_encryption", 0))
        names[ty] = t["name"]
    return names


def command_frame(n):
    """A COMMAND packet for the board's FLIGHT_COMPUTER endpoint, packed by the reference and
    framed for the UART link (0x00 + COBS + 0x00)."""
    ty = ref.data_type_identity("COMMAND")
    ep = ref.endpoint_identity("FLIGHT_COMPUTER")
    pkt = ref.make_packet(ty, "ground", [ep], int(time.time() * 1000), bytes([1, n & 0xFF, 0, 0]))
    return b"\x00" + cobs.encode(pkt.pack()) + b"\x00"


class Station:
    def __init__(self, names, out=sys.stdout, every=1):
        self.names = names
        self.out = out
        self.every = every
        self.frames = 0
        self.crc_failures = 0
        self.decode_errors = 0
        self.bytes = 0
        self.by_type = {}
        self.by_sender = {}
        self.latest = {}
        self.first = None
        self.last = None
        self.dec = cobs.CobsDecoder(4096)
        self.router = None
        self.side = None
        self.delivered = 0
        self.sent_frames = 0

    def attach_router(self, link):
        """Become a reference Router node ("ground"): frames from the board go through
        receive_packed_from_side, the GROUND_STATION handler shows them, and whatever the router
        sends (discovery, ...) goes back to the board over the link."""
        def tx(frame):
            self.sent_frames += 1
            link.write(b"\x00" + cobs.encode(bytes(frame)) + b"\x00")

        def on_packet(pkt):
            self.delivered += 1
            self.show(pkt)

        gs = ref.endpoint_identity("GROUND_STATION")
        self.router = ref.Router(handlers=[(gs, on_packet, None)], hostname="ground")
        self.side = self.router.add_side_packed("BOARD", tx)

    def feed(self, data):
        self.dec.feed(data, len(data), self._frame)

    def _frame(self, n):
        frame = bytes(self.dec.buf[:n])
        now = time.monotonic()
        if n < 5 or zlib.crc32(frame[:-4]) != struct.unpack_from("<I", frame, n - 4)[0]:
            self.crc_failures += 1
            return
        self.bytes += n
        self.first = self.first or now
        self.last = now
        try:
            if self.router is not None:  # a reference Router node: it decodes and dispatches
                self.router.receive_packed_from_side(self.side, frame)
                self.router.process_all_queues()
                self.frames += 1
                return
            pkt = ref.unpack_packet_py(frame)
        except Exception as e:  # the reference's error family varies; count and show one line
            self.decode_errors += 1
            if self.decode_errors <= 3:
                print("ground: decode error: %s" % e, file=self.out, flush=True)
            return
        self.frames += 1
        self.show(pkt)

    def show(self, pkt):
        name = self.names.get(pkt.ty) or "type %d" % pkt.ty
        count = self.by_type.get(name, 0) + 1
        self.by_type[name] = count
        self.by_sender[pkt.sender] = self.by_sender.get(pkt.sender, 0) + 1
        try:
            values = list(pkt.data_as_f32()) if pkt.ty in self.names else None
        except Exception:
            values = None
        self.latest[name] = values
        if values is not None and count % self.every == 0:
            print("ground: %-8s from %-8s t=%7d ms  %s" % (
                name, pkt.sender, pkt.timestamp_ms, "  ".join("%10.5f" % v for v in values)),
                file=self.out, flush=True)

    def summary(self, seconds):
        rate = self.frames / seconds if seconds > 0 else 0.0
        return {"frames": self.frames, "delivered": self.delivered,
                "router_frames_sent": self.sent_frames, "crc_failures": self.crc_failures,
                "decode_errors": self.decode_errors, "bytes": self.bytes,
                "seconds": round(seconds, 2), "rate_fps": round(rate, 1), "by_type": self.by_type,
                "by_sender": self.by_sender,
                "truncated": self.dec.truncated, "oversize": self.dec.oversize,
                "latest": self.latest}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", required=True, help="serial device or pyserial URL of the link")
    ap.add_argument("--schema", required=True, help="the board's schema.json")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: Ctrl-C)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--every", type=int, default=1, help="print every Nth packet of each type")
    ap.add_argument("--summary-json", help="also write the summary here")
    ap.add_argument("--router", action="store_true",
                    help="run a reference Router node (handler on GROUND_STATION): the default")
    ap.add_argument("--decoder", action="store_true",
                    help="only decode frames one by one; announces nothing, so a board with "
                         "several sides sends no telemetry here")
    ap.add_argument("--command-every", type=float, default=0,
                    help="send a COMMAND packet (reference-packed) to the board every N s")
    args = ap.parse_args(argv)
    with open(args.schema) as f:
        names = register_schema(json.load(f))
    station = Station(names, every=args.every)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    link = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.1)
    if args.router and args.decoder:
        ap.error("--router and --decoder exclude each other")
    if not args.decoder:
        station.attach_router(link)
    print("ground: listening on %s (reference sedsnet %s)" % (
        args.port, "decoder" if args.decoder else "Router node"), flush=True)
    start = time.monotonic()
    next_cmd = start + args.command_every
    sent = 0
    try:
        while not stop and (not args.seconds or time.monotonic() - start < args.seconds):
            data = link.read(4096)
            if data:
                station.feed(data)
            if station.router is not None:
                station.router.periodic(0)
            if args.command_every and time.monotonic() >= next_cmd:
                next_cmd += args.command_every
                sent += 1
                link.write(command_frame(sent))
                print("ground: sent COMMAND #%d to FLIGHT_COMPUTER" % sent, flush=True)
    finally:
        link.close()
    s = station.summary(time.monotonic() - start)
    s["commands_sent"] = sent
    print("ground: summary: %d frames (%s), %d CRC failures, %d decode errors, %d bytes in %.1f s,"
          " %.1f frames/s" % (s["frames"], ", ".join("%s %d" % kv for kv in sorted(s["by_type"].items())),
                              s["crc_failures"], s["decode_errors"], s["bytes"], s["seconds"],
                              s["rate_fps"]), flush=True)
    if station.router is not None:
        print("ground: reference Router delivered %d packets to GROUND_STATION and sent %d frames "
              "to the board" % (s["delivered"], s["router_frames_sent"]), flush=True)
    elif not sum(n for name, n in s["by_type"].items() if name in names.values()):
        print("ground: no telemetry: --decoder announces no GROUND_STATION, and a board's router "
              "sends telemetry only to sides where that endpoint was announced (as 4.2.7 does); "
              "run without --decoder", flush=True)
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(s, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
