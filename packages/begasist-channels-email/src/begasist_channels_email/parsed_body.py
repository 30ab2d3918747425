"""A message's readable text and its attachments, from its MIME tree."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, replace
from email import errors
from email.message import Message

from begasist_channels_email.html_text import HISTORY_MARK, html_to_text

__all__ = ["ParsedAttachment", "read_body"]

# Defects that mean the MIME structure or an encoding is broken, not just untidy.
_BROKEN = (
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.NoBoundaryInMultipartDefect,
    errors.MultipartInvariantViolationDefect,
    errors.MissingHeaderBodySeparatorDefect,
    errors.InvalidBase64PaddingDefect,
    errors.InvalidBase64CharactersDefect,
    errors.InvalidBase64LengthDefect,
)


@dataclass(frozen=True)
class ParsedAttachment:
    """A file or inline image of a mail: the caller puts ``data`` in the core media store."""

    filename: str | None
    mime_type: str
    data: bytes
    inline: bool
    """Shown in the body (``Content-Disposition: inline`` or referenced by ``cid:``)."""
    content_id: str | None
    """``Content-ID`` without ``<>``: what the HTML body's ``cid:`` links name."""
    complete: bool = True
    """False for the part a cut message ended in: ``data`` is only its beginning."""


def _decode(payload: bytes, charset: str) -> str:
    """Bytes to text in ``charset``; undecodable bytes fall back to windows-1252, never raise."""
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        return payload.decode("windows-1252", "replace")


def _part_text(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "us-ascii").strip().strip("'\"")
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        problems.append(f"unknown charset {charset!r}")
        charset = "utf-8"
    if codecs.lookup(charset).name in ("ascii", "latin-1", "iso8859-1"):
        # Text labelled ASCII or Latin-1 is often UTF-8 or windows-1252 in fact: try UTF-8,
        # then windows-1252 (Latin-1's superset, as browsers read it).
        charset = "utf-8" if not payload.isascii() else "ascii"
    return _decode(payload, charset)


def _unflow(text: str, delete_space: bool) -> str:
    """Join RFC 3676 ``format=flowed`` soft line breaks (a line ending in a space)."""
    out: list[str] = []
    joining = False
    for line in text.split("\n"):
        if joining:
            out[-1] += line
        else:
            out.append(line)
        joining = line.endswith(" ") and line != "-- " and not line.startswith(">")
        if joining and delete_space:
            out[-1] = out[-1][:-1]
    return "\n".join(out)


def _leaves(message: Message) -> list[tuple[Message, str]]:
    """The non-multipart parts in order, with their content types; iterative, so a
    mail nested thousands of levels deep is read, not a RecursionError."""
    leaves: list[tuple[Message, str]] = []
    pending = [message]
    while pending:
        part = pending.pop()
        content_type = part.get_content_type()
        payload = part.get_payload()
        if content_type.startswith("multipart/") and isinstance(payload, list):
            pending.extend(sub for sub in reversed(payload) if isinstance(sub, Message))
        else:
            leaves.append((part, content_type))
    return leaves


def _walk(message: Message) -> list[Message]:
    """Every part, multiparts included, without recursion (``Message.walk`` recurses)."""
    found, pending = [], [message]
    while pending:
        part = pending.pop()
        found.append(part)
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            pending.extend(sub for sub in payload if isinstance(sub, Message))
    return found


def _is_body_text(part: Message, content_type: str) -> bool:
    return (
        content_type in ("text/plain", "text/html")
        and part.get_content_disposition() != "attachment"
        and part.get_filename() is None
    )


def _attachment(part: Message, content_type: str) -> ParsedAttachment:
    if part.is_multipart():
        # message/rfc822, message/delivery-status: the email package holds them as messages.
        inner = part.get_payload()
        parts = inner if isinstance(inner, list) else [inner]
        data = b"".join(sub.as_bytes() for sub in parts if isinstance(sub, Message))
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    content_id = part.get("Content-ID")
    cid = str(content_id).strip().strip("<>").strip() if content_id is not None else None
    disposition = part.get_content_disposition()
    return ParsedAttachment(
        filename=part.get_filename(),
        mime_type=content_type,
        data=data,
        inline=disposition == "inline" or (disposition is None and bool(cid)),
        content_id=cid or None,
    )


def _plain_text(part: Message, problems: list[str]) -> str:
    # The mark is ours (HTML quote containers); in a text part it means nothing.
    text = _part_text(part, problems).replace("\r\n", "\n").replace(HISTORY_MARK, "")
    if str(part.get_param("format", "")).lower() == "flowed":
        return _unflow(text, delete_space=str(part.get_param("delsp", "")).lower() == "yes")
    return text


def read_body(
    message: Message, problems: list[str], *, cut: bool = False
) -> tuple[str, list[ParsedAttachment]]:
    """The body text (text/plain preferred, else the HTML part as text) and the other parts.

    Text from HTML holds :data:`~begasist_channels_email.html_text.HISTORY_MARK`
    lines where quote containers open (``without_history_marks`` removes them).

    Problems (unknown charsets, broken MIME structure or base64) are appended to
    ``problems``; whatever could be decoded is returned. A part that cannot be
    read at all is left out, with a problem saying so. With ``cut`` (the raw
    message was read only partly), the last part is marked incomplete and the
    defects the cut causes (no closing boundary, short base64) are not problems.
    """
    leaves = _leaves(message)
    texts = [(part, kind) for part, kind in leaves if _is_body_text(part, kind)]
    # Every plain part: a client may split the text around an inline image (Apple Mail).
    plains = [part for part, kind in texts if kind == "text/plain"]
    html = next((part for part, kind in texts if kind == "text/html"), None)
    text = ""
    if plains:
        text = "\n".join(_plain_text(plain, problems).strip("\n") for plain in plains)
    elif html is None and len(leaves) == 1 and leaves[0][1].startswith("multipart/"):
        # No boundary found: the whole body is unstructured; show it rather than nothing.
        text, leaves = _part_text(leaves[0][0], problems), []
    if not text.strip() and html is not None:
        text = html_to_text(_part_text(html, problems), mark_history=True)
    attachments = []
    body_parts = {id(part) for part, _ in texts}
    last = leaves[-1][0] if cut and leaves else None
    for part, content_type in leaves:
        if id(part) in body_parts:
            continue
        try:
            attachment = _attachment(part, content_type)
        except Exception as exc:
            problems.append(f"attachment unreadable: {exc!r}")
            continue
        attachments.append(attachment if part is not last else replace(attachment, complete=False))
    if not cut:
        for part in _walk(message):
            for defect in part.defects:
                if isinstance(defect, _BROKEN):
                    problems.append(f"{type(defect).__name__} in {part.get_content_type()}")
    return text.replace("\r\n", "\n").strip(), attachments
