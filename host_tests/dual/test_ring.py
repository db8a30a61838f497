# The router's building blocks: the frame ring (FIFO, priority order, wrap-around, eviction,
# growth inside the budget), the IRQ-side receive ring, the recent packet-ID cache and the
# route-rule picker, checked against simple list models with a seeded pseudo-random workload.
from sedsnet import _pure
from sedsnet.isr import DEAD, IHDR, IsrRing
from sedsnet.recent import RecentIds
from sedsnet.ring import HDR, FrameRing, QueueBudget
from sedsnet.routes import FAILOVER, FANOUT, LOCAL, WEIGHTED, Routes
from sedsnet.stats import route_lists


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def frame(i, n):
    return bytes((i + k) & 0xFF for k in range(n))


def pop_first(ring):
    p = ring.first()
    if p < 0:
        return None
    n = ring.frame_len(p)
    out = bytes(ring.buf[p + HDR:p + HDR + n])
    ring.take(p)
    return out


def test_ring_is_fifo_across_wraparound():
    ring = FrameRing(100, QueueBudget(1000))
    model = []
    rnd = Lcg(7)
    evicted = 0
    for i in range(3000):
        if rnd.next(3):
            f = frame(i, 1 + rnd.next(40))
            assert ring.push(f, len(f), 3)
            model.append(f)
            while ring.evicted > evicted:  # full: the oldest records made room
                model.pop(0)
                evicted += 1
        else:
            got = pop_first(ring)
            assert got == (model.pop(0) if model else None)
        assert ring.live == len(model)
        assert ring.bytes == sum(len(f) for f in model)
    assert 100 < ring.evicted < 2000


def test_full_ring_evicts_oldest_and_counts():
    ring = FrameRing(64, QueueBudget(64))
    for i in range(10):
        assert ring.push(frame(i, 12), 12, 0)
    assert ring.evicted == 6 and ring.live == 4  # 4 records of 16 bytes fit
    assert pop_first(ring) == frame(6, 12)
    assert not ring.push(frame(0, 61), 61, 0)  # can never fit: refused, nothing lost
    assert ring.live == 3


def test_best_takes_highest_priority_then_oldest():
    ring = FrameRing(512, QueueBudget(512))
    prios = [10, 80, 10, 250, 80, 0]
    for i, pr in enumerate(prios):
        ring.push(bytes([i]), 1, 0xFE, pr)
    order = []
    while True:
        p = ring.best()
        if p < 0:
            break
        order.append(ring.buf[p + HDR])
        ring.take(p)
    assert order == [3, 1, 4, 0, 2, 5]
    assert ring.live == 0 and ring.records == 0


def test_priority_takes_from_the_middle_then_space_returns():
    ring = FrameRing(60, QueueBudget(60))
    for i, pr in enumerate([1, 9, 1]):
        ring.push(frame(i, 10), 10, 0, pr)
    p = ring.best()
    ring.take(p)  # the middle record
    assert pop_first(ring) == frame(0, 10)
    assert pop_first(ring) == frame(2, 10)
    for i in range(4):  # the whole ring is free again
        assert ring.push(frame(i, 11), 11, 0)
    assert ring.evicted == 0


def test_grow_keeps_order_and_respects_the_budget():
    budget = QueueBudget(300)
    ring = FrameRing(64, budget, grow_step=2)
    for i in range(8):
        ring.push(frame(i, 12), 12, 1)
    assert ring.evicted == 4
    assert ring.grow() and ring.cap == 128 and budget.used == 128
    for i in range(8, 12):
        ring.push(frame(i, 12), 12, 1)
    assert [pop_first(ring) for _ in range(8)] == [frame(i, 12) for i in range(4, 12)]
    ring.push(frame(0, 200), 200, 1)  # too big: remembered for the next grow
    assert ring.grow() and ring.cap == 300 and budget.used == 300
    assert not ring.grow()  # nothing refused since
    assert ring.push(frame(0, 200), 200, 1)
    ring.push(frame(1, 400), 400, 1)
    assert not ring.grow() and ring.cap == 300  # the budget is spent


def isr_pop(ring):
    p = ring.first()
    if p < 0:
        return None
    n = ring.frame_len(p)
    out = (ring.tag(p), bytes(ring.buf[p + IHDR:p + IHDR + n]))
    ring.take(p)
    return out


def test_isr_ring_is_fifo_and_refuses_when_full():
    ring = IsrRing(128)
    model = []
    rnd = Lcg(11)
    refused = 0
    for i in range(4000):
        if rnd.next(5) < 3:
            f = frame(i, 1 + rnd.next(60))
            if ring.push(f, len(f), i & 7):
                model.append((i & 7, f))
            else:  # full: the new frame is the one dropped, the queued ones stay
                refused += 1
                assert sum(len(m[1]) + IHDR for m in model) + len(f) + IHDR > 128 - 64
        else:
            assert isr_pop(ring) == (model.pop(0) if model else None)
        assert ring.live() == len(model)
    assert refused > 100
    while model:
        assert isr_pop(ring) == model.pop(0)
    assert isr_pop(ring) is None and not ring.push(bytes(200), 200, 0)


