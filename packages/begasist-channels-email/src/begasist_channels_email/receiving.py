"""From a raw message in the hotel's mailbox to the ``message.received`` the suite stores.

The IMAP loop hands each new message here (``Receiver.deliver``) and moves
its cursor only after this returned: by then the event is in the events
stream, so nothing read is lost if the bot dies. What happens to a message:

- parsed (``parsing.parse_email``); a malformed or oversized one is kept:
  its raw bytes go to the media store as ``message/rfc822`` and the message
  says it could not be read, with the parse error;
- kept the same way when it has no usable sender address (none, or too long);
- skipped, with a logged reason, when it comes from the hotel's own address
  or from an ``ignore_senders`` entry;
- threaded (``threads.ThreadIndex``) into a conversation of this guest;
- its attachments and inline images stored in the media store;
- marked ``automated`` when it is an auto-reply, a bounce or a list mail, so
  the assistant never answers it;
- emitted with the Message-ID as the provider id: after a UIDVALIDITY change
  the mailbox is read again, and the suite stores each Message-ID once.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelContext,
    Direction,
    GuestIdentity,
    MediaRejected,
    Message,
    MessageReceived,
)

from begasist_channels_email.parsing import EmailKind, ParsedAttachment, ParsedEmail, parse_email
from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.threads import ThreadIndex

__all__ = ["CHANNEL", "Receiver"]

CHANNEL = "email"
MAX_ADDRESS_LENGTH = 320
UNREADABLE = "[this email could not be read: {error}; the original is attached]"


class Receiver:
    """Turns one hotel's raw messages into events; see the module doc for the rules."""

    def __init__(self, context: ChannelContext[EmailSettings], threads: ThreadIndex) -> None:
        self._context = context
        self._threads = threads

    @property
    def _settings(self) -> EmailSettings:
        return self._context.settings

    async def deliver(self, raw: bytes, uid: int) -> None:
        """Parse, thread, store and emit the message *raw* (IMAP UID *uid*)."""
        settings = self._settings
        parsed = parse_email(raw, max_bytes=settings.max_message_bytes)
        problem = None
        if parsed.from_address is None:
            problem = "no sender address"  # RFC 5322 requires one: malformed, kept
        elif len(parsed.from_address) > MAX_ADDRESS_LENGTH:
            # No address is that long (RFC 5321); the event could not hold it: kept raw.
            problem = f"sender address of {len(parsed.from_address)} characters"
        if problem is not None:
            parsed = replace(
                parsed,
                from_address=None,
                from_name=None,
                parse_error="; ".join(dict.fromkeys(filter(None, (parsed.parse_error, problem)))),
            )
        sender = parsed.from_address
        log = self._context.logger
        if sender is not None and self._ignored(sender):
            log.info("email uid %d: skipped, sender %s is ignored", uid, sender)
            return
        guest = sender or "unknown-sender@invalid"
        conversation = await self._threads.conversation_for(
            parsed, guest, new_subject_new_conversation=settings.new_subject_new_conversation
        )
        provider_id = parsed.message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"
        attachments = [await self._stored(part, uid) for part in parsed.attachments]
        text = parsed.reply_text or parsed.text
        if parsed.parse_error is not None:
            log.warning("email uid %d: kept raw, %s", uid, parsed.parse_error)
            attachments.append(await self._raw_copy(raw, uid))
            text = UNREADABLE.format(error=parsed.parse_error)
        message = Message(
            hotel=self._context.hotel,
            channel=CHANNEL,
            conversation_key=conversation,
            direction=Direction.INBOUND,
            guest=GuestIdentity(
                channel=CHANNEL, address=guest, display_name=_cut(parsed.from_name, 200)
            ),
            text=text[:65536],
            attachments=tuple(a for a in attachments if a is not None),
            provider_message_id=provider_id[:512],
            reply_to=parsed.in_reply_to[0][:512] if parsed.in_reply_to else None,
            created_at=parsed.date or datetime.now(UTC),
            automated=_automated(parsed),
        )
        await self._context.emit(MessageReceived(message=message))
        if parsed.message_id is not None:
            await self._threads.remember(
                parsed.message_id,
                conversation,
                parsed.subject,
                guest_address=guest,
                thread_index=parsed.thread_index,
            )

    def _ignored(self, sender: str) -> bool:
        if sender == self._settings.address.lower():
            return True  # our own reply, copied back by a rule or a Bcc
        return any(
            sender.endswith(entry.lower()) if entry.startswith("@") else sender == entry.lower()
            for entry in self._settings.ignore_senders
        )

    async def _stored(self, part: ParsedAttachment, uid: int) -> Attachment | None:
        kind = _kind_of(part.mime_type)
        # The event's fields (and the media store's) stop at 255 characters; a mail's do not.
        mime_type = part.mime_type if len(part.mime_type) <= 255 else "application/octet-stream"
        filename = _short_filename(part.filename)
        try:
            stored = await self._context.media.put(
                self._context.hotel,
                part.data,
                mime_type=mime_type,
                filename=filename,
                max_bytes=self._settings.max_message_bytes,
            )
        except MediaRejected as refused:
            self._context.logger.warning(
                "email uid %d: attachment %r not stored: %s", uid, filename, refused
            )
            return Attachment(kind=kind, mime_type=mime_type, filename=filename)
        return Attachment(
            kind=kind,
            mime_type=stored.mime_type,
            filename=filename,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            url=stored.url,
        )

    async def _raw_copy(self, raw: bytes, uid: int) -> Attachment:
        stored = await self._context.media.put(
            self._context.hotel,
            raw,
            mime_type="message/rfc822",
            filename=f"message-{uid}.eml",
            max_bytes=max(len(raw), 1),
        )
        return Attachment(
            kind=AttachmentKind.DOCUMENT,
            mime_type="message/rfc822",
            filename=f"message-{uid}.eml",
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            url=stored.url,
        )


def _automated(parsed: ParsedEmail) -> str | None:
    if parsed.kind is not EmailKind.GUEST:
        return (parsed.kind_reason or parsed.kind.value)[:200]
    if parsed.parse_error is not None:
        return "unreadable email: staff answer it by hand"
    return None


def _kind_of(mime_type: str) -> AttachmentKind:
    main = mime_type.split("/", 1)[0].lower()
    return {
        "image": AttachmentKind.IMAGE,
        "video": AttachmentKind.VIDEO,
        "audio": AttachmentKind.AUDIO,
    }.get(main, AttachmentKind.DOCUMENT)


def _short_filename(name: str | None, limit: int = 255) -> str | None:
    """*name* cut to *limit* characters, its extension kept when it is a short one."""
    if name is None or len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return f"{stem[: limit - len(extension) - 1]}.{extension}"
    return name[:limit]


def _cut(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit] or None
