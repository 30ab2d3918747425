"""Which mails were written by a machine: auto-replies, bounces and DSNs, mailing lists.

None of these is ever answered automatically (answering an out-of-office or a
bounce starts a mail loop; answering a list writes to everyone on it). The
rules follow RFC 3834 (``Auto-Submitted``), RFC 3464 (``multipart/report``
DSNs), RFC 2919 / 2369 (``List-Id``, ``List-Unsubscribe``) and what common
servers add beyond them (``X-Autoreply``, ``X-Failed-Recipients``,
``Precedence``, Exchange's ``Automatic reply:`` subjects).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

__all__ = ["EmailKind", "classify"]


class EmailKind(StrEnum):
    """Who wrote a mail, as far as its headers tell."""

    GUEST = "guest"
    """A person: may be answered."""
    AUTO_REPLY = "auto_reply"
    """An out-of-office or other automatic answer."""
    BOUNCE = "bounce"
    """A delivery failure report (DSN or a server's bounce)."""
    LIST = "list"
    """A mailing-list or bulk mail."""


_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_AUTO_SUBJECT = re.compile(
    r"^(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|respuesta automática"
    r"|respuesta automatica|fuera de la oficina)\s*:",
    re.IGNORECASE,
)

Header = Callable[[str], str | None]
"""Reads one header of the mail as a string, None when it is absent."""


def classify(
    header: Header, *, content_type: str, from_address: str | None, subject: str
) -> tuple[EmailKind, str | None]:
    """Return the mail's kind and the reason for it (a header and its value), None for a guest.

    ``header`` reads a header (None when absent), ``content_type`` is the
    top-level ``maintype/subtype`` in lower case. Bounces are checked first
    (a DSN may also carry ``Auto-Submitted``), then auto-replies, then lists;
    a null ``Return-Path: <>`` alone counts as a bounce.
    """
    local_part = (from_address or "").partition("@")[0]
    if content_type == "multipart/report":
        return EmailKind.BOUNCE, "Content-Type: multipart/report"
    if (failed := header("X-Failed-Recipients")) is not None:
        return EmailKind.BOUNCE, f"X-Failed-Recipients: {failed.strip()}"
    if local_part in _BOUNCE_SENDERS:
        return EmailKind.BOUNCE, f"From: {from_address}"

    auto_submitted = (header("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return EmailKind.AUTO_REPLY, f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autorespond-Reason"):
        if (value := header(name)) is not None:
            return EmailKind.AUTO_REPLY, f"{name}: {value.strip()}"
    precedence = (header("Precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return EmailKind.AUTO_REPLY, "Precedence: auto_reply"
    if _AUTO_SUBJECT.match(subject.strip()):
        return EmailKind.AUTO_REPLY, f"Subject: {subject.strip()}"

    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if (value := header(name)) is not None:
            return EmailKind.LIST, f"{name}: {value.strip()}"
    if precedence in ("bulk", "junk", "list"):
        return EmailKind.LIST, f"Precedence: {precedence}"

    if (header("Return-Path") or "").strip() == "<>":
        return EmailKind.BOUNCE, "Return-Path: <>"
    return EmailKind.GUEST, None
