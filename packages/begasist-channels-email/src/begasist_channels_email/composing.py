"""The email a reply goes out as: headers that keep it in the guest's thread, text and HTML.

Decisions:

- Our Message-ID is ``<{message.id}@{domain of the hotel address}>``: the same
  Begasist message gives the same Message-ID, so a resend after a lost
  answer is recognisably the same mail to the guest's client.
- No ``Auto-Submitted``: the outbound message does not say whether staff or
  the assistant wrote it, and a person's reply must not look automatic.
  Loops are stopped inbound instead (auto-replies are never answered, our
  own address is ignored).
- The subject is ``Re: <thread subject>`` without stacking (a subject that
  already starts with a reply prefix in any of the usual languages is kept),
  and the hotel's display name when there is no thread subject.
- Non-ASCII names and subjects are RFC 2047 encoded by ``policy.SMTP``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from begasist_core import Message, utc_now

from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.threads import bare_message_id

__all__ = ["OutboundFile", "compose_reply", "message_id_for", "reply_subject"]

_ALREADY_REPLY = re.compile(r"^\s*(?:re|aw|rv|sv|vs|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:", re.I)
_SAFE_LOCAL = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class OutboundFile:
    """An attachment's bytes as read from the media store, ready to attach."""

    data: bytes
    mime_type: str
    filename: str | None = None


def message_id_for(message_id: str, address: str) -> str:
    """Our Message-ID (with angle brackets) for the Begasist message *message_id*."""
    domain = address.rpartition("@")[2] or "localhost"
    return f"<{_SAFE_LOCAL.sub('-', message_id)}@{domain}>"


def reply_subject(thread_subject: str | None, fallback: str) -> str:
    """``Re: <thread_subject>`` unless it is a reply already; *fallback* with no subject."""
    subject = " ".join((thread_subject or "").split())
    if not subject:
        return fallback
    return subject if _ALREADY_REPLY.match(subject) else f"Re: {subject}"


def _html_of(text: str) -> str:
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
    )
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>'
    return f"{head}\n{body}\n</body></html>\n"


def compose_reply(
    message: Message,
    settings: EmailSettings,
    *,
    subject: str | None,
    in_reply_to: str | None,
    references: Sequence[str],
    files: Sequence[OutboundFile] = (),
    now: datetime | None = None,
) -> EmailMessage:
    """The email for *message* to its guest, from the hotel's address, threaded.

    *subject* is the thread's (``Re:`` is added here), *in_reply_to* and
    *references* come from ``ThreadIndex.thread_headers`` (bare or bracketed
    ids). *files* are attached after the text and HTML alternative.
    """
    mail = EmailMessage(policy=SMTP)
    # Names may hold line breaks (a guest's decoded From, a pasted setting): one line each.
    hotel_name = " ".join(settings.display_name.split())
    hotel = Address(display_name=hotel_name, addr_spec=settings.address)
    mail["From"] = hotel
    mail["To"] = Address(
        display_name=" ".join((message.guest.display_name or "").split()),
        addr_spec=message.guest.address,
    )
    mail["Reply-To"] = hotel
    mail["Subject"] = reply_subject(subject, hotel_name or settings.address)
    mail["Date"] = format_datetime(now or utc_now())
    mail["Message-ID"] = message_id_for(message.id, settings.address)
    if in_reply_to:
        mail["In-Reply-To"] = f"<{bare_message_id(in_reply_to)}>"
    chain = [f"<{bare_message_id(item)}>" for item in references if bare_message_id(item)]
    if chain:
        mail["References"] = " ".join(chain)
    mail.set_content(message.text or "", subtype="plain", cte="quoted-printable")
    mail.add_alternative(_html_of(message.text or ""), subtype="html", cte="quoted-printable")
    for file in files:
        maintype, _, subtype = file.mime_type.partition("/")
        mail.add_attachment(
            file.data,
            maintype=maintype,
            subtype=subtype.split(";", 1)[0].strip() or "octet-stream",
            filename=file.filename,
        )
    return mail
