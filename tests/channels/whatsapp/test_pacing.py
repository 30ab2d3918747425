"""Send pacing on a fake clock: slots are computed, never measured."""

from __future__ import annotations

import math

import anyio
import pytest
from begasist_channels_whatsapp.pacing import NumberPacer, RecipientPacer, SendPacing

from tests.channels.whatsapp.conftest import FakeClock


def most_in_one_second(times: list[float]) -> int:
    """The most of *times* that fall in any half-open one-second window."""
    ordered = sorted(times)
    return max(
        sum(1 for other in ordered if start <= other < start + 1.0 - 1e-9) for start in ordered
    )


@pytest.mark.parametrize("rate", [80, 40, 10, 2.5, 1, 0.5])
def test_no_second_holds_more_than_the_rate(fake_clock: FakeClock, rate: float) -> None:
    pacer = NumberPacer(rate, clock=fake_clock)
    slots = [fake_clock.now() + pacer.reserve() for _ in range(int(rate * 4) + 5)]
    assert slots == sorted(slots)
    assert most_in_one_second(slots) <= math.ceil(rate)


def test_a_burst_goes_at_once_then_slots_are_spaced(fake_clock: FakeClock) -> None:
    pacer = NumberPacer(80, clock=fake_clock)
    assert pacer.burst == 4
    delays = [pacer.reserve() for _ in range(6)]
    assert delays[:4] == [0, 0, 0, 0]
    assert delays[4] == pytest.approx(pacer.interval)
    assert delays[5] == pytest.approx(2 * pacer.interval)


def test_an_idle_bucket_refills(fake_clock: FakeClock) -> None:
    pacer = NumberPacer(10, burst=2, clock=fake_clock)
    assert [pacer.reserve() for _ in range(3)] == [0, 0, pytest.approx(pacer.interval)]
    fake_clock.time += 5
    assert [pacer.reserve() for _ in range(2)] == [0, 0]


def test_each_recipient_has_its_own_interval(fake_clock: FakeClock) -> None:
    pacer = RecipientPacer(1.5, clock=fake_clock)
    assert [pacer.reserve("ana") for _ in range(3)] == [0, 1.5, 3.0]
    assert pacer.reserve("ben") == 0
    fake_clock.time += 10
    assert pacer.reserve("ana") == 0


def test_a_zero_interval_never_waits(fake_clock: FakeClock) -> None:
    pacer = RecipientPacer(0, clock=fake_clock)
    assert [pacer.reserve("ana") for _ in range(5)] == [0] * 5


@pytest.mark.anyio
async def test_concurrent_acquirers_get_distinct_spaced_slots(fake_clock: FakeClock) -> None:
    pacing = SendPacing(messages_per_second=20, per_recipient_interval=1.0, clock=fake_clock)
    reserved: list[float] = []
    original = pacing.number.reserve

    def spy() -> float:
        delay = original()
        reserved.append(fake_clock.now() + delay)
        return delay

    pacing.number.reserve = spy  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        for index in range(100):
            group.start_soon(pacing.acquire, f"guest-{index % 10}")
    assert len(reserved) == 100
    assert most_in_one_second(reserved) <= 20


@pytest.mark.anyio
async def test_a_guest_slot_is_taken_before_the_numbers(fake_clock: FakeClock) -> None:
    pacing = SendPacing(messages_per_second=1, per_recipient_interval=5.0, clock=fake_clock)
    await pacing.acquire("ana")
    await pacing.acquire("ana")
    # Five seconds for Ana, by which time the number's slot (one second) is free: no extra wait.
    assert fake_clock.sleeps == [5.0]


@pytest.mark.parametrize(("rate", "interval"), [(0, 1.0), (-1, 1.0)])
def test_nonsense_limits_are_refused(fake_clock: FakeClock, rate: float, interval: float) -> None:
    with pytest.raises(ValueError):
        NumberPacer(rate, clock=fake_clock)
    with pytest.raises(ValueError):
        RecipientPacer(-interval, clock=fake_clock)
