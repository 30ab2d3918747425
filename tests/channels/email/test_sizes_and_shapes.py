"""Large, empty, forwarded and deeply nested mail: what the parser reads and what staff get.

Sizes count decoded content (issue 16, email item 2); an empty mail is never
answered by the assistant and a forward keeps what was forwarded (item 3); a
body that defeats the parser keeps the headers that could be read (item 4).
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from begasist_channels_email import EmailChannel, EmailSettings
from begasist_channels_email.parsing import fetch_limit, parse_email
from begasist_core import FileMediaStore, Message, MessageReceived
from begasist_core.testing import Bus, ChannelHarness, EventCapture

HOTEL = "reservas@hotelplaza.es"
GUEST_TEXT = "Adjunto el pasaporte y el vídeo de la avería del coche."


def mail(*files: tuple[str, bytes], text: str = GUEST_TEXT, message_id: str = "big@x") -> bytes:
    message = EmailMessage()
    message["From"] = "Ana Ruiz <ana@example.es>"
    message["To"] = HOTEL
    message["Subject"] = "Documentos"
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Tue, 3 Jun 2025 10:15:00 +0200"
    message.set_content(text)
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def fetched(raw: bytes, max_bytes: int) -> bytes:
    """What the IMAP loop hands over: at most ``fetch_limit + 1`` bytes."""
    return raw[: fetch_limit(max_bytes) + 1]


def test_a_file_within_the_limit_is_read_whole_though_base64_makes_the_mail_larger() -> None:
    data = bytes(range(256)) * 1100  # 281,600 bytes decoded, ~385 kB in base64
    raw = mail(("passport.pdf", data))
    assert len(raw) > 300_000
    parsed = parse_email(fetched(raw, 300_000), max_bytes=300_000)
    assert (parsed.parse_error, parsed.truncated_at) == (None, None)
    assert parsed.reply_text == GUEST_TEXT
    assert [(a.filename, a.data, a.complete) for a in parsed.attachments] == [
        ("passport.pdf", data, True)
    ]


def test_a_mail_longer_than_what_is_read_keeps_its_text_and_its_whole_files() -> None:
    small, huge = b"%PDF-1.4 passport" * 600, b"\x00video" * 250_000
    raw = mail(("passport.pdf", small), ("video.mp4", huge))
    parsed = parse_email(fetched(raw, 100_000), max_bytes=100_000)
    assert parsed.parse_error is None
    assert parsed.truncated_at == fetch_limit(100_000)
    assert parsed.reply_text == GUEST_TEXT
    first, cut = parsed.attachments
    assert (first.filename, first.data, first.complete) == ("passport.pdf", small, True)
    assert (cut.filename, cut.complete) == ("video.mp4", False)
    assert 0 < len(cut.data) < len(huge)


def test_two_thousand_nested_parts_keep_sender_subject_and_message_id() -> None:
    depth = 2000
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    raw = (
        b"From: Ana Ruiz <ana@example.es>\r\nSubject: Profundo\r\nMessage-ID: <deep@x>\r\n"
        b"MIME-Version: 1.0\r\n" + head + b"Content-Type: text/plain\r\n\r\nhola" + tail
    )
    parsed = parse_email(raw, max_bytes=10_000_000)
    assert (parsed.from_address, parsed.from_name) == ("ana@example.es", "Ana Ruiz")
    assert (parsed.subject, parsed.message_id) == ("Profundo", "deep@x")
    assert parsed.parse_error is not None


pytestmark = pytest.mark.anyio


def harness_for(
    bus: Bus, media: FileMediaStore, max_message_bytes: int
) -> ChannelHarness[EmailChannel]:
    settings = EmailSettings.model_validate(
        {
            "address": HOTEL,
            "imap_host": "imap.invalid",
            "imap_user": HOTEL,
            "imap_password": "unused",
            "smtp_host": "smtp.invalid",
            "smtp_user": HOTEL,
            "smtp_password": "unused",
            "max_message_bytes": max_message_bytes,
        }
    )
    return ChannelHarness(EmailChannel, bus=bus, settings=settings, media=media)


async def deliver(
    bus: Bus, tmp_path: Path, captured: EventCapture, raw: bytes, max_message_bytes: int = 100_000
) -> tuple[Message, FileMediaStore]:
    media = FileMediaStore(tmp_path / "media")
    channel = harness_for(bus, media, max_message_bytes).build()
    await channel.receiver.deliver(fetched(raw, max_message_bytes), 1)
    events = [e.data for e in await captured.read() if isinstance(e.data, MessageReceived)]
    assert len(events) == 1
    return events[0].message, media


async def test_each_file_is_stored_or_refused_by_its_own_decoded_size(
    begasist_bus: Bus, tmp_path: Path, captured_events: EventCapture
) -> None:
    small, big = b"%PDF-1.4" + b"p" * 10_232, b"v" * 150_000
    raw = mail(("passport.pdf", small), ("video.mp4", big))
    message, media = await deliver(begasist_bus, tmp_path, captured_events, raw)
    assert message.text == (
        f'{GUEST_TEXT}\n\n[attachment "video.mp4" (146.5 kB) not stored: '
        "146.5 kB, over the limit of 97.7 kB per file]"
    )
    assert message.automated is None
    stored, refused = message.attachments
    assert (stored.filename, stored.size_bytes) == ("passport.pdf", len(small))
    assert stored.sha256 is not None
    assert await media.read(message.hotel, stored.sha256) == small
    assert (refused.filename, refused.size_bytes, refused.url) == ("video.mp4", len(big), None)


async def test_a_mail_cut_where_it_is_read_keeps_text_files_and_a_cut_original(
    begasist_bus: Bus, tmp_path: Path, captured_events: EventCapture
) -> None:
    small, huge = b"%PDF-1.4" + b"p" * 2000, b"v" * 1_500_000
    raw = mail(("passport.pdf", small), ("video.mp4", huge))
    message, _ = await deliver(begasist_bus, tmp_path, captured_events, raw)
    text, footer = message.text.split("\n\n")
    notes = footer.split("\n")
    assert text == GUEST_TEXT
    assert notes[0].startswith('[attachment "video.mp4" (at least ')
    assert notes[0].endswith("did not arrive whole]")
    assert notes[1] == (
        "[the original email (larger than 1.1 MB) is attached cut to its first 97.7 kB]"
    )
    names = [(a.filename, a.size_bytes) for a in message.attachments]
    assert names[0] == ("passport.pdf", len(small))
    assert names[2] == ("message-1.eml", 100_000)
    assert message.automated is None


@pytest.mark.parametrize(
    ("text", "files", "reason"),
    [
        ("", (), "empty email: nothing to answer"),
        ("\n\n   \n", (), "empty email: nothing to answer"),
        (
            "\nOn Mon, Jun 2, 2025 at 9:00 AM Hotel <reservas@hotelplaza.es> wrote:\n> Hola\n",
            (),
            "empty email: nothing to answer",
        ),
        (
            "",
            (("foto.jpg", b"\xff\xd8jpeg"),),
            "email with files and no text: staff answer it by hand",
        ),
    ],
)
async def test_a_mail_with_nothing_written_is_never_answered_automatically(
    begasist_bus: Bus,
    tmp_path: Path,
    captured_events: EventCapture,
    text: str,
    files: tuple[tuple[str, bytes], ...],
    reason: str,
) -> None:
    message, _ = await deliver(begasist_bus, tmp_path, captured_events, mail(*files, text=text))
    assert message.automated == reason
    assert message.text == ""


async def test_a_forwarded_confirmation_reaches_staff_as_forwarded(
    begasist_bus: Bus, tmp_path: Path, captured_events: EventCapture
) -> None:
    text = (
        "FYI\n\n---------- Forwarded message ---------\nFrom: Booking.com <noreply@booking.com>\n"
        "Date: Mon, Jun 2, 2025 at 9:00 AM\nSubject: Booking confirmation\n\n"
        "Booking 4821399, 14-17 June 2025.\n"
    )
    message, _ = await deliver(begasist_bus, tmp_path, captured_events, mail(text=text))
    assert message.text == text.strip()
    assert message.automated is None


async def test_a_deeply_nested_mail_is_kept_under_its_real_sender(
    begasist_bus: Bus, tmp_path: Path, captured_events: EventCapture
) -> None:
    depth = 2000
    raw = (
        b"From: Ana Ruiz <ana@example.es>\r\nSubject: Profundo\r\nMessage-ID: <deep@x>\r\n"
        b"MIME-Version: 1.0\r\n"
        + b"".join(
            b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
            for i in range(depth)
        )
        + b"Content-Type: text/plain\r\n\r\nhola\r\n"
    )
    message, _ = await deliver(begasist_bus, tmp_path, captured_events, raw, 10_000_000)
    assert message.guest.address == "ana@example.es"
    assert message.guest.display_name == "Ana Ruiz"
    assert message.provider_message_id == "deep@x"
    assert message.text.startswith("[this email could not be read")
    assert message.automated is not None
