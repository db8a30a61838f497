"""`make demo`: a simulated network of boards and a reference ground station, on this machine.

    rocket board ("pico", rp2040)  --LoRa-->  gateway board (esp32)  --UART-->  ground station
    sensors: GPS, IMU                         routes, no sensors              reference 4.2.7

1. builds the rp2040 and esp32 images (mpy-cross for each board's -march, as for real boards);
2. starts two virtual boards (tools/vboard.py: the Unix-port micropython behind a pty that
   speaks the raw REPL, each in its own filesystem directory), their simulated RFM95 radios
   sharing one loopback "air";
3. deploys to each with the real mpremote (tools/deploy.py, the same path as `make deploy`;
   the esp32 gets boards/esp32/gateway.json as its config);
4. the ground station, a reference sedsnet 4.2.7 Router node on the gateway's UART1, announces
   GROUND_STATION; the gateway's router passes that on over LoRa, so the rocket sends its
   telemetry over the air, the gateway forwards it to the UART and the ground prints live
   values; every 3 s the ground sends a COMMAND to FLIGHT_COMPUTER, which only the rocket
   holds: the gateway forwards it over LoRa and the rocket's handler logs it;
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

sys.path.insert(0, os.path.join(REPO, "lib"))
from sedsnet import ids  # noqa: E402  (ours: hostnames -> header addresses; no reference here)

ROCKET = "rp2040"
ROCKET_HOSTNAME = "pico"  # boards/rp2040/config.json
GATEWAY = "esp32"
GATEWAY_CONFIG = os.path.join(REPO, "boards", GATEWAY, "gateway.json")
GROUND_UART = "UART1"  # the gateway config's UART side


class ConsoleTap:
    """Echo a board's console (status lines, handler logs, errors) while the demo runs."""

    def __init__(self, port, prefix, out):
        import threading

        import serial
        self.out = out
        self.prefix = prefix
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
                    print(self.prefix + text, file=self.out, flush=True)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self._serial.close()


def rocket_frames(by_sender):
    """Frames the ground got from the rocket. A 4.2.7 node names a sender two hops away by its
    header address, "@addr:<n>", whoever the gateway is (host_tests/test_router_interop.py)."""
    return (by_sender.get(ROCKET_HOSTNAME, 0)
            + by_sender.get("@addr:%d" % ids.source_address(ROCKET_HOSTNAME), 0))


def nrf24_config(path, dest):
    """A copy of the board config at path with its LoRa side swapped for an nRF24L01 on the
    same SPI bus and chip select (CE and IRQ on spare pins), written to dest."""
    with open(path) as f:
        cfg = json.load(f)
    for i, side in enumerate(cfg["sides"]):
        if side["type"] == "sx127x":
            cfg["sides"][i] = {"name": "NRF24", "type": "nrf24", "spi": side["spi"],
                               "cs": side["cs"], "ce": 20, "irq": 21, "channel": 76,
                               "data_rate": 250, "auto_ack": False}
    with open(dest, "w") as f:
        json.dump(cfg, f)
    return dest


def run(seconds=10.0, heap=vboard.DEFAULT_HEAP, every=4, keep=False, out=sys.stdout,
        radio="lora"):
    def say(msg):
        print("demo: " + msg, file=out, flush=True)

    for board in (ROCKET, GATEWAY):
        say("building %s" % board)
        build.build_mpy(board)
    root = tempfile.mkdtemp(prefix="demo-net-")
    summary_path = os.path.join(root, "ground-summary.json")
    air = vboard.free_udp_ports(2)
    ground = None
    boards, taps = [], []
    configs = [None, GATEWAY_CONFIG]
    if radio == "nrf24":  # the same network with an nRF24L01 link (32-byte chunks) for LoRa
        configs = [nrf24_config(os.path.join(REPO, "boards", ROCKET, "config.json"),
                                os.path.join(root, "rocket-nrf24.json")),
                   nrf24_config(GATEWAY_CONFIG, os.path.join(root, "gateway-nrf24.json"))]
    try:
        for name, board, config, ports in (("rocket", ROCKET, configs[0], air),
                                           ("gateway", GATEWAY, configs[1], air[::-1])):
            fs = os.path.join(root, name)
            os.mkdir(fs)
            say("starting the %s, a virtual %s board (filesystem %s, heap %s)"
                % (name, board, fs, heap))
            vb = vboard.Running(fs, board=board, heap=heap, air="udp:%d:%d" % tuple(ports))
            boards.append(vb)
            deploy.deploy(board, vb.console, config=config)
            taps.append(ConsoleTap(vb.console, "%-8s " % (name + ":"), out))
        schema = os.path.join(REPO, "boards", ROCKET, "schema.json")
        say("ground station on the gateway's %s for %.0f s (a reference sedsnet 4.2.7 Router node)"
            % (GROUND_UART, seconds))
        ground = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ground_station.py"),
             "--port", boards[1].uarts[GROUND_UART], "--schema", schema, "--seconds",
             str(seconds), "--every", str(every), "--command-every", "3", "--router",
             "--summary-json", summary_path], stdout=out if out is not sys.stdout else None)
        ground.wait(timeout=seconds + 30)
        with open(summary_path) as f:
            summary = json.load(f)
    finally:
        for tap in taps:
            tap.close()
        if ground is not None and ground.poll() is None:
            ground.terminate()
            ground.wait(5)
        for vb in boards:
            vb.close()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    commands = sum(1 for line in taps[0].lines if "FLIGHT_COMPUTER got" in line)
    for tap, name in zip(taps, ("rocket", "gateway")):
        status = [line for line in tap.lines if line.startswith("sedsnet: loops")]
        if status:
            say("%s's last status line: %s" % (name, status[-1]))
    summary["rocket_frames"] = rocket_frames(summary["by_sender"])
    say("summary: %d frames received (%s), %d of them from the rocket via the gateway "
        "(senders as the ground names them: %s), %d CRC failures, %d decode errors, "
        "%.1f frames/s over %.1f s; %d commands sent, %d reached the rocket" % (
            summary["frames"], ", ".join("%s %d" % kv for kv in sorted(summary["by_type"].items())),
            summary["rocket_frames"],
            ", ".join("%s %d" % kv for kv in sorted(summary["by_sender"].items())) or "none",
            summary["crc_failures"], summary["decode_errors"], summary["rate_fps"],
            summary["seconds"], summary.get("commands_sent", 0), commands))
    say("every process started by the demo has been stopped")
    summary["commands_delivered"] = commands
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--heap", default=vboard.DEFAULT_HEAP, help="each virtual board's heap (-X heapsize)")
    ap.add_argument("--every", type=int, default=4, help="print every Nth packet of a type")
    ap.add_argument("--radio", choices=("lora", "nrf24"), default="lora",
                    help="the rocket-gateway link: SX127x LoRa or nRF24L01")
    args = ap.parse_args(argv)
    summary = run(args.seconds, args.heap, args.every, radio=args.radio)
    ok = summary["rocket_frames"] > 0 and summary["crc_failures"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
