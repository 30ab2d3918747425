"""The whole corpus through the Receiver: the text, the thread and the flags each message gets.

Real Redis (the thread index) and a real media store; the IMAP loop is left
out (test_imap_inbound.py covers it): ``deliver`` is called as the loop does.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_email import EmailChannel, EmailSettings
from begasist_core import FileMediaStore, MessageReceived
from begasist_core.testing import Bus, ChannelHarness, EventCapture

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expectations.toml").read_text("utf-8")
)
HOTEL_ADDRESS = "reservas@hotelplaza.es"


@pytest.fixture
def media(tmp_path: Path) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media")


@pytest.fixture
def harness(begasist_bus: Bus, media: FileMediaStore) -> ChannelHarness[EmailChannel]:
    settings = EmailSettings.model_validate(
        {
            "address": HOTEL_ADDRESS,
            "display_name": "Hotel Plaza",
            "imap_host": "imap.invalid",
            "imap_user": HOTEL_ADDRESS,
            "imap_password": "unused",
            "smtp_host": "smtp.invalid",
            "smtp_user": HOTEL_ADDRESS,
            "smtp_password": "unused",
        }
    )
    return ChannelHarness(EmailChannel, bus=begasist_bus, settings=settings, media=media)


async def received(captured: EventCapture) -> dict[str, MessageReceived]:
    """The emitted messages by provider id."""
    found: dict[str, MessageReceived] = {}
    for event in await captured.read():
        if isinstance(event.data, MessageReceived):
            message = event.data.message
            assert message.provider_message_id is not None
            found[message.provider_message_id] = event.data
    return found


async def test_every_corpus_message_gets_its_text_thread_and_flags(
    harness: ChannelHarness[EmailChannel], captured_events: EventCapture, media: FileMediaStore
) -> None:
    channel = harness.build()
    for uid, name in enumerate(EXPECTED, start=1):
        await channel.receiver.deliver((CORPUS / name).read_bytes(), uid)
    emitted = await received(captured_events)

    threads: dict[str, set[str]] = defaultdict(set)
    stored_files = 0
    for name, expected in EXPECTED.items():
        message_id = expected.get("message_id")
        if expected["direction"] == "out":
            # The hotel's own mail (a copy in the inbox) is not a guest's message.
            assert message_id not in emitted, name
            continue
        matches = [
            event.message
            for event in emitted.values()
            if event.message.provider_message_id == message_id
            or (message_id is None and event.message.guest.address == expected["from"])
        ]
        assert len(matches) == 1, name
        message = matches[0]
        assert message.guest.address == expected["from"], name
        if "parse_error" in expected:
            # Kept, never dropped: the original goes along for staff to read.
            assert message.text.startswith("[this email could not be read"), name
            assert any(a.mime_type == "message/rfc822" for a in message.attachments), name
            assert message.automated is not None, name
            continue
        assert message.text == expected["reply_text"].strip("\n"), name
        if expected["kind"] == "guest":
            assert message.automated is None, name
        else:
            assert message.automated, name  # the assistant never answers these
        names = sorted(a.filename or "" for a in message.attachments)
        assert names == sorted(a.get("filename") or "" for a in expected["attachments"]), name
        for attachment in message.attachments:
            assert attachment.sha256 is not None, name
            assert await media.exists(harness.hotel, attachment.sha256), name
            stored_files += 1
        threads[expected["thread"]].add(message.conversation_key)

    assert stored_files >= 2  # the corpus' PDF and inline image at least
    # One conversation per thread of the corpus, and no two threads share one.
    assert all(len(keys) == 1 for keys in threads.values()), threads
    keys = [next(iter(k)) for k in threads.values()]
    assert len(set(keys)) == len(keys)
    assert len(threads["plaza-parking"]) == len(threads["contoso-group"]) == 1


async def test_a_message_delivered_twice_keeps_its_conversation(
    harness: ChannelHarness[EmailChannel], captured_events: EventCapture
) -> None:
    # After a UIDVALIDITY change the loop reads the mailbox again: same thread,
    # same provider id, so the suite stores nothing twice.
    channel = harness.build()
    question = (CORPUS / "gmail_es_question.eml").read_bytes()
    reply = (CORPUS / "gmail_es_reply.eml").read_bytes()
    for uid, raw in enumerate([question, reply, question, reply], start=1):
        await channel.receiver.deliver(raw, uid)
    events = [e.data for e in await captured_events.read() if isinstance(e.data, MessageReceived)]
    assert len(events) == 4
    assert len({e.message.conversation_key for e in events}) == 1
    assert len({e.message.provider_message_id for e in events}) == 2


async def test_an_attachment_with_an_overlong_name_or_type_is_kept_not_a_crash(
    harness: ChannelHarness[EmailChannel], captured_events: EventCapture
) -> None:
    # RFC 2231 lets a filename run on for pages; the event's fields stop at 255.
    long_name = "reserva-" + "x" * 400 + ".pdf"
    long_type = "application/" + "y" * 300
    raw = (
        "From: Ana <ana@example.com>\r\n"
        "To: reservas@hotelplaza.es\r\n"
        "Subject: Documentos\r\n"
        "Message-ID: <long-name@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n"
        "--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Adjunto los documentos.\r\n"
        "--b\r\n"
        f'Content-Type: application/pdf; name="{long_name}"\r\n'
        f'Content-Disposition: attachment; filename="{long_name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "JVBERi0xLjQK\r\n"
        "--b\r\n"
        f"Content-Type: {long_type}\r\n"
        'Content-Disposition: attachment; filename="odd.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "AAEC\r\n"
        "--b--\r\n"
    ).encode()
    channel = harness.build()
    await channel.receiver.deliver(raw, 1)
    emitted = await received(captured_events)
    message = emitted["long-name@example.com"].message
    assert message.text == "Adjunto los documentos."
    assert len(message.attachments) == 2
    pdf, odd = message.attachments
    assert pdf.filename is not None
    assert pdf.filename.startswith("reserva-")
    assert pdf.filename.endswith(".pdf")
    assert len(pdf.filename) <= 255
    assert odd.filename == "odd.bin"
    assert odd.mime_type is not None
    assert len(odd.mime_type) <= 255


async def test_a_sender_address_too_long_to_be_one_is_kept_raw_not_a_crash(
    harness: ChannelHarness[EmailChannel], captured_events: EventCapture
) -> None:
    sender = "a" * 400 + "@example.com"
    raw = (
        f"From: <{sender}>\r\n"
        "To: reservas@hotelplaza.es\r\n"
        "Subject: Hola\r\n"
        "Message-ID: <long-sender@example.com>\r\n"
        "\r\n"
        "Hola.\r\n"
    ).encode()
    channel = harness.build()
    await channel.receiver.deliver(raw, 1)
    message = (await received(captured_events))["long-sender@example.com"].message
    assert message.text.startswith("[this email could not be read")
    assert any(a.mime_type == "message/rfc822" for a in message.attachments)
    assert message.automated is not None


async def test_a_mail_without_a_sender_address_is_kept_raw_not_dropped(
    harness: ChannelHarness[EmailChannel], captured_events: EventCapture
) -> None:
    raw = (
        b"From: Ana Garcia\r\n"
        b"To: reservas@hotelplaza.es\r\n"
        b"Subject: Reserva\r\n"
        b"Message-ID: <no-sender@example.com>\r\n"
        b"\r\n"
        b"Llego el martes.\r\n"
    )
    channel = harness.build()
    await channel.receiver.deliver(raw, 1)
    message = (await received(captured_events))["no-sender@example.com"].message
    assert message.text.startswith("[this email could not be read")
    assert any(a.mime_type == "message/rfc822" for a in message.attachments)
    assert message.automated is not None
