"""A send cut short by a crash is settled by Meta's status webhook instead of sent twice."""

from __future__ import annotations

import logging

import anyio
import pytest
from begasist_channels_whatsapp import WhatsAppChannel
from begasist_channels_whatsapp.testing import GraphStandin, StatusCallback
from begasist_channels_whatsapp.testing.status_webhooks import signed_status
from begasist_core import DeliveryStatus, Message, MessageStatusChanged, utc_now
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.whatsapp.conftest import FakeClock
from tests.channels.whatsapp.samples import APP_SECRET, PHONE_NUMBER_ID
from tests.channels.whatsapp.test_send import GUEST, build, make_harness, opened, outbound

pytestmark = pytest.mark.anyio


@pytest.fixture
def harness(begasist_bus: Bus, graph_standin: GraphStandin) -> ChannelHarness[WhatsAppChannel]:
    return make_harness(begasist_bus, graph_standin, uncertain_send_wait_seconds=5)


def status_body(wamid: str, callback_data: str | None) -> bytes:
    body, _ = signed_status(
        StatusCallback("http://unused.test", APP_SECRET),
        phone_number_id=PHONE_NUMBER_ID,
        wamid=wamid,
        recipient=GUEST,
        callback_data=callback_data,
        sent_at=1_700_000_000,
    )
    return body


async def cut_short(channel: WhatsAppChannel, message: Message) -> None:
    """What a bot killed inside its Graph call for part 0 of *message* leaves behind."""
    await channel.context.keys.set(f"intent:{message.id}:0", b"1")


async def test_each_part_carries_its_callback_data_and_an_intent_is_kept(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    message = outbound(harness, "Breakfast is served in the garden from seven. " * 200)
    await channel.send(message)
    accepted = graph_standin.accepted
    assert len(accepted) == 3
    assert [part.payload["biz_opaque_callback_data"] for part in accepted] == [
        f"bgs1:{message.id}:{index}" for index in range(3)
    ]
    assert all(len(part.payload["biz_opaque_callback_data"]) <= 512 for part in accepted)
    for index in range(3):
        assert await channel.context.keys.get(f"intent:{message.id}:{index}") == b"1"


async def test_a_status_with_our_callback_data_records_the_part_once(
    harness: ChannelHarness[WhatsAppChannel],
) -> None:
    channel = build(harness)
    [event] = await channel.parse(harness.webhook(status_body("wamid.FIRST", "bgs1:m-1:2")))
    assert isinstance(event, MessageStatusChanged)
    assert (event.provider_message_id, event.status) == ("wamid.FIRST", DeliveryStatus.SENT)
    assert await channel.context.keys.get("part:m-1:2") == b"wamid.FIRST"
    # The part's wamid is never replaced (the send's own record, or the first status, wins).
    await channel.parse(harness.webhook(status_body("wamid.OTHER", "bgs1:m-1:2")))
    assert await channel.context.keys.get("part:m-1:2") == b"wamid.FIRST"


@pytest.mark.parametrize("data", [None, "someone-elses:m-1:0", "bgs1:m-1", "bgs1:m:1:x"])
async def test_a_status_without_our_callback_data_records_nothing(
    harness: ChannelHarness[WhatsAppChannel], data: str | None
) -> None:
    channel = build(harness)
    [event] = await channel.parse(harness.webhook(status_body("wamid.X", data)))
    assert isinstance(event, MessageStatusChanged)
    assert await channel.context.keys.get("part:m-1:0") is None


async def test_a_send_cut_short_is_not_sent_again_when_the_status_reports_it(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = await opened(harness)
    message = outbound(harness, "Your room is ready")
    await cut_short(channel, message)
    receipts = []

    async def send() -> None:
        receipts.append(await channel.send(message))

    with caplog.at_level(logging.INFO), anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(send)
            await anyio.sleep(0.3)
            assert receipts == []  # waiting for the status, not sending
            body = status_body("wamid.EARLIER", f"bgs1:{message.id}:0")
            await channel.parse(harness.webhook(body))
    assert graph_standin.accepted == []
    assert receipts[0].provider_message_ids == ("wamid.EARLIER",)
    assert "not sent again" in caplog.text


async def test_a_send_cut_short_is_sent_again_when_no_status_comes_in_time(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    fake_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    message = outbound(harness, "Your room is ready")
    await cut_short(channel, message)
    receipt = await channel.send(message)
    [accepted] = graph_standin.accepted
    assert receipt.provider_message_ids == (accepted.wamid,)
    assert sum(fake_clock.sleeps) == pytest.approx(5)
    assert "sending again" in caplog.text


async def test_a_send_without_an_intent_does_not_wait(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    fake_clock: FakeClock,
) -> None:
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    await channel.send(outbound(harness, "Your room is ready"))
    assert len(graph_standin.accepted) == 1
    assert fake_clock.sleeps == []
