"""A mail's files and raw original into the media store, each judged by its own decoded size.

A file too large for the limit, or cut because the mail was larger than what
is read (:func:`~begasist_channels_email.parsing.fetch_limit`), is refused on
its own: the message keeps its text and its other files, lists the refused
one (name, type, decoded size, no link) and gets a note saying which and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from begasist_core import Attachment, AttachmentKind, ChannelContext, MediaRejected

from begasist_channels_email.parsed_body import ParsedAttachment
from begasist_channels_email.settings import EmailSettings

__all__ = ["StoredParts", "human_size", "store_attachments", "store_raw"]

_MAX_FIELD = 255  # the event's (and the media store's) names and types stop here


@dataclass
class StoredParts:
    """What a mail's parts became: the message's attachments and the notes for staff."""

    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def human_size(size: int) -> str:
    """Bytes as people read them: ``512 bytes``, ``20.0 MB`` (MB = 1024 x 1024 bytes)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size / (1024 * 1024):.1f} MB"


def _kind_of(mime_type: str) -> AttachmentKind:
    main = mime_type.split("/", 1)[0].lower()
    return {
        "image": AttachmentKind.IMAGE,
        "video": AttachmentKind.VIDEO,
        "audio": AttachmentKind.AUDIO,
    }.get(main, AttachmentKind.DOCUMENT)


def _short_filename(name: str | None, limit: int = _MAX_FIELD) -> str | None:
    """*name* cut to *limit* characters, its extension kept when it is a short one."""
    if name is None or len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return f"{stem[: limit - len(extension) - 1]}.{extension}"
    return name[:limit]


async def store_attachments(
    context: ChannelContext[EmailSettings],
    parts: tuple[ParsedAttachment, ...],
    uid: int,
    *,
    cut_at: int | None,
) -> StoredParts:
    """Store each part whose decoded size is within ``max_message_bytes``; refuse the others.

    ``cut_at``: the mail was read only that far, so an incomplete part is refused
    as cut. A refused part stays in the list with its decoded size and no link.
    """
    limit = context.settings.max_message_bytes
    result = StoredParts()
    for part in parts:
        kind = _kind_of(part.mime_type)
        mime_type = (
            part.mime_type if len(part.mime_type) <= _MAX_FIELD else "application/octet-stream"
        )
        filename = _short_filename(part.filename)
        size = len(part.data)
        reason = None
        if not part.complete:
            reason = (
                f"the email is larger than the {human_size(cut_at or 0)} read, "
                "so this file did not arrive whole"
            )
        elif size > limit:
            reason = f"{human_size(size)}, over the limit of {human_size(limit)} per file"
        if reason is None:
            try:
                stored = await context.media.put(
                    context.hotel,
                    part.data,
                    mime_type=mime_type,
                    filename=filename,
                    max_bytes=limit,
                )
            except MediaRejected as refused:
                reason = str(refused) or type(refused).__name__
            else:
                result.attachments.append(
                    Attachment(
                        kind=kind,
                        mime_type=stored.mime_type,
                        filename=filename,
                        size_bytes=stored.size_bytes,
                        sha256=stored.sha256,
                        url=stored.url,
                    )
                )
                continue
        context.logger.warning("email uid %d: attachment %r not stored: %s", uid, filename, reason)
        shown = f'"{filename}"' if filename else f"of type {mime_type}"
        at_least = "at least " if not part.complete else ""
        result.notes.append(
            f"[attachment {shown} ({at_least}{human_size(size)}) not stored: {reason}]"
        )
        result.attachments.append(
            Attachment(kind=kind, mime_type=mime_type, filename=filename, size_bytes=size)
        )
    return result


async def store_raw(
    context: ChannelContext[EmailSettings], raw: bytes, uid: int, *, cut_at: int | None
) -> tuple[Attachment, str | None]:
    """The raw mail as a ``message/rfc822`` file, within ``max_message_bytes``; and a note
    when the stored copy is not the whole original (None when it is)."""
    limit = context.settings.max_message_bytes
    kept = raw[:limit]
    note = None
    if cut_at is not None or len(raw) > limit:
        larger = f"larger than {human_size(cut_at)}" if cut_at is not None else human_size(len(raw))
        note = (
            f"[the original email ({larger}) is attached cut to its first {human_size(len(kept))}]"
        )
    filename = f"message-{uid}.eml"
    stored = await context.media.put(
        context.hotel,
        kept,
        mime_type="message/rfc822",
        filename=filename,
        max_bytes=max(len(kept), 1),
    )
    attachment = Attachment(
        kind=AttachmentKind.DOCUMENT,
        mime_type="message/rfc822",
        filename=filename,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        url=stored.url,
    )
    return attachment, note
