"""WhatsAppChannel.parse in the bot: media fetched into the store, windows opened, wamids kept."""

from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_whatsapp import WhatsAppChannel
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_core import FileMediaStore, MessageReceived
from begasist_core.plugins.context import inbound_event_key
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.whatsapp.samples import MESSAGES, body_of, settings

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
GUEST = "972987654321"
PHOTO = b"\xff\xd8\xff\xe0 a photo of the pool at dusk"


@pytest.fixture
def media(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


@pytest.fixture
def harness(
    begasist_bus: Bus, graph_standin: GraphStandin, media: FileMediaStore
) -> ChannelHarness[WhatsAppChannel]:
    return ChannelHarness(
        WhatsAppChannel,
        bus=begasist_bus,
        settings=settings(graph_api_url=graph_standin.base_url),
        hotel=HOTEL,
        media=media,
    )


async def parsed(harness: ChannelHarness[WhatsAppChannel], sample: dict[str, Any]) -> Any:
    channel = harness.build()
    [event] = await channel.parse(harness.webhook(body_of(sample)))
    assert isinstance(event, MessageReceived)
    return event.message


async def test_an_image_is_downloaded_into_the_media_store_before_the_event(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin, media: FileMediaStore
) -> None:
    graph_standin.add_media("65463453", PHOTO, "image/jpeg")
    message = await parsed(harness, MESSAGES["image"])
    [attachment] = message.attachments
    sha = hashlib.sha256(PHOTO).hexdigest()
    assert (attachment.provider_ref, attachment.sha256, attachment.size_bytes) == (
        "65463453",
        sha,
        len(PHOTO),
    )
    assert attachment.url is not None
    assert await media.read(HOTEL, sha) == PHOTO


async def test_a_failed_download_keeps_the_message_and_the_media_id(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    graph_standin.add_media("65463453", PHOTO, "image/jpeg", download_status=404)
    message = await parsed(harness, MESSAGES["image"])
    [attachment] = message.attachments
    assert (attachment.provider_ref, attachment.url) == ("65463453", None)


async def test_a_guest_message_opens_the_reply_window(
    harness: ChannelHarness[WhatsAppChannel],
) -> None:
    channel = harness.build()
    old = MESSAGES["text"]
    # The window runs from when the guest wrote, not from when the webhook came.
    await parsed(harness, old)
    assert not await channel.window.is_open(GUEST)
    recent = copy.deepcopy(old)
    recent["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(time.time()))
    message = await parsed(harness, recent)
    assert message.guest.address == GUEST
    assert await channel.window.is_open(GUEST)


async def test_a_wamid_repeated_in_another_body_gives_the_same_event_key(
    harness: ChannelHarness[WhatsAppChannel],
) -> None:
    # Meta retries a delivery, or repeats a message beside others: the event's
    # idempotency key is the wamid's, and the suite stores that key once.
    alone = MESSAGES["text"]
    batched = copy.deepcopy(alone)
    value = batched["entry"][0]["changes"][0]["value"]
    other = copy.deepcopy(value["messages"][0]) | {"id": "wamid.another"}
    value["messages"].append(other)
    channel = harness.build()
    first = await channel.parse(harness.webhook(body_of(alone)))
    second = await channel.parse(harness.webhook(body_of(batched)))
    assert [inbound_event_key(HOTEL, event) for event in first] == [
        inbound_event_key(HOTEL, second[0])
    ]
    assert isinstance(first[0], MessageReceived)
    assert isinstance(second[0], MessageReceived)
    assert first[0].message.model_dump(exclude={"id"}) == second[0].message.model_dump(
        exclude={"id"}
    )