def test_isr_ring_survives_a_producer_between_any_two_consumer_steps():
    # An IRQ can land between any two statements of the main loop's consumer; the producer
    # runs to completion. Push at every step boundary of first/read/pop and kill_tag.
    ring = IsrRing(96)
    model = []
    rnd = Lcg(5)
    count = [0]

    def irq():
        for _ in range(rnd.next(3)):
            count[0] += 1
            f = frame(count[0], 1 + rnd.next(30))
            if ring.push(f, len(f), count[0] % 3):
                model.append([count[0] % 3, f])

    for step in range(3000):
        irq()
        p = ring.first()
        irq()
        if p < 0:
            assert not model
            continue
        n = ring.frame_len(p)
        irq()
        got = (ring.tag(p), bytes(ring.buf[p + IHDR:p + IHDR + n]))
        irq()
        ring.take(p)
        want = model.pop(0)
        assert got == (want[0], want[1])
        if step % 97 == 0:  # a side removed: its queued frames are marked dead, in place
            ring.kill_tag(2)
            for m in model:
                if m[0] == 2:
                    m[0] = DEAD
        assert ring.live() == len(model)
    assert count[0] > 2000


def test_isr_ring_refuses_a_push_that_interrupts_a_push_and_counts_without_allocating():
    ring = IsrRing(64)
    ring.pushing = True  # as an IRQ sees it when it lands inside another context's push
    assert not ring.push(b"abc", 3, 1) and ring.empty() and ring.live() == 0
    ring.pushing = False
    ring.pushed = ring.popped = 0xFFFF  # the counters wrap at 16 bits: never a long int
    assert ring.push(b"abc", 3, 1) and ring.pushed == 0 and ring.live() == 1
    assert not ring.empty() and isr_pop(ring) == (1, b"abc") and ring.live() == 0
    assert ring.empty()


def test_ring_kernels_agree():
    try:
        from sedsnet import _fast
    except ImportError:
        _fast = None
    src = bytes(range(40))
    for k in [_pure] + ([_fast] if _fast else []):
        dst = bytearray(50)
        k.copy_into(dst, 3, src, 5, 20)
        assert bytes(dst[3:23]) == src[5:25] and dst[2] == 0 and dst[23] == 0


def test_recent_ids_remember_a_bounded_window():
    recent = RecentIds(4)
    key = bytearray(8)
    for i in range(6):
        key[0] = i
        assert not recent.seen(key)
    for i in range(2, 6):
        key[0] = i
        assert recent.seen(key)
    key[0] = 0  # pushed out by the newer IDs
    assert not recent.seen(key)
    assert recent.nbytes() == 32 and recent.count == 4
    assert not RecentIds(0).seen(key) and not RecentIds(0).seen(key)


def test_route_picks_follow_the_reference_modes():
    r = Routes()
    cands = 0b111
    # default (Weighted, weight 1 each): the candidates take turns
    assert [r.pick(LOCAL, cands) for _ in range(4)] == [1, 2, 4, 1]
    r.cursor.clear()
    r.modes[LOCAL] = FANOUT
    assert r.pick(LOCAL, cands) == cands
    r.modes[LOCAL] = WEIGHTED  # weights 1:3:0 give 0,1,1,1,0,1,1,1 (seen on 4.2.7)
    r.weights[LOCAL * 256 + 0] = 1
    r.weights[LOCAL * 256 + 1] = 3
    r.weights[LOCAL * 256 + 2] = 0
    picks = [r.pick(LOCAL, cands) for _ in range(8)]
    assert picks == [1, 2, 2, 2, 1, 2, 2, 2]
    r.modes[LOCAL] = FAILOVER  # lowest priority value wins (9, 5, 1 -> side 2)
    for s, p in ((0, 9), (1, 5), (2, 1)):
        r.prios[LOCAL * 256 + s] = p
    assert r.pick(LOCAL, cands) == 0b100
    assert r.pick(LOCAL, 0b011) == 0b010


def test_route_rules_allow_and_forget():
    from sedsnet.route_rules import allowed, forget_side
    r = Routes()
    assert allowed(r, LOCAL, 3000, 1)
    r.allow[LOCAL * 256 + 1] = False
    r.typed[3000] = {0 * 256 + 2: False, LOCAL * 256 + 1: True}
    assert not allowed(r, LOCAL, 3000, 1)  # a typed "on" does not beat a route "off"
    assert not allowed(r, 0, 3000, 2) and allowed(r, 0, 3001, 2) and allowed(r, 1, 3000, 2)
    forget_side(r, 2)
    assert allowed(r, 0, 3000, 2)
    _modes, over, typed, _weights, _prios = route_lists(r)
    assert over == [{"src_side_id": None, "dst_side_id": 1, "enabled": False}]
    assert typed == [{"src_side_id": None, "ty": 3000, "dst_side_id": 1, "enabled": True}]


def test_a_float_grow_step_grows_by_whole_bytes():
    budget = QueueBudget(1000)
    ring = FrameRing(64, budget, grow_step=1.5)
    for i in range(8):
        ring.push(frame(i, 12), 12, 1)
    assert ring.grow() and ring.cap == 96 and budget.used == 96
    assert isinstance(ring.cap, int) and isinstance(budget.used, int)
    for i in range(8, 14):
        ring.push(frame(i, 12), 12, 1)
    assert [pop_first(ring) for _ in range(6)] == [frame(i, 12) for i in range(8, 14)]
    ring = FrameRing(64, QueueBudget(1000), grow_step=1)  # 4.2.7 accepts 1: grow by the need
    ring.push(frame(0, 100), 100, 1)
    assert ring.grow() and ring.cap == 64 + 104
