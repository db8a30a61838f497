"""`make demo`: a virtual Raspberry Pi Pico streams telemetry to a reference ground station.

1. builds the rp2040 image (mpy-cross -march=armv6m, as for a real Pico);
2. starts a virtual rp2040 board (tools/vboard.py: the Unix-port micropython behind a pty that
   speaks the raw REPL, in its own filesystem directory);
3. deploys to it with the real mpremote (tools/deploy.py, the same path as `make deploy`);
4. the board boots main.py and streams simulated GPS/IMU telemetry over its UART0 (COBS frames);
   a ground station process, a reference sedsnet 4.2.7 Router node, receives them and prints live
   values (and sends a COMMAND packet back every 3 s, which the board's handler logs);
5. after about 10 seconds it stops every process it started and prints a summary.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import build  # noqa: E402
import deploy  # noqa: E402
import vboard  # noqa: E402


class ConsoleTap:
    """Echo the board's console (status lines, errors) while the demo runs, prefixed "board:"."""

    def __init__(self, port, out):
        import threading

        import serial
        self.out = out
        self.lines = []
        self._stop = False
        self._serial = serial.Serial(port, timeout=0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        buf = b""
        while not self._stop:
            try:
                buf += self._serial.read(1024)
            except Exception:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self.lines.append(text)
                    print("board:  " + text, file=self.out, flush=True)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self._serial.close()


def run(board="rp2040", seconds=10.0, heap="256k", every=4, keep=False, out=sys.stdout):
    def say(msg):
        print("demo: " + msg, file=out, flush=True)

    say("building %s" % board)
    build.build_mpy(board)
    root = tempfile.mkdtemp(prefix="demo-%s-" % board)
    ground = None
    tap = None
    summary_path = os.path.join(root + "-summary.json")
    vb = None
    try:
        say("starting a virtual %s board (filesystem %s, heap %s)" % (board, root, heap))
        vb = vboard.Running(root, board=board, heap=heap)
        say("board console %s, UART0 %s" % (vb.console, vb.uarts["UART0"]))
        deploy.deploy(board, vb.console)
        tap = ConsoleTap(vb.console, out)
        schema = os.path.join(REPO, "boards", board, "schema.json")
        say("ground station on UART0 for %.0f s (a reference sedsnet 4.2.7 Router node)" % seconds)
        ground = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ground_station.py"), "--port", vb.uarts["UART0"],
             "--schema", schema, "--seconds", str(seconds), "--every", str(every),
             "--command-every", "3", "--router",
             "--summary-json", summary_path], stdout=out if out is not sys.stdout else None)
        ground.wait(timeout=seconds + 30)
        with open(summary_path) as f:
            summary = json.load(f)
    finally:
        if tap is not None:
            tap.close()
        if ground is not None and ground.poll() is None:
            ground.terminate()
            ground.wait(5)
        if vb is not None:
            vb.close()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(summary_path):
            os.remove(summary_path)
    status = [line for line in tap.lines if line.startswith("sedsnet: loops")]
    if status:
        say("board's last status line: " + status[-1])
    say("summary: %d frames received (%s), %d CRC failures, %d decode errors, %.1f frames/s "
        "over %.1f s; %d commands sent to the board" % (summary["frames"], ", ".join(
            "%s %d" % kv for kv in sorted(summary["by_type"].items())), summary["crc_failures"],
            summary["decode_errors"], summary["rate_fps"], summary["seconds"],
            summary.get("commands_sent", 0)))
    say("every process started by the demo has been stopped")
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="rp2040")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--heap", default="256k", help="the virtual board's heap (-X heapsize)")
    ap.add_argument("--every", type=int, default=4, help="print every Nth packet of a type")
    args = ap.parse_args(argv)
    summary = run(args.board, args.seconds, args.heap, args.every)
    return 0 if summary["frames"] > 0 and summary["crc_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
