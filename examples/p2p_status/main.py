# P2P status server on a board (examples/p2p_status/README.md): a sedsnet Router on UART0
# that serves a line-based "status" protocol on P2P port 7 and pushes a file over a P2P
# stream on request. Copy it as the board's main.py, with the library in /lib.
#   request (datagram to port 7): "status\n"   -> reply datagram: "key=value\n" lines
#                                  "get NAME\n" -> a stream to the asker's port 8 carrying the
#                                                 file NAME in chunks, then closed
import micropython

micropython.alloc_emergency_exception_buf(100)

import gc  # noqa: E402
import time  # noqa: E402

import machine  # noqa: E402

import sedsnet  # noqa: E402
from sedsnet_node.mainloop import MainLoop  # noqa: E402
from sedsnet_node.uart_link import UartLink  # noqa: E402

HOSTNAME = "status-board"
STATUS_PORT = 7
FILE_PORT = 8
CHUNK = 128  # file bytes per stream frame (a frame must fit the link's MTU)

uart = machine.UART(0, 115200, rxbuf=2048)  # your board's UART and pins here
link = UartLink(uart, mtu=512)
router = sedsnet.Router(hostname=HOSTNAME, now_ms=time.ticks_ms)
side = router.add_side_packed("UART0", link.send)
loop = MainLoop(router, sleep_ms=time.sleep_ms)
loop.add_link(link, side)
started = time.ticks_ms()
pushes = []  # [stream id, open file, chunk not sent yet] of the files being pushed


def on_request(meta, payload):
    """Port 7: one command per line; the answer goes to the asker's source port."""
    asker, port = meta["source_hostname"], meta["source_port"]
    for line in bytes(payload).split(b"\n"):
        cmd = line.strip()
        if not cmd:
            continue
        if cmd == b"status":
            gc.collect()
            reply = "uptime_ms=%d\nheap_free=%d\nloops=%d\nerrors=%d\n" % (
                time.ticks_diff(time.ticks_ms(), started), gc.mem_free(), loop.loops,
                loop.errors)
        elif cmd[:4] == b"get ":
            name = str(cmd[4:], "utf-8")
            try:
                f = open(name, "rb")
            except OSError:
                reply = "error no file %s\n" % name
            else:
                sid = router.open_p2p_stream_to_hostname(asker, FILE_PORT, FILE_PORT)
                pushes.append([sid, f, None])
                reply = "ok stream %d\n" % sid
        else:
            reply = "error unknown command\n"
        router.send_p2p_to_hostname(asker, port, STATUS_PORT, reply.encode())


router.bind_p2p_port(STATUS_PORT, on_request)


def push_files():
    """One chunk per pass for each file being pushed; the stream sends them in order, each
    acknowledged (and resent) by the router. A full budget: the same chunk next pass."""
    for p in pushes[:]:
        chunk = p[2] if p[2] is not None else p[1].read(CHUNK)
        if not chunk:
            router.close_p2p_stream(p[0])
            p[1].close()
            pushes.remove(p)
            continue
        try:
            router.send_p2p_stream(p[0], chunk)
            p[2] = None
        except sedsnet.BudgetError:
            p[2] = chunk


try:
    while True:
        loop.step()
        push_files()
        time.sleep_ms(1)
except KeyboardInterrupt:
    print("p2p_status: stopped: " + loop.status_line())
