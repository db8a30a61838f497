# Hop reliability when one end of a reliable side restarts (a board reboots: a new Router
# whose per-(side, type) sequence counters start at 1 again, the peer's unchanged): both ends
# must take up the ordered discovery streams again (lib/sedsnet/reliable.py on_control), so
# the restarted node learns its peer's endpoints and its telemetry keeps arriving. 4.2.7
# stalls here for good (tools/netsim's default scenario: the payload board's telemetry stopped
# after its reboot); host_tests/test_reliable_parity.py keeps the rest equal to 4.2.7.
import sedsnet
from sedsnet.router import Router
from support import Clock

EP = 127
EP2 = 128  # the restarted B's own endpoint (the old B had none)
TY = 3830  # IDs no other dual module uses (they share a process)


def setup():
    if sedsnet.data_type_exists(TY):
        return
    sedsnet.register_endpoint(EP, "RST_EP")
    sedsnet.register_endpoint(EP2, "RST_EP2")
    sedsnet.register_data_type(TY, "RST_PLAIN", False, 0, 2, 0, [EP])


class _Net:
    """A (the handler of EP) and B on one reliable side each, frames carried at once."""

    def __init__(self):
        setup()
        sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=200, reliable_max_retries=8,
                                          reliable_max_pending=32)
        self.clock = Clock(0)
        self.q = []
        self.got = []
        self.a = Router(hostname="rstA", now_ms=self.clock,
                        handlers=[(EP, self._handler, None)])
        self.sa = self.a.add_side_packed("r", self._to_b, reliable_enabled=True)
        self.boot_b()

    def _handler(self, pkt):
        self.got.append(self.clock.t)

    def _to_a(self, f):
        self.q.append((0, bytes(f)))

    def _to_b(self, f):
        self.q.append((1, bytes(f)))

    def boot_b(self, handlers=()):
        self.b = Router(hostname="rstB", now_ms=self.clock, handlers=handlers)
        self.sb = self.b.add_side_packed("r", self._to_a, reliable_enabled=True)

    def pump(self):
        while self.q:
            d, f = self.q.pop(0)
            if d == 0:
                self.a.receive_packed_from_side(self.sa, f)
            else:
                self.b.receive_packed_from_side(self.sb, f)

    def run(self, until, log_every=500):
        """B logs a packet for EP every log_every ms; returns how many it logged."""
        n = 0
        while self.clock.t < until:
            self.clock.t += 50
            if self.clock.t % log_every == 0:
                self.b.log_bytes(TY, b"\x01\x02")
                n += 1
            self.a.periodic(0)
            self.pump()
            self.b.periodic(0)
            self.pump()
        return n


def _reaches(router, ep):
    for r in router.export_topology()["routes"]:
        if ep in r["reachable_endpoint_ids"]:
            return True
    return False


def test_restarted_peer_keeps_its_telemetry_flowing():
    net = _Net()
    sent = net.run(10000)
    assert len(net.got) == sent and _reaches(net.b, EP)
    net.boot_b()  # the reboot: B's counters start again, A's do not
    del net.got[:]
    sent = net.run(40000)
    assert _reaches(net.b, EP)  # A's renumbered ADDRESS reached the new B
    assert net.got and net.got[-1] == 40000  # still arriving at the end
    assert len(net.got) >= sent - 4  # at most a second of no route while B learns A again


def test_restarted_peer_announcements_reach_the_old_peer():
    net = _Net()
    net.run(10000)
    net.boot_b([(EP2, net._handler, None)])
    t = 10000
    while not _reaches(net.a, EP2) and t < 30000:
        t += 250
        net.run(t)
    # A took the new B's ADDRESS at once (B's seq resumed from A's ACK), not only once B's
    # counter passed the old B's
    assert t <= 10500
