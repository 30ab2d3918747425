"""Replies with files, and the OTAs' rules, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format (Create Attachment, Send
Message with an ``attachment_id``, a thread's ``is_closed``); it is not
Channex. The media store is the core's file store in the test's temporary folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from begasist_channels_channex import (
    RULES,
    AttachmentRefused,
    ChannexChannel,
    ChannexSettings,
    Ota,
    ThreadClosed,
)
from begasist_channels_channex.sending import RetryPolicy
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_core import Attachment, AttachmentKind, FileMediaStore, Message, PermanentSendError
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import (
    AIRBNB_BOOKING_ID,
    BOOKING_ID,
    EXPEDIA_BOOKING_ID,
    PROPERTY_ID,
    settings_for,
)

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
MB = 1024 * 1024
PHOTO = b"\xff\xd8\xff\xe0" + b"j" * 4000
PDF = b"%PDF-1.7\n" + b"0" * 4000


@pytest.fixture
def media(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


async def no_wait(seconds: float) -> None:
    return None


def harness_for(
    bus: Bus, channex: ChannexStandin, media: FileMediaStore, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL, media=media)


def build(harness: ChannelHarness[ChannexChannel]) -> ChannexChannel:
    channel = harness.build()
    channel.retry = RetryPolicy(sleep=no_wait)
    return channel


async def with_file(
    harness: ChannelHarness[ChannexChannel],
    media: FileMediaStore,
    address: str,
    data: bytes,
    *,
    mime_type: str,
    filename: str,
    kind: AttachmentKind,
    text: str = "",
) -> Message:
    stored = await media.put(HOTEL, data, mime_type=mime_type, filename=filename, max_bytes=50 * MB)
    attachment = Attachment(kind=kind, mime_type=mime_type, filename=filename, url=stored.url)
    message = harness.outbound(text, address=address)
    return message.model_copy(update={"attachments": (attachment,)})


def photo_for(
    harness: ChannelHarness[ChannexChannel],
    media: FileMediaStore,
    address: str,
    data: bytes = PHOTO,
    text: str = "",
) -> Any:
    return with_file(
        harness,
        media,
        address,
        data,
        mime_type="image/jpeg",
        filename="llave.jpg",
        kind=AttachmentKind.IMAGE,
        text=text,
    )


def test_the_channel_capabilities_are_the_otas_tightest_and_widest() -> None:
    assert ChannexChannel.capabilities.max_text_length == 2000
    assert ChannexChannel.capabilities.media_kinds == {
        AttachmentKind.IMAGE,
        AttachmentKind.DOCUMENT,
    }
    assert RULES[Ota.BOOKING_COM].attachments.keys() == {AttachmentKind.IMAGE}
    assert RULES[Ota.OTHER].attachments == {}


async def test_a_photo_goes_after_the_text_as_an_uploaded_attachment(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    message = await photo_for(harness, media, f"booking_com:{BOOKING_ID}", text="La llave:")

    receipt = await build(harness).send(message)

    text, file = channex.sent
    assert (text.message, text.attachments) == ("La llave:", ())
    assert file.message == ""
    [link] = file.attachments
    assert channex.file(link).data == PHOTO
    [upload] = channex.uploads.values()
    assert (upload.name, upload.content_type, upload.data) == ("llave.jpg", "image/jpeg", PHOTO)
    assert receipt.provider_message_ids == (text.id, file.id)


async def test_expedia_takes_a_pdf(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    message = await with_file(
        harness,
        media,
        f"expedia:{EXPEDIA_BOOKING_ID}",
        PDF,
        mime_type="application/pdf",
        filename="factura.pdf",
        kind=AttachmentKind.DOCUMENT,
    )

    await build(harness).send(message)

    [sent] = channex.sent
    assert channex.file(sent.attachments[0]).data == PDF


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (f"booking_com:{BOOKING_ID}", "Booking.com does not take 'factura.pdf'"),
        (f"airbnb:{AIRBNB_BOOKING_ID}", "Airbnb does not take 'factura.pdf'"),
        ("other:some-booking", "it takes no files, only text"),
    ],
)
async def test_a_kind_the_ota_refuses_fails_before_any_request(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore, address: str, reason: str
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    message = await with_file(
        harness,
        media,
        address,
        PDF,
        mime_type="application/pdf",
        filename="factura.pdf",
        kind=AttachmentKind.DOCUMENT,
        text="Su factura",
    )

    with pytest.raises(AttachmentRefused, match=reason):
        await build(harness).send(message)

    assert channex.requests == []


async def test_a_photo_over_booking_com_size_fails_but_expedia_takes_it(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    big = b"\xff\xd8" + b"j" * (2 * MB)

    refused = await photo_for(harness, media, f"booking_com:{BOOKING_ID}", big)
    with pytest.raises(AttachmentRefused, match="JPEG or PNG images up to 1 MB"):
        await build(harness).send(refused)
    assert channex.requests == []

    await build(harness).send(await photo_for(harness, media, f"expedia:{EXPEDIA_BOOKING_ID}", big))
    assert len(channex.uploads) == 1


async def test_a_file_without_a_stored_copy_is_refused(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    message = harness.outbound("", address=f"booking_com:{BOOKING_ID}").model_copy(
        update={"attachments": (Attachment(kind=AttachmentKind.IMAGE, filename="x.jpg"),)}
    )
    with pytest.raises(PermanentSendError, match="no stored copy"):
        await build(harness).send(message)
    assert channex.requests == []


async def test_a_file_is_uploaded_and_sent_once_even_from_a_new_instance(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    message = await photo_for(harness, media, f"airbnb:{AIRBNB_BOOKING_ID}")

    first = await build(harness).send(message)
    again = await build(harness).send(message)

    assert again == first
    assert len(channex.sent) == 1
    assert len(channex.uploads) == 1


async def test_a_throttled_upload_is_retried(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    channex.fail_next(1, status=429, retry_after=0)

    await build(harness).send(await photo_for(harness, media, f"booking_com:{BOOKING_ID}"))

    assert len(channex.uploads) == 1
    assert len(channex.sent) == 1


# -- a closed thread -----------------------------------------------------------------


def posts(channex: ChannexStandin) -> list[tuple[str, str]]:
    return [request for request in channex.requests if request[0] == "POST"]


async def test_a_reply_to_a_closed_thread_is_refused_before_posting(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    channex.guest_writes(BOOKING_ID, "Gracias, adiós")
    channex.close_thread(BOOKING_ID)

    with pytest.raises(ThreadClosed, match="thread is closed in Channex"):
        await build(harness).send(
            harness.outbound("¡Buen viaje!", address=f"booking_com:{BOOKING_ID}")
        )

    assert posts(channex) == []
    assert channex.sent == []


async def test_the_thread_a_webhook_named_is_checked_without_reading_the_booking(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    channel = build(harness)
    await channel.parse(harness.webhook(channex.guest_writes(AIRBNB_BOOKING_ID, "Hi")))
    channex.close_thread(AIRBNB_BOOKING_ID)

    with pytest.raises(ThreadClosed):
        await channel.send(harness.outbound("Bye", address=f"airbnb:{AIRBNB_BOOKING_ID}"))

    assert ("GET", f"/api/v1/message_threads/thread-{AIRBNB_BOOKING_ID}") in channex.requests
    assert ("GET", f"/api/v1/bookings/{AIRBNB_BOOKING_ID}/messages") not in channex.requests


async def test_an_open_thread_and_a_booking_without_messages_take_replies(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    harness = harness_for(begasist_bus, channex, media)
    channex.add_booking(StandinBooking(id="quiet-booking", property_id=PROPERTY_ID))
    channex.guest_writes(BOOKING_ID, "Hola")

    await build(harness).send(harness.outbound("Hola Ana", address=f"booking_com:{BOOKING_ID}"))
    await build(harness).send(harness.outbound("Bienvenida", address="booking_com:quiet-booking"))

    assert [m.message for m in channex.sent] == ["Hola Ana", "Bienvenida"]


async def test_a_closed_thread_is_a_failed_message_reason_not_a_retry(
    begasist_bus: Bus, channex: ChannexStandin, media: FileMediaStore
) -> None:
    """The runtime fails a PermanentSendError at once, with its text as the reason."""
    harness = harness_for(begasist_bus, channex, media)
    channex.guest_writes(EXPEDIA_BOOKING_ID, "Bye")
    channex.close_thread(EXPEDIA_BOOKING_ID)

    with pytest.raises(PermanentSendError) as refused:
        await build(harness).send(harness.outbound("Hi", address=f"expedia:{EXPEDIA_BOOKING_ID}"))

    assert "reopen it in Channex" in str(refused.value)
