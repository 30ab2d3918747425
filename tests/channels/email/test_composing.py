"""The outbound email's headers and body: threading headers, Re: rules, encodings, HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from begasist_channels_email.composing import (
    OutboundFile,
    compose_reply,
    message_id_for,
    reply_subject,
)
from begasist_channels_email.settings import EmailSettings
from begasist_core import Direction, GuestIdentity, Message

SETTINGS = EmailSettings.model_validate(
    {
        "address": "reservas@plaza.example",
        "display_name": "Hotel Plaza Mayor — Recepción",
        "imap_host": "imap.plaza.example",
        "imap_user": "reservas",
        "imap_password": "secret",
        "smtp_host": "smtp.plaza.example",
        "smtp_user": "reservas",
        "smtp_password": "secret",
    }
)


def _message(
    text: str = "Hola Ana,\n\nSu habitación <201> está lista & limpia.\nSaludos",
) -> Message:
    return Message(
        id="01JDXAMPLE0000000000000000",
        hotel="plaza",
        channel="email",
        conversation_key="ana@example.com|" + "0" * 32,
        direction=Direction.OUTBOUND,
        guest=GuestIdentity(channel="email", address="ana@example.com", display_name="Ana Núñez"),
        text=text,
    )


def _round_trip(mail: EmailMessage) -> EmailMessage:
    """The mail as a receiving client reads it from the wire."""
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _compose(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "subject": "Reserva 12 de mayo",
        "in_reply_to": "guest-2@example.com",
        "references": ("guest-1@example.com", "guest-2@example.com"),
        "now": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return _round_trip(compose_reply(_message(), SETTINGS, **fields))


def test_threading_and_identity_headers() -> None:
    mail = _compose()

    assert mail["Message-ID"] == "<01JDXAMPLE0000000000000000@plaza.example>"
    assert mail["In-Reply-To"] == "<guest-2@example.com>"
    assert mail["References"].split() == ["<guest-1@example.com>", "<guest-2@example.com>"]
    assert mail["Reply-To"].addresses[0].addr_spec == "reservas@plaza.example"
    assert mail["To"].addresses[0].addr_spec == "ana@example.com"
    assert mail["Date"].datetime == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert "Auto-Submitted" not in mail


def test_the_message_id_is_stable_per_message() -> None:
    assert _compose()["Message-ID"] == _compose(subject="Other")["Message-ID"]
    assert message_id_for("a b/c", "x@hotel.example") == "<a-b-c@hotel.example>"


def test_non_ascii_names_and_subjects_are_rfc2047_encoded() -> None:
    raw = compose_reply(
        _message(),
        SETTINGS,
        subject="Habitación con vistas",
        in_reply_to=None,
        references=(),
    ).as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0]

    assert all(byte < 128 for byte in headers)
    assert b"=?utf-8?" in headers
    mail = _round_trip(
        compose_reply(_message(), SETTINGS, subject="Habitación", in_reply_to=None, references=())
    )
    assert mail["Subject"] == "Re: Habitación"
    assert mail["From"].addresses[0].display_name == "Hotel Plaza Mayor — Recepción"
    assert mail["To"].addresses[0].display_name == "Ana Núñez"


@pytest.mark.parametrize(
    ("thread_subject", "expected"),
    [
        ("Reserva", "Re: Reserva"),
        ("Re: Reserva", "Re: Reserva"),
        ("RE: Reserva", "RE: Reserva"),
        ("Aw: Buchung", "Aw: Buchung"),
        ("RV: Reserva", "RV: Reserva"),
        ("Re[2]: Reserva", "Re[2]: Reserva"),
        ("Fwd: Reserva", "Re: Fwd: Reserva"),
        ("  Reserva \n  doble ", "Re: Reserva doble"),
        ("Return of the key", "Re: Return of the key"),
        ("", "Hotel Plaza"),
        (None, "Hotel Plaza"),
    ],
)
def test_re_is_added_once(thread_subject: str | None, expected: str) -> None:
    assert reply_subject(thread_subject, "Hotel Plaza") == expected


def test_without_a_thread_there_are_no_reply_headers_and_the_subject_is_the_hotel() -> None:
    mail = _compose(subject=None, in_reply_to=None, references=())

    assert "In-Reply-To" not in mail
    assert "References" not in mail
    assert mail["Subject"] == "Hotel Plaza Mayor — Recepción"


def test_text_with_an_escaped_html_alternative() -> None:
    mail = _compose()

    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == _message().text
    html = rich.get_content()
    assert "<p>Hola Ana,</p>" in html
    assert "Su habitación &lt;201&gt; está lista &amp; limpia.<br>" in html
    assert "<201>" not in html


def test_files_are_attached_after_the_alternative() -> None:
    mail = _compose(files=(OutboundFile(b"\x89PNG...", "image/png", "plano.png"),))

    assert mail.get_content_type() == "multipart/mixed"
    [attached] = list(mail.iter_attachments())
    assert attached.get_content_type() == "image/png"
    assert attached.get_filename() == "plano.png"
    assert attached.get_content() == b"\x89PNG..."
    assert mail.get_body(preferencelist=("html",)) is not None


def test_line_breaks_in_names_never_reach_the_headers() -> None:
    # A guest's name comes from an encoded word of their From, which may hold CR LF.
    message = _message().model_copy(
        update={
            "guest": GuestIdentity(
                channel="email", address="ana@example.com", display_name="Ana\r\nBcc: x@evil.test"
            )
        }
    )
    settings = SETTINGS.model_copy(update={"display_name": "Hotel\nPlaza"})
    mail = compose_reply(message, settings, subject=None, in_reply_to=None, references=())
    received = _round_trip(mail)
    assert received["Bcc"] is None
    assert received["To"].addresses[0].display_name == "Ana Bcc: x@evil.test"
    assert received["To"].addresses[0].addr_spec == "ana@example.com"
    assert received["From"].addresses[0].display_name == "Hotel Plaza"
    assert received["Subject"] == "Hotel Plaza"
