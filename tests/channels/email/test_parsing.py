"""Every corpus message parses to its expectations; limits and malformed input are handled."""

from __future__ import annotations

import tomllib
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from begasist_channels_email.parsing import EmailKind, parse_email

CORPUS = Path(__file__).parent / "corpus"
EXPECTATIONS: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expectations.toml").read_text(encoding="utf-8")
)
LIMIT = 10 * 1024 * 1024


def test_every_message_has_expectations() -> None:
    # Messages with a sibling .txt are the reply corpus (test_reply_corpus.py).
    described = [
        path.name for path in CORPUS.glob("*.eml") if not path.with_suffix(".txt").exists()
    ]
    assert sorted(described) == sorted(EXPECTATIONS)


def test_corpus_covers_clients_languages_and_threads() -> None:
    clients = {expected["client"] for expected in EXPECTATIONS.values()}
    assert {"gmail", "outlook", "apple-mail", "thunderbird", "mobile-iphone"} <= clients
    assert {expected["language"] for expected in EXPECTATIONS.values()} == {"es", "en"}
    sizes: dict[str, int] = {}
    for expected in EXPECTATIONS.values():
        sizes[expected["thread"]] = sizes.get(expected["thread"], 0) + 1
    assert sum(1 for size in sizes.values() if size >= 3) >= 2


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_message(name: str) -> None:
    expected = EXPECTATIONS[name]
    parsed = parse_email((CORPUS / name).read_bytes(), max_bytes=LIMIT)

    assert parsed.kind == EmailKind(expected["kind"])
    assert parsed.kind_reason == expected.get("kind_reason")
    assert parsed.from_address == expected["from"]
    assert parsed.from_name == expected.get("from_name")
    assert parsed.subject == expected["subject"]
    assert parsed.message_id == expected["message_id"]
    assert parsed.in_reply_to == tuple(expected["in_reply_to"])
    assert parsed.references == tuple(expected["references"])
    assert parsed.reply_text == expected["reply_text"]
    assert [
        (a.filename or "", a.mime_type, a.inline, a.content_id) for a in parsed.attachments
    ] == [
        (a["filename"], a["mime_type"], a["inline"], a.get("content_id"))
        for a in expected["attachments"]
    ]
    if "parse_error" in expected:
        assert parsed.parse_error is not None
        assert expected["parse_error"] in parsed.parse_error
    else:
        assert parsed.parse_error is None
    assert parsed.date is not None
    assert parsed.date.tzinfo is not None
    assert parsed.reply_text in parsed.text or parsed.reply_text.split("\n")[0] in parsed.text


def test_thread_replies_point_at_earlier_messages() -> None:
    """Within a corpus thread, References name earlier messages of the same thread."""
    ids_by_thread: dict[str, set[str]] = {}
    for expected in EXPECTATIONS.values():
        ids_by_thread.setdefault(expected["thread"], set()).add(expected["message_id"])
    for name in ("gmail_es_reply.eml", "outlook_en_reply_rewritten.eml"):
        expected = EXPECTATIONS[name]
        assert set(expected["references"]) <= ids_by_thread[expected["thread"]]
    # Outlook rewrote In-Reply-To: only References still reaches the hotel's message.
    rewritten = EXPECTATIONS["outlook_en_reply_rewritten.eml"]
    assert not set(rewritten["in_reply_to"]) & ids_by_thread[rewritten["thread"]]


def test_attachment_bytes_are_decoded() -> None:
    pdf = parse_email((CORPUS / "outlook_en_group_booking.eml").read_bytes(), max_bytes=LIMIT)
    assert pdf.attachments[0].data.startswith(b"%PDF-1.4")
    image = parse_email((CORPUS / "applemail_es_inline_image.eml").read_bytes(), max_bytes=LIMIT)
    assert image.attachments[0].data.startswith(b"\x89PNG\r\n\x1a\n")


def test_outlook_headers_are_kept_raw() -> None:
    parsed = parse_email((CORPUS / "outlook_en_reply_rewritten.eml").read_bytes(), max_bytes=LIMIT)
    assert parsed.thread_index == "AdvUYp3kQ2x0b1Y7R8ekMfPq9N2xVwAFc6RgAABxK0A="
    assert parsed.thread_topic == "Group booking 22-25 September"
    assert parsed.language_hint == "en-GB"
    assert parsed.to == ("reservas@hotelplaza.es",)


def test_html_only_mail_is_read_as_text() -> None:
    parsed = parse_email((CORPUS / "outlook_es_html_only.eml").read_bytes(), max_bytes=LIMIT)
    assert "De: Hotel Plaza <reservas@hotelplaza.es>" in parsed.text
    assert "<div" not in parsed.text


def test_plain_text_is_preferred_to_html() -> None:
    parsed = parse_email((CORPUS / "gmail_es_question.eml").read_bytes(), max_bytes=LIMIT)
    assert parsed.text.endswith("-- \nMaría García López\nTel. +34 600 123 456")


def test_format_flowed_lines_are_joined() -> None:
    raw = (
        b"From: a@example.com\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        b"One long paragraph \nwritten over \nthree lines.\n\n-- \nA\n"
    )
    assert (
        parse_email(raw, max_bytes=LIMIT).text
        == "One long paragraph written over three lines.\n\n-- \nA"
    )


def test_date_without_zone_is_utc() -> None:
    raw = b"From: a@example.com\nDate: Tue, 3 Jun 2025 10:15:00\n\nhi\n"
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert parsed.date is not None
    assert parsed.date.tzinfo == UTC


def test_raw_utf8_headers_are_not_an_error() -> None:
    raw = "From: José <jose@example.es>\nSubject: Habitación\n\nhola\n".encode()
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert (parsed.from_name, parsed.subject, parsed.parse_error) == ("José", "Habitación", None)


@pytest.mark.parametrize("raw", [b"", b"\x00\xff" * 50, b"Content-Type: multipart/mixed\n\n"])
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert parsed.kind == EmailKind.GUEST


def test_a_nul_in_the_charset_keeps_headers_and_text() -> None:
    raw = b'From: a@example.com\nContent-Type: text/plain; charset="ut\x00f"\n\nhola\n'
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert (parsed.from_address, parsed.text) == ("a@example.com", "hola")
    assert parsed.parse_error is not None
    assert "unknown charset" in parsed.parse_error


def test_text_split_around_an_inline_image_is_kept_whole() -> None:
    # Apple Mail in plain-text mode: text, the photo, then the rest of the text.
    raw = (
        b"From: Ana <ana@example.com>\r\n"
        b"To: reservas@hotel.test\r\n"
        b"Subject: Foto\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n'
        b"\r\n"
        b"--b\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Esta es la mancha en la alfombra:\r\n"
        b"--b\r\n"
        b"Content-Type: image/jpeg\r\n"
        b"Content-Disposition: inline\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"/9j/4AAQ\r\n"
        b"--b\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"No fuimos nosotros. Pedimos que no se cobre.\r\n"
        b"--b--\r\n"
    )
    parsed = parse_email(raw, max_bytes=LIMIT)
    assert "mancha en la alfombra" in parsed.text
    assert "No fuimos nosotros" in parsed.text
    assert "No fuimos nosotros" in parsed.reply_text
    assert [a.mime_type for a in parsed.attachments] == ["image/jpeg"]
