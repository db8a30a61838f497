# README's IRQ-safety list, call by call (issue 9, "Honesty of what is claimed"): every call it
# names IRQ-safe copies into the fixed ring without allocating. test_router.py proves it for a
# Router's receive_packed_queue_from_side and receive_packed_queue; this module adds the Relay's
# rx_packed_queue_from_side, the third call the README names, and checks that the list in the
# README is exactly the calls these heap_lock tests cover.
import sedsnet
from sedsnet.relay import Relay
from support import _HERE, Clock, micropython_only

EP = 590
TY = 5900


def setup():
    if sedsnet.data_type_exists(TY):
        return
    sedsnet.register_endpoint(EP, "IRQ_CLAIM_EP")
    sedsnet.register_data_type(TY, "IRQ_CLAIM", True, 1, 1, 0, [EP])


class _Tally:
    """A tx that allocates nothing: counts frames and their bytes."""

    def __init__(self):
        self.n = self.bytes = 0

    def __call__(self, frame):
        self.n += 1
        self.bytes += len(frame)


@micropython_only("heap_lock exists only under MicroPython")
def test_a_relays_queued_receive_is_irq_safe_and_a_full_ring_counts():
    import micropython
    setup()
    for ts in (0, 1767225600000):  # a small-int and a (32-bit) heap-int timestamp
        relay = Relay(hostname="R", now_ms=Clock(), discovery=False, starting_queue_size=512)
        a = _Tally()
        b = _Tally()
        relay.add_side_packed("A", a)
        relay.add_side_packed("B", b)
        frames = [sedsnet.make_packet(TY, "PEER", [EP], ts + i, bytes(1)).pack()
                  for i in range(40)]
        push = relay.rx_packed_queue_from_side
        micropython.heap_lock()
        try:
            for f in frames:
                push(0, f)  # more than the 512-byte ring holds: the newest are dropped
        finally:
            micropython.heap_unlock()
        dropped = relay.export_runtime_stats()["sides"][0]["drops"]["isr_full"]
        assert 0 < dropped < 40
        relay.process_all_queues()
        assert b.n == 40 - dropped and a.n == 0
        assert b.bytes == sum(len(f) for f in frames[:40 - dropped])


def test_the_readme_names_exactly_the_heap_locked_queue_calls():
    with open(_HERE + "/../../README.md") as f:
        text = f.read()
    start = text.index("* **IRQ safety**")
    para = text[start:text.index("\n*", start + 1)]
    safe = para[:para.index("are IRQ-safe")]
    for name in ("receive_packed_queue_from_side", "receive_packed_queue",
                 "rx_packed_queue_from_side"):
        assert "`" + name + "`" in safe, name
    assert "receive_packet_queue" not in safe  # the Packet variants pack first: not IRQ-safe
    for name in ("receive_packet_queue_from_side", "receive_packet_queue"):
        assert "`" + name + "`" in para[len(safe):], name
