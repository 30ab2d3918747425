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


@pytest.mark.parametrize("burst", [1, 4])
@pytest.mark.parametrize("rate", [80, 40, 10, 2.5, 1, 0.5])
def test_no_second_holds_more_than_the_rate(fake_clock: FakeClock, rate: float, burst: int) -> None:
    pacer = NumberPacer(rate, burst=burst, clock=fake_clock)
    slots = [fake_clock.now() + pacer.reserve() for _ in range(int(rate * 4) + 5)]
    assert slots == sorted(slots)
    assert most_in_one_second(slots) <= math.ceil(rate)


def test_by_default_slots_are_evenly_spaced_at_the_rate(fake_clock: FakeClock) -> None:
    pacer = NumberPacer(80, clock=fake_clock)
    delays = [pacer.reserve() for _ in range(81)]
    assert delays[0] == 0
    assert delays[1] == pytest.approx(1 / 80)
    assert delays[80] == pytest.approx(1.0)


class LateClock(FakeClock):
    """Every 50th sleep ends 30 ms late, as on a busy event loop."""

    async def sleep(self, seconds: float) -> None:
        late = 0.03 if len(self.sleeps) % 50 == 49 else 0.0
        await super().sleep(seconds + late)


@pytest.mark.anyio
async def test_late_wake_ups_never_put_more_than_the_rate_in_a_second() -> None:
    clock = LateClock()
    pacer = NumberPacer(80, clock=clock)
    sent: list[float] = []
    for _ in range(400):
        await pacer.acquire()
        sent.append(clock.now())
    assert most_in_one_second(sent) <= 80
    # ...and each late wake-up costs no more than its lateness (and the margin).
    late_ones = len(clock.sleeps) // 50
    assert sent[-1] - sent[0] < 399 / 80 + late_ones * (0.03 + 0.005) + 1e-6


@pytest.mark.anyio
async def test_the_sends_as_they_really_went_leave_room_in_every_second(
    fake_clock: FakeClock,
) -> None:
    # Concurrent senders reserve slots ahead; if the first of 80 went out late,
    # the planned 81st slot would land within a second of it. The pacer counts
    # the sends as they went: the 81st waits a full second (and the margin).
    pacer = NumberPacer(80, clock=fake_clock)
    for _ in range(80):
        await pacer.acquire()
    first = fake_clock.now() - 79 / 80
    pacer._sent[0] = first + 0.03  # the first send's wake-up was 30 ms late
    await pacer.acquire()
    assert fake_clock.now() == pytest.approx(first + 0.03 + 1.005)


def test_a_burst_goes_at_once_then_slots_are_spaced(fake_clock: FakeClock) -> None:
    pacer = NumberPacer(80, burst=4, clock=fake_clock)
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
