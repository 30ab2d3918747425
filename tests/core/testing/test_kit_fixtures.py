"""The kit's fixtures and harness, used directly as a channel author's own tests would."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import anyio
import pytest
from begasist_core import (
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    ChannelState,
    ConfigChanged,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
    SendReceipt,
    make_event,
)
from begasist_core.channelbot.settings_source import StaticSettingsSource, UnknownHotel
from begasist_core.testing import Bus, ChannelHarness, EventCapture, Transmission
from pydantic import ValidationError

pytestmark = pytest.mark.anyio


class EchoSettings(ChannelSettings):
    greeting: str = "hello"


class EchoChannel(Channel[EchoSettings]):
    """Emits one guest message when it starts, then waits; transmits to ``outbox``."""

    name: ClassVar[str] = "echo"
    Settings: ClassVar[type[ChannelSettings]] = EchoSettings
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, context: ChannelContext[EchoSettings]) -> None:
        super().__init__(context)
        self.outbox: list[Transmission] = []

    async def run(self) -> None:
        await self.context.report_state(ChannelState.RUNNING, "echoing")
        guest = GuestIdentity(channel=self.name, address="guest-1")
        message = Message(
            id="01J00000000000000000000001",
            hotel=self.context.hotel,
            channel=self.name,
            conversation_key="guest-1",
            direction=Direction.INBOUND,
            guest=guest,
            text=self.settings.greeting,
            provider_message_id="echo-1",
        )
        await self.context.emit(MessageReceived(message=message))
        await anyio.sleep_forever()

    async def send(self, message: Message) -> SendReceipt:
        self.outbox.append(Transmission(message.guest.address, message.text))
        return SendReceipt(message_id=message.id, provider_message_ids=("echo-out",))


@pytest.fixture
def channel_class() -> type[Channel[Any]]:
    return EchoChannel


@pytest.fixture
def channel_settings() -> Mapping[str, Any]:
    return {"greeting": "hi there"}


@pytest.fixture
def read_transmissions() -> Any:
    def read(channels: Sequence[Channel[Any]]) -> list[Transmission]:
        echoes = [channel for channel in channels if isinstance(channel, EchoChannel)]
        return [sent for channel in echoes for sent in channel.outbox]

    return read


async def test_captured_events_reads_back_what_the_bus_published(
    begasist_bus: Bus, captured_events: EventCapture
) -> None:
    event = make_event("plaza", ConfigChanged(version=7))
    await begasist_bus.publisher.publish(begasist_bus.names.events, event)
    assert await captured_events.read() == [event]
    assert await captured_events.read(begasist_bus.names.control("plaza")) == []


async def test_wait_for_returns_once_enough_events_arrived(
    begasist_bus: Bus, captured_events: EventCapture
) -> None:
    async def publish_later() -> None:
        for version in (1, 2):
            await anyio.sleep(0.05)
            event = make_event("plaza", ConfigChanged(version=version))
            await begasist_bus.publisher.publish(begasist_bus.names.events, event)

    async with anyio.create_task_group() as group:
        group.start_soon(publish_later)
        with anyio.fail_after(5):
            events = await captured_events.wait_for(2)
    assert [event.data for event in events] == [ConfigChanged(version=1), ConfigChanged(version=2)]


async def test_the_settings_source_starts_empty(
    begasist_settings_source: StaticSettingsSource,
) -> None:
    with pytest.raises(UnknownHotel):
        await begasist_settings_source.fetch("plaza")


async def test_channel_harness_uses_the_tests_channel_and_settings(
    channel_harness: ChannelHarness[Channel[Any]],
    begasist_settings_source: StaticSettingsSource,
) -> None:
    assert channel_harness.channel_class is EchoChannel
    assert channel_harness.settings == EchoSettings(greeting="hi there")
    stored = await begasist_settings_source.fetch(channel_harness.hotel)
    assert stored.channels == {"echo": {"greeting": "hi there"}}


async def test_captured_outbound_reads_every_instance(
    channel_harness: ChannelHarness[Channel[Any]], captured_outbound: Any
) -> None:
    for text in ("one", "two"):
        channel = channel_harness.build()
        await channel.send(channel_harness.outbound(text, address="guest-1"))
    assert await captured_outbound() == [
        Transmission("guest-1", "one"),
        Transmission("guest-1", "two"),
    ]


async def test_a_running_channel_emits_and_reports_state(
    channel_harness: ChannelHarness[Channel[Any]],
) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(channel_harness.build().run)
        with anyio.fail_after(5):
            (event,) = await channel_harness.events.wait_for(1)
        group.cancel_scope.cancel()
    assert isinstance(event.data, MessageReceived)
    assert event.data.message.text == "hi there"
    assert event.key == "message.received:conformance:echo:echo-1"
    assert channel_harness.states == [(ChannelState.RUNNING, "echoing")]


async def test_from_source_validates_the_settings_as_the_runtime_does(begasist_bus: Bus) -> None:
    source = StaticSettingsSource({"plaza": {"echo": {"greting": "typo"}}})
    with pytest.raises(ValidationError, match="greting"):
        await ChannelHarness.from_source(
            EchoChannel, bus=begasist_bus, source=source, hotel="plaza"
        )


class Crashes(EchoChannel):
    async def run(self) -> None:
        raise RuntimeError("cannot connect")


class Blocks(EchoChannel):
    async def run(self) -> None:
        # The bug under test: a blocking call, so the loop cannot even deliver the cancellation.
        time.sleep(1.5)  # noqa: ASYNC251
        await anyio.sleep_forever()


async def test_run_then_cancel_measures_a_prompt_stop(begasist_bus: Bus) -> None:
    harness = ChannelHarness(EchoChannel, bus=begasist_bus, settings=EchoSettings())
    outcome = await harness.run_then_cancel(warmup=0.1, limit=1.0)
    assert outcome.error is None
    assert not outcome.returned_early
    assert outcome.stop_seconds is not None
    assert outcome.stop_seconds < 0.5


async def test_run_then_cancel_reports_a_crash(begasist_bus: Bus) -> None:
    harness = ChannelHarness(Crashes, bus=begasist_bus, settings=EchoSettings())
    outcome = await harness.run_then_cancel(warmup=0.1, limit=1.0)
    assert isinstance(outcome.error, BaseExceptionGroup)  # the task group's
    (crash,) = outcome.error.exceptions
    assert repr(crash) == "RuntimeError('cannot connect')"


async def test_run_then_cancel_gives_up_on_a_blocked_loop_without_hanging(
    begasist_bus: Bus,
) -> None:
    harness = ChannelHarness(Blocks, bus=begasist_bus, settings=EchoSettings())
    started = anyio.current_time()
    outcome = await harness.run_then_cancel(warmup=0.1, limit=0.3)
    assert outcome.stop_seconds is None
    assert anyio.current_time() - started < 1.2
    await anyio.sleep(1.0)  # let the abandoned thread finish before the bus closes
