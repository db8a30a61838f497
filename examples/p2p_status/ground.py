"""Ground station for examples/p2p_status: a reference sedsnet 4.2.7 Router (CPython) on the
board's serial line that asks the board for its status by hostname, then has it push a file
over a P2P stream and saves it.

    python examples/p2p_status/ground.py --port /dev/ttyACM0 [--get log.txt --out got.txt]
        [--board status-board] [--seconds 20] [--json result.json]

The link framing is the firmware's (0x00 + COBS(frame) + 0x00; firmware/sedsnet_node/cobs.py).
"""
import argparse
import json
import os
import struct
import sys
import time
import zlib

import serial
import sedsnet  # the reference 4.2.7 (this process never imports the port's sedsnet)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "firmware"))
from sedsnet_node import cobs  # noqa: E402

STATUS_PORT = 7  # the board's
FILE_PORT = 8  # ours, for the board's file stream
REPLY_PORT = 7000  # ours, for the board's status replies


class Ground:
    def __init__(self, link):
        self.link = link
        self.t0 = time.monotonic()
        self.router = sedsnet.Router(hostname="ground", now_ms=self.now)
        self.side = self.router.add_side_packed("BOARD", self.tx)
        self.dec = cobs.CobsDecoder(4096)
        self.replies = []
        self.file = []  # the stream's events: (kind, sequence, bytes)

    def now(self):
        return int((time.monotonic() - self.t0) * 1000)

    def tx(self, frame):
        self.link.write(b"\x00" + cobs.encode(bytes(frame)) + b"\x00")

    def _frame(self, n):
        frame = bytes(self.dec.buf[:n])
        if n < 5 or zlib.crc32(frame[:-4]) != struct.unpack_from("<I", frame, n - 4)[0]:
            return  # line noise
        try:
            self.router.receive_packed_from_side(self.side, frame)
        except Exception as e:  # the reference raises RuntimeError for what it refuses
            print("ground: refused a frame: %s" % e)

    def poll(self, until):
        """Run the link and the router until until() is true (or 1 s passed)."""
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            data = self.link.read(4096)
            if data:
                self.dec.feed(data, len(data), self._frame)
            self.router.periodic(0)
            if until():
                return True
        return False

    def run(self, board, get, seconds):
        deadline = time.monotonic() + seconds
        while self.router.resolve_hostname(board) is None:  # the board's ADDRESS, by name
            if time.monotonic() > deadline:
                raise SystemExit("ground: %s never announced itself" % board)
            self.poll(lambda: self.router.resolve_hostname(board) is not None)
        print("ground: found %s at address %d" % (board, self.router.resolve_hostname(board)
                                                  ["address"]))
        self.router.bind_p2p_port(REPLY_PORT, lambda meta, p: self.replies.append(
            (meta, bytes(p))))
        self.router.bind_p2p_stream_port(FILE_PORT, lambda meta, p: self.file.append(
            (meta["kind"], meta["sequence"], bytes(p))))
        self.router.send_p2p_to_hostname(board, STATUS_PORT, REPLY_PORT, b"status\n")
        while not self.replies and time.monotonic() < deadline:
            self.poll(lambda: self.replies)
        status = {}
        for line in self.replies[0][1].decode().splitlines() if self.replies else ():
            k, _, v = line.partition("=")
            status[k] = int(v)
        print("ground: status of %s: %s" % (board, status))
        result = {"status": status, "file": None}
        if get:
            self.router.send_p2p_to_hostname(board, STATUS_PORT, REPLY_PORT,
                                             ("get %s\n" % get).encode())
            done = lambda: self.file and self.file[-1][0] in ("Closed", "Reset")  # noqa: E731
            while not done() and time.monotonic() < deadline:
                self.poll(done)
            data = b"".join(p for kind, _, p in self.file if kind == "Data")
            result["file"] = {"bytes": len(data), "chunks": len(self.file) - 2,
                              "kinds": sorted({k for k, _, _ in self.file}),
                              "in_order": [s for _, s, _ in self.file] == list(
                                  range(len(self.file))), "closed": bool(done())}
            result["data"] = data
            print("ground: %s: %d bytes in %d chunks%s" % (
                get, len(data), len(self.file) - 2, "" if done() else " (not closed)"))
        result["replies"] = [p.decode() for _, p in self.replies]
        return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", required=True, help="the board's serial port (or a pty)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--board", default="status-board", help="the board's hostname")
    ap.add_argument("--get", help="a file on the board to fetch over a stream")
    ap.add_argument("--out", help="where to save it (default: print its size only)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--json", help="write the result as JSON here")
    args = ap.parse_args(argv)
    link = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.01)
    result = Ground(link).run(args.board, args.get, args.seconds)
    data = result.pop("data", None)
    if args.out and data is not None:
        with open(args.out, "wb") as f:
            f.write(data)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)
    return 0 if result["status"] and (not args.get or (result["file"] or {}).get("closed")) \
        else 1


if __name__ == "__main__":
    sys.exit(main())
