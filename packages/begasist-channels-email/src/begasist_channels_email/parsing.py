"""Raw RFC 5322 bytes to a :class:`ParsedEmail`: headers, readable text, reply, attachments, kind.

The stdlib ``email`` package with ``policy.default`` does the MIME work; this
module decides what to keep and never lets a malformed message escape as an
exception: what could be read is returned with ``parse_error`` set, so the
caller stores the raw message and moves on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from begasist_channels_email.classify import EmailKind, classify
from begasist_channels_email.html_text import without_history_marks
from begasist_channels_email.parsed_body import ParsedAttachment, read_body
from begasist_channels_email.parsed_headers import HeaderReader, message_ids
from begasist_channels_email.quotes import split_reply

__all__ = ["EmailKind", "ParsedAttachment", "ParsedEmail", "parse_email"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADERS_READ_WHEN_OVERSIZED = 256 * 1024


@dataclass(frozen=True)
class ParsedEmail:
    """What the channel needs from one mail; strings are decoded, ids are without ``<>``."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    """Some clients put several ids here; Outlook may rewrite it (References keeps the chain)."""
    references: tuple[str, ...]
    thread_index: str | None
    """Outlook's ``Thread-Index`` header, raw."""
    thread_topic: str | None
    from_address: str | None
    """The sender's addr-spec, lower case."""
    from_name: str | None
    reply_to: str | None
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    """Aware; UTC when the header had no zone; None when absent or unreadable."""
    text: str
    """The whole readable body: text/plain preferred, else the HTML part as text."""
    reply_text: str
    """``text`` without quoted history, forwarded part and signature: what the guest wrote now."""
    forwarded_text: str | None
    """The mail the guest forwarded (opened by its separator line), None without a forward."""
    attachments: tuple[ParsedAttachment, ...]
    kind: EmailKind
    kind_reason: str | None
    """The header or feature that made it automated; None for a guest."""
    language_hint: str | None
    """``Content-Language`` when present."""
    parse_error: str | None
    """Set when malformed or oversized: the other fields hold what could be read."""

    @property
    def shown_text(self) -> str:
        """What staff see: the guest's words, then the forwarded mail when there is one."""
        return "\n\n".join(part for part in (self.reply_text, self.forwarded_text) if part)


def _parse(raw: bytes, max_bytes: int) -> ParsedEmail:
    oversized = len(raw) > max_bytes
    if oversized:
        head = raw[:_HEADERS_READ_WHEN_OVERSIZED]
        end = _HEADER_END.search(head)
        message: Message = BytesHeaderParser(policy=policy.default).parsebytes(
            head[: end.end()] if end else head
        )
    else:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    reader = HeaderReader(message)
    marked, attachments = "", list[ParsedAttachment]()
    if not oversized:
        try:
            marked, attachments = read_body(message, reader.problems)
        except Exception as exc:  # keep the headers: threading and the inbox still need them
            reader.problems.append(f"body unreadable: {exc!r}")
    senders = reader.addresses("From")
    from_name, from_address = senders[0] if senders else (None, None)
    reply_to = reader.addresses("Reply-To")
    subject = reader.decoded("Subject") or ""
    try:
        content_type = message.get_content_type()
    except Exception:
        content_type = "text/plain"  # RFC 2045's default for an unreadable Content-Type
    kind, reason = classify(
        reader.raw,
        content_type=content_type,
        from_address=from_address,
        subject=subject,
    )
    if oversized:
        reader.problems.insert(0, f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    message_id = message_ids(reader.raw("Message-ID"))
    reply = split_reply(marked, subject=subject)
    return ParsedEmail(
        message_id=message_id[0] if message_id else None,
        in_reply_to=message_ids(reader.raw("In-Reply-To")),
        references=message_ids(reader.raw("References")),
        thread_index=reader.raw("Thread-Index"),
        thread_topic=reader.decoded("Thread-Topic"),
        from_address=from_address,
        from_name=from_name or None,
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(spec for _, spec in reader.addresses("To")),
        subject=subject,
        date=reader.date(),
        text=without_history_marks(marked),
        reply_text=reply.text,
        forwarded_text=reply.forwarded,
        attachments=tuple(attachments),
        kind=kind,
        kind_reason=reason,
        language_hint=reader.raw("Content-Language"),
        parse_error="; ".join(dict.fromkeys(reader.problems)) or None,
    )


def parse_email(raw: bytes, *, max_bytes: int) -> ParsedEmail:
    """Parse one raw message; never raises, whatever the bytes.

    A message longer than ``max_bytes`` is not parsed past its headers: its
    ``parse_error`` says ``message of N bytes exceeds the limit of M`` and its
    text is empty. A malformed one (broken MIME boundary, bad base64, unknown
    charset, undecodable header bytes, or anything the ``email`` package chokes
    on) comes back with ``parse_error`` set and every field that could be read;
    the caller keeps the raw bytes beside it.
    """
    try:
        return _parse(raw, max_bytes)
    except Exception as exc:
        return ParsedEmail(
            message_id=None,
            in_reply_to=(),
            references=(),
            thread_index=None,
            thread_topic=None,
            from_address=None,
            from_name=None,
            reply_to=None,
            to=(),
            subject="",
            date=None,
            text="",
            reply_text="",
            forwarded_text=None,
            attachments=(),
            kind=EmailKind.GUEST,
            kind_reason=None,
            language_hint=None,
            parse_error=f"unparseable message: {exc!r}",
        )
