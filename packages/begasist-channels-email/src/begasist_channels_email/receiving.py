"""From a raw message in the hotel's mailbox to the ``message.received`` the suite stores.

The IMAP loop hands each new message here (``Receiver.deliver``) and moves
its cursor only after this returned: by then the event is in the events
stream, so nothing read is lost if the bot dies. What happens to a message:

- parsed (``parsing.parse_email``); a malformed one is kept: its raw bytes
  go to the media store as ``message/rfc822`` and the message says it could
  not be read, with the parse error (the sender, subject and Message-ID that
  could be read stay, even when the body could not);
- a large one is judged by decoded content, not by its encoded size: the
  guest's text always stays, each file is stored or refused by its own size
  (``storing.py``; the text says which was refused and why), and a mail cut
  because it was longer than what is read keeps its raw original (cut to
  ``max_message_bytes``, with a note saying so);
- kept the same way when it has no usable sender address (none, or too long);
- skipped, with a logged reason, when it comes from the hotel's own address
  or from an ``ignore_senders`` entry;
- threaded (``threads.ThreadIndex``) into a conversation of this guest;
- its attachments and inline images stored in the media store;
- the text staff see is the guest's own words and, for a forward, the
  forwarded mail (quoted history and signatures are left out);
- marked ``automated`` when it is an auto-reply, a bounce or a list mail, or
  when it has nothing written (empty, or only quoted history), so the
  assistant never answers it;
- emitted with the Message-ID as the provider id: after a UIDVALIDITY change
  the mailbox is read again, and the suite stores each Message-ID once.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from begasist_core import (
    ChannelContext,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
)

from begasist_channels_email.parsing import EmailKind, ParsedEmail, parse_email
from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.storing import store_attachments, store_raw
from begasist_channels_email.threads import ThreadIndex

__all__ = ["CHANNEL", "Receiver"]

CHANNEL = "email"
MAX_ADDRESS_LENGTH = 320
UNREADABLE = "[this email could not be read: {error}; the original is attached]"
_MAX_TEXT = 65536


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
        parts = await store_attachments(
            self._context, parsed.attachments, uid, cut_at=parsed.truncated_at
        )
        attachments, notes = parts.attachments, parts.notes
        text = parsed.shown_text
        if parsed.parse_error is not None or parsed.truncated_at is not None:
            if parsed.parse_error is not None:
                log.warning("email uid %d: kept raw, %s", uid, parsed.parse_error)
                text = UNREADABLE.format(error=parsed.parse_error)
            copy, cut_note = await store_raw(self._context, raw, uid, cut_at=parsed.truncated_at)
            attachments.append(copy)
            notes.extend(filter(None, [cut_note]))
        footer = "\n".join(notes)
        # The notes are what staff must not miss: a long text gives way to them.
        room = _MAX_TEXT - len(footer) - 2
        text = "\n\n".join(filter(None, [text[: max(room, 0)], footer]))
        message = Message(
            hotel=self._context.hotel,
            channel=CHANNEL,
            conversation_key=conversation,
            direction=Direction.INBOUND,
            guest=GuestIdentity(
                channel=CHANNEL, address=guest, display_name=_cut(parsed.from_name, 200)
            ),
            text=text[:_MAX_TEXT],
            attachments=tuple(attachments),
            provider_message_id=provider_id[:512],
            reply_to=parsed.in_reply_to[0][:512] if parsed.in_reply_to else None,
            created_at=parsed.date or datetime.now(UTC),
            automated=_automated(parsed, has_files=bool(parsed.attachments)),
        )
        if parsed.message_id is not None:
            # Before the event: a reply sent as soon as staff see the message must find
            # the thread's subject and references. Remembering a message whose event then
            # fails is harmless: its redelivery lands in the same conversation.
            await self._threads.remember(
                parsed.message_id,
                conversation,
                parsed.subject,
                guest_address=guest,
                thread_index=parsed.thread_index,
            )
        await self._context.emit(MessageReceived(message=message))

    def _ignored(self, sender: str) -> bool:
        if sender == self._settings.address.lower():
            return True  # our own reply, copied back by a rule or a Bcc
        return any(
            sender.endswith(entry.lower()) if entry.startswith("@") else sender == entry.lower()
            for entry in self._settings.ignore_senders
        )


def _automated(parsed: ParsedEmail, *, has_files: bool) -> str | None:
    if parsed.kind is not EmailKind.GUEST:
        return (parsed.kind_reason or parsed.kind.value)[:200]
    if parsed.parse_error is not None:
        return "unreadable email: staff answer it by hand"
    if not parsed.shown_text.strip():
        # Nothing written (or only quoted history): there is nothing for the assistant to answer.
        if has_files:
            return "email with files and no text: staff answer it by hand"
        return "empty email: nothing to answer"
    return None


def _cut(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit] or None
