"""A guest's attachments, fetched into the media store, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format; it is not Channex. It
serves each attachment's bytes at the link the message lists. The media
store is the core's file store in the test's temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings
from begasist_channels_channex.media import INBOUND_LIMITS
from begasist_channels_channex.testing import ChannexStandin, StandinFile
from begasist_core import AttachmentKind, FileMediaStore, MessageReceived, media_key_of
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import AIRBNB_BOOKING_ID, BOOKING_ID, settings_for

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
PHOTO = StandinFile("grifo roto.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + b"jpeg" * 2000)
INVOICE = StandinFile("factura.pdf", "application/pdf", b"%PDF-1.7\n" + b"0" * 3000)


@pytest.fixture
def media(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


def harness_for(
    bus: Bus, channex: ChannexStandin, media: FileMediaStore | None, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL, media=media)


def build(harness: ChannelHarness[ChannexChannel]) -> ChannexChannel:
    channel = harness.build()
    channel.download_retry_delays = (0.0, 0.0)
    return channel


async def parsed(harness: ChannelHarness[ChannexChannel], body: bytes) -> MessageReceived:
    [event] = await build(harness).parse(harness.webhook(body))
    assert isinstance(event, MessageReceived)
    return event


async def test_a_webhook_photo_and_pdf_are_stored_in_the_media_store(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    body = channex.guest_writes(BOOKING_ID, "Mirad esto", attachments=[PHOTO, INVOICE])
    links = json.loads(body)["payload"]["attachments"]

    event = await parsed(harness_for(begasist_bus, channex, media), body)

    photo, invoice = event.message.attachments
    assert (photo.kind, photo.mime_type, photo.filename) == (
        AttachmentKind.IMAGE,
        "image/jpeg",
        "grifo roto.jpg",
    )
    assert (invoice.kind, invoice.mime_type) == (AttachmentKind.DOCUMENT, "application/pdf")
    for attachment, file, link in zip((photo, invoice), (PHOTO, INVOICE), links, strict=True):
        key = media_key_of(attachment.url)
        assert key is not None
        assert await media.read(HOTEL, key) == file.data
        assert attachment.size_bytes == len(file.data)
        assert attachment.provider_ref == link
        assert attachment.caption is None


async def test_a_caught_up_message_brings_its_attachment_too(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    channex.guest_writes(AIRBNB_BOOKING_ID, "", attachments=[PHOTO])

    assert await build(harness).catch_up().run_once() == 1

    [event] = await harness.events.read()
    assert isinstance(event.data, MessageReceived)
    [photo] = event.data.message.attachments
    key = media_key_of(photo.url)
    assert key is not None
    assert await media.read(HOTEL, key) == PHOTO.data


async def test_a_file_over_the_cap_keeps_the_message_with_a_note(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    cap = INBOUND_LIMITS[AttachmentKind.IMAGE].max_bytes
    huge = StandinFile("panorama.jpg", "image/jpeg", b"\xff" * (cap + 1))
    body = channex.guest_writes(BOOKING_ID, "La vista", attachments=[huge, PHOTO])

    event = await parsed(harness_for(begasist_bus, channex, media), body)

    assert event.message.text == "La vista"
    noted, stored = event.message.attachments
    assert noted.url is None
    assert noted.kind == AttachmentKind.IMAGE
    assert noted.provider_ref == json.loads(body)["payload"]["attachments"][0]
    assert noted.caption is not None
    assert "'panorama.jpg' was not stored" in noted.caption
    assert str(cap) in noted.caption
    assert stored.url is not None


async def test_a_type_not_kept_is_noted_not_stored(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    program = StandinFile("setup.exe", "application/x-msdownload", b"MZ" + b"\x00" * 100)
    body = channex.guest_writes(BOOKING_ID, "", attachments=[program])

    [noted] = (await parsed(harness_for(begasist_bus, channex, media), body)).message.attachments

    assert noted.url is None
    assert noted.caption is not None
    assert "application/x-msdownload" in noted.caption
    assert not (media.root / HOTEL).exists() or not any((media.root / HOTEL).rglob("*.json"))


async def test_a_file_served_without_a_type_is_judged_by_its_name(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    untyped = StandinFile("plano.png", "application/octet-stream", b"\x89PNG" + b"p" * 100)
    body = channex.guest_writes(BOOKING_ID, "", attachments=[untyped])

    [photo] = (await parsed(harness_for(begasist_bus, channex, media), body)).message.attachments

    assert (photo.kind, photo.mime_type) == (AttachmentKind.IMAGE, "image/png")
    assert photo.url is not None


async def test_a_transient_failure_is_retried(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    body = channex.guest_writes(BOOKING_ID, "", attachments=[PHOTO])
    channex.fail_file_reads(2, status=503)

    [photo] = (await parsed(harness_for(begasist_bus, channex, media), body)).message.attachments

    assert photo.url is not None


async def test_a_download_that_keeps_failing_keeps_the_message_with_a_note(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    body = channex.guest_writes(BOOKING_ID, "¿Lo veis?", attachments=[PHOTO])
    channex.fail_file_reads(3, status=500)

    event = await parsed(harness_for(begasist_bus, channex, media), body)

    [noted] = event.message.attachments
    assert event.message.text == "¿Lo veis?"
    assert noted.url is None
    assert noted.caption is not None
    assert "HTTP 500" in noted.caption


async def test_without_a_media_store_the_message_is_kept_with_a_note(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    body = channex.guest_writes(BOOKING_ID, "Foto", attachments=[PHOTO])

    [noted] = (await parsed(harness_for(begasist_bus, channex, None), body)).message.attachments

    assert noted.url is None
    assert noted.caption is not None
    assert "media store" in noted.caption


async def test_the_api_key_goes_only_to_channex_own_host(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    """An absolute link to another host is fetched without the key (the stand-in, on
    another name for the same address, then answers 401: noted, not stored)."""
    body = json.loads(channex.guest_writes(BOOKING_ID, "", attachments=[PHOTO]))
    link = body["payload"]["attachments"][0]
    body["payload"]["attachments"] = [f"http://localhost:{channex.port}/api/v1/{link}"]

    [noted] = (
        await parsed(harness_for(begasist_bus, channex, media), json.dumps(body).encode())
    ).message.attachments

    assert noted.url is None
    assert noted.caption is not None
    assert "HTTP 401" in noted.caption
