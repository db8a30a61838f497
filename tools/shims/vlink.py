# Host link behind the virtual board's UART shims: a loopback TCP connection to the virtual board
# process (tools/vboard.py), which bridges it to a pty other processes open. Non-blocking, with a
# small receive buffer so any() can report a byte count as machine.UART.any() does.
import os

try:
    import usocket as socket
except ImportError:
    import socket

_CHUNK = 512
_READINTO = not hasattr(socket.socket, "recv_into")  # MicroPython sockets are streams


def endpoint(name):
    """("host", port) from env VBOARD_<name> = "tcp:HOST:PORT", or None (an unconnected line)."""
    spec = os.getenv("VBOARD_" + name)
    if not spec:
        return None
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] != "tcp":
        raise ValueError("VBOARD_%s=%r: want tcp:HOST:PORT" % (name, spec))
    return parts[1], int(parts[2])


class SocketPort:
    """Byte stream over TCP loopback; with no endpoint, writes vanish and nothing arrives."""

    def __init__(self, name):
        self.name = name
        self._buf = bytearray()
        self._chunk = bytearray(_CHUNK)  # one receive buffer: a board's UART allocates nothing
        self._chunk_view = memoryview(self._chunk)
        self._sock = None
        self.tx_bytes = 0
        ep = endpoint(name)
        if ep is not None:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(socket.getaddrinfo(ep[0], ep[1])[0][-1])
            s.setblocking(False)
            self._sock = s

    def _fill(self):
        s = self._sock
        if s is None:
            return
        chunk = self._chunk
        for _ in range(16):
            try:
                n = s.readinto(chunk) if _READINTO else s.recv_into(chunk)
            except OSError:
                return
            if n is None:  # (MicroPython: nothing waiting on a non-blocking socket)
                return
            if not n:  # the board process closed the line
                self._sock = None
                return
            self._buf.extend(self._chunk_view[:n])
            if n < _CHUNK:
                return

    def any(self):
        self._fill()
        return len(self._buf)

    def readinto(self, buf, n=None):
        self._fill()
        k = len(self._buf)
        if n is None or n > len(buf):
            n = len(buf)
        if k > n:
            k = n
        if not k:
            return None
        buf[:k] = self._buf[:k]
        self._buf[:k] = b""
        return k

    def read(self, n=-1):
        self._fill()
        if not self._buf:
            return None
        if n is None or n < 0 or n > len(self._buf):
            n = len(self._buf)
        data = bytes(self._buf[:n])
        self._buf[:n] = b""
        return data

    def write(self, data):
        n = len(data)
        self.tx_bytes += n
        s = self._sock
        if s is None:
            return n
        view = memoryview(data)
        sent = 0
        while sent < n:
            try:
                k = s.send(view[sent:])
            except OSError:
                k = 0
            if k is None:
                k = 0
            sent += k
            if not k:
                import time
                time.sleep_ms(1) if hasattr(time, "sleep_ms") else time.sleep(0.001)
        return n

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
