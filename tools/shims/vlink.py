# Host link behind the virtual board's UART shims: a loopback TCP connection to the virtual board
# process (tools/vboard.py), which bridges it to a pty other processes open. Non-blocking, with a
# fixed receive ring so any() can report a byte count as machine.UART.any() does.
import os

try:
    import usocket as socket
except ImportError:
    import socket

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
    """Byte stream over TCP loopback; with no endpoint, writes vanish and nothing arrives.

    Received bytes wait in a fixed buffer of cap bytes, made once, as a board's UART receive
    ring (machine.UART's rxbuf, CircuitPython's receiver_buffer_size) is: reading allocates no
    buffer of its own in the board's heap. While it is full nothing more is read off the
    socket (the sender waits, as behind flow control)."""

    def __init__(self, name, cap=4096):
        self.name = name
        self._buf = bytearray(cap)
        self._view = memoryview(self._buf)
        self._head = 0  # the oldest waiting byte
        self._n = 0  # bytes waiting from _head on (wrapping at cap)
        self._sock = None
        self.tx_bytes = 0
        ep = endpoint(name)
        if ep is not None:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(socket.getaddrinfo(ep[0], ep[1])[0][-1])
            s.setblocking(False)
            self._sock = s

    def _fill(self):
        cap = len(self._buf)
        while self._sock is not None and self._n < cap:
            tail = (self._head + self._n) % cap
            end = cap if tail >= self._head else self._head  # the free run from tail
            s = self._sock
            try:
                n = s.readinto(self._view[tail:end]) if _READINTO \
                    else s.recv_into(self._view[tail:end])
            except OSError:
                return
            if n is None:  # (MicroPython: nothing waiting on a non-blocking socket)
                return
            if not n:  # the board process closed the line
                self._sock = None
                return
            self._n += n

    def _take_into(self, buf, k):
        # the first k waiting bytes into buf[:k], taken out of the ring
        cap = len(self._buf)
        first = min(k, cap - self._head)
        buf[:first] = self._view[self._head:self._head + first]
        if k > first:
            buf[first:k] = self._view[:k - first]
        self._head = (self._head + k) % cap
        self._n -= k

    def any(self):
        self._fill()
        return self._n

    def readinto(self, buf, n=None):
        self._fill()
        k = self._n
        if n is None or n > len(buf):
            n = len(buf)
        if k > n:
            k = n
        if not k:
            return None
        self._take_into(buf, k)
        return k

    def read(self, n=-1):
        self._fill()
        if not self._n:
            return None
        if n is None or n < 0 or n > self._n:
            n = self._n
        data = bytearray(n)
        self._take_into(data, n)
        return bytes(data)

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
