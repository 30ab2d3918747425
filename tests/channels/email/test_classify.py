"""Automated mails are recognised by their headers."""

from __future__ import annotations

import pytest
from begasist_channels_email.parsing import EmailKind, parse_email


def kind_of(headers: str, body: str = "hi") -> tuple[EmailKind, str | None]:
    parsed = parse_email(f"{headers}\n\n{body}\n".encode(), max_bytes=1 << 20)
    return parsed.kind, parsed.kind_reason


@pytest.mark.parametrize(
    ("headers", "kind", "reason"),
    [
        (
            "From: a@x.es\nAuto-Submitted: auto-generated",
            EmailKind.AUTO_REPLY,
            "Auto-Submitted: auto-generated",
        ),
        ("From: a@x.es\nX-Autoreply: yes", EmailKind.AUTO_REPLY, "X-Autoreply: yes"),
        ("From: a@x.es\nX-Autorespond: on", EmailKind.AUTO_REPLY, "X-Autorespond: on"),
        ("From: a@x.es\nPrecedence: auto_reply", EmailKind.AUTO_REPLY, "Precedence: auto_reply"),
        (
            "From: a@x.es\nSubject: Fuera de la oficina: Re: hola",
            EmailKind.AUTO_REPLY,
            "Subject: Fuera de la oficina: Re: hola",
        ),
        ("From: a@x.es\nPrecedence: bulk", EmailKind.LIST, "Precedence: bulk"),
        (
            "From: a@x.es\nList-Unsubscribe: <mailto:u@x.es>",
            EmailKind.LIST,
            "List-Unsubscribe: <mailto:u@x.es>",
        ),
        ("From: postmaster@x.es", EmailKind.BOUNCE, "From: postmaster@x.es"),
        (
            "From: a@x.es\nX-Failed-Recipients: b@y.es",
            EmailKind.BOUNCE,
            "X-Failed-Recipients: b@y.es",
        ),
        ("From: a@x.es\nReturn-Path: <>", EmailKind.BOUNCE, "Return-Path: <>"),
        ("From: a@x.es\nAuto-Submitted: no\nSubject: Automatic sprinklers?", EmailKind.GUEST, None),
    ],
)
def test_kinds(headers: str, kind: EmailKind, reason: str | None) -> None:
    assert kind_of(headers) == (kind, reason)
