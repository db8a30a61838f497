"""tools/linksim.py: each fault does what it says, runs repeat with the same seed, and the radio
and line rates match their datasheet figures."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import linksim  # noqa: E402


def _run(link, n=2000, every_ms=10, size=20):
    got = []
    for i in range(n):
        t = i * every_ms
        link.send(t, i.to_bytes(4, "big") + bytes(size - 4))
        got += link.due(t)
    got += link.due(10 ** 9)
    return got


def test_clean_link_delivers_everything_in_order_after_the_delay():
    link = linksim.LinkSim(delay_ms=30)
    link.send(0, b"a")
    assert link.due(29) == [] and link.next_arrival_ms() == 30
    assert link.due(30) == [b"a"]
    got = _run(linksim.LinkSim(delay_ms=5, jitter_ms=40, seed=3))
    assert [int.from_bytes(f[:4], "big") for f in got] == list(range(2000))  # jitter keeps FIFO


def test_fault_rates_follow_the_probabilities():
    link = linksim.LinkSim(seed=11, loss=0.2, dup=0.05, corrupt=0.02)
    got = _run(link, n=10000)
    st = link.stats
    assert 1800 < st["lost"] < 2200
    assert 300 < st["duplicated"] < 520  # 5% of the frames that were not lost
    assert 120 < st["corrupted"] < 230
    assert len(got) == st["delivered"] == 10000 - st["lost"] + st["duplicated"]
    ids = [int.from_bytes(f[:4], "big") for f in got]
    assert len(set(ids)) < len(ids)  # copies arrived
    clean = bytes(16)
    flipped = [f for f in got if f[4:] != clean]
    for f in flipped:  # one bit, not a rewrite
        assert sum(bin(b).count("1") for b in f[4:]) == 1


def test_reordering_holds_frames_back_so_later_ones_overtake():
    link = linksim.LinkSim(seed=5, reorder=0.1, hold_ms=100)
    ids = [int.from_bytes(f[:4], "big") for f in _run(link, n=1000)]
    assert sorted(ids) == list(range(1000))
    assert ids != sorted(ids)
    assert 60 < link.stats["reordered"] < 140


def test_same_seed_same_run_other_seed_other_run():
    def faults(seed):
        return [bytes(f) for f in _run(linksim.LinkSim(seed=seed, loss=0.3, dup=0.1,
                                                       reorder=0.1, corrupt=0.1, jitter_ms=9))]
    assert faults(1) == faults(1)
    assert faults(1) != faults(2)


def test_byte_rate_queues_frames_on_the_wire():
    link = linksim.LinkSim(bytes_per_s=linksim.uart_bytes_per_s(115200))  # 11520 B/s
    for _ in range(10):
        link.send(0, bytes(1152))  # 100 ms each
    assert len(link.due(999)) == 9 and len(link.due(1000)) == 1
    assert link.utilisation(1000) == pytest.approx(1.0)


def test_backlog_is_the_wire_time_still_queued():
    link = linksim.LinkSim(bytes_per_s=1000)  # 1 byte per ms
    assert link.backlog_ms(0) == 0
    link.send(0, bytes(100))
    link.send(0, bytes(50))  # queued behind the first: the wire is busy until 150 ms
    assert link.backlog_ms(0) == pytest.approx(150)
    assert link.backlog_ms(100) == pytest.approx(50)
    assert link.backlog_ms(400) == 0  # free again: never negative
    link.send(400, bytes(10))
    assert link.backlog_ms(400) == pytest.approx(10)


def test_lora_airtime_matches_the_semtech_calculator():
    assert linksim.lora_airtime_ms(10) == pytest.approx(41.216, abs=0.01)
    assert linksim.lora_airtime_ms(255) == pytest.approx(399.616, abs=0.01)
    assert linksim.lora_airtime_ms(10, sf=12) == pytest.approx(991.23, abs=0.01)  # LDRO on
    radio = linksim.LinkSim(airtime=linksim.lora_airtime_ms, mtu=255)
    assert radio.send(0, bytes(256)) is False and radio.stats["oversize"] == 1
    radio.send(0, bytes(10))
    assert radio.due(41) == [] and len(radio.due(42)) == 1


def test_nrf24_airtime_is_enhanced_shockburst_bits_at_the_data_rate():
    # preamble 1 + address 5 + payload 32 + CRC 2 bytes + 9 PCF bits = 329 bits, + 130 us
    assert linksim.nrf24_airtime_ms(32) == pytest.approx(329 / 250.0 + 0.13)
    assert linksim.nrf24_airtime_ms(1, kbps=2000) == pytest.approx(81 / 2000.0 + 0.13)
    for bad in ({"n": 33}, {"n": 8, "kbps": 500}):
        with pytest.raises(ValueError):
            linksim.nrf24_airtime_ms(**bad)


def test_a_link_that_is_down_loses_what_is_sent_meanwhile():
    d = linksim.Duplex(seed=4, delay_ms=10)
    d.a_to_b.send(0, b"in flight")
    d.set_up(False)
    assert d.a_to_b.send(1, b"lost") is False and d.b_to_a.send(1, b"lost") is False
    d.set_up(True)
    d.a_to_b.send(2, b"back")
    assert d.a_to_b.due(100) == [b"in flight", b"back"]
    assert d.a_to_b.stats["down"] == 1 and d.b_to_a.stats["down"] == 1


def test_bad_settings_are_refused():
    for kw in ({"loss": 1.5}, {"dup": -0.1}, {"delay_ms": -1}, {"mtu": -3}):
        with pytest.raises(ValueError):
            linksim.LinkSim(**kw)
    with pytest.raises(ValueError):
        linksim.lora_airtime_ms(10, sf=13)
