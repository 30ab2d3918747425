"""Raw RFC 5322 bytes to a :class:`ParsedEmail`: headers, readable text, reply, attachments, kind.

The stdlib ``email`` package with ``policy.default`` does the MIME work; this
module decides what to keep and never lets a malformed message escape as an
exception: what could be read is returned with ``parse_error`` set, so the
caller stores the raw message and moves on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from begasist_channels_email.classify import EmailKind, classify
from begasist_channels_email.html_text import without_history_marks
from begasist_channels_email.parsed_body import ParsedAttachment, read_body
from begasist_channels_email.parsed_headers import HeaderReader, message_ids
from begasist_channels_email.quotes import split_reply

__all__ = ["EmailKind", "ParsedAttachment", "ParsedEmail", "fetch_limit", "parse_email"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_HEADERS_READ_WHEN_UNREADABLE = 256 * 1024
_TEXT_ROOM = 1024 * 1024


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
    truncated_at: int | None
    """The raw message was longer than this many bytes and was read only that far
    (see :func:`fetch_limit`); None when it was read whole."""
    parse_error: str | None
    """Set when malformed: the other fields hold what could be read."""

    @property
    def shown_text(self) -> str:
        """What staff see: the guest's words, then the forwarded mail when there is one."""
        return "\n\n".join(part for part in (self.reply_text, self.forwarded_text) if part)


def fetch_limit(max_bytes: int) -> int:
    """How many bytes of a raw message to read for *max_bytes* of decoded content.

    Attachments travel in base64: four bytes for three, plus a line break every
    76 characters (x 1.37), and the headers and text parts need room too (1 MiB).
    A mail whose attachment decodes to *max_bytes* is therefore read whole.
    """
    return max_bytes * 137 // 100 + _TEXT_ROOM


def _parse(raw: bytes, max_bytes: int, *, headers_only: bool = False) -> ParsedEmail:
    limit = fetch_limit(max_bytes)
    truncated_at = limit if len(raw) > limit else None
    raw = raw[:limit]
    if headers_only:
        head = raw[:_HEADERS_READ_WHEN_UNREADABLE]
        end = _HEADER_END.search(head)
        message: Message = BytesHeaderParser(policy=policy.default).parsebytes(
            head[: end.end()] if end else head
        )
    else:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    reader = HeaderReader(message)
    marked, attachments = "", list[ParsedAttachment]()
    if not headers_only:
        try:
            marked, attachments = read_body(message, reader.problems, cut=truncated_at is not None)
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
        truncated_at=truncated_at,
        parse_error="; ".join(dict.fromkeys(reader.problems)) or None,
    )


def parse_email(raw: bytes, *, max_bytes: int) -> ParsedEmail:
    """Parse one raw message; never raises, whatever the bytes.

    Sizes count decoded content: only the first :func:`fetch_limit` bytes are
    read, and a longer message (``truncated_at`` set) keeps its headers, its
    text and every attachment that came whole; the part the cut fell in comes
    back with ``complete=False``. Each attachment is judged by its own decoded
    size later, by the receiver. A malformed message (broken MIME boundary,
    bad base64, unknown charset, undecodable header bytes, or anything the
    ``email`` package chokes on) comes back with ``parse_error`` set and every
    field that could be read; when the body defeats the parser (thousands of
    nested parts), the headers are read alone, so the sender, the subject and
    the Message-ID survive. The caller keeps the raw bytes beside it.
    """
    try:
        return _parse(raw, max_bytes)
    except Exception as exc:
        error = f"body unreadable: {exc!r}"
    try:
        parsed = _parse(raw, max_bytes, headers_only=True)
        return replace(parsed, parse_error="; ".join(filter(None, (error, parsed.parse_error))))
    except Exception as exc:
        error = f"unparseable message: {exc!r}"
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
        truncated_at=None,
        parse_error=error,
    )
