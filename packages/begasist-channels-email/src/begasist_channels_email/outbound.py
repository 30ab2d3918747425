"""``send`` for the email channel: once per message, threaded, retried on 4xx, copied to Sent.

The order of one send:

1. the ledger (``context.sent``) already has the message: its receipt, nothing sent;
2. the thread's subject and references (:class:`ThreadIndex`), the attachments
   from the media store (one without stored media, such as a location, is
   left out and logged; stored media that is gone is a permanent failure),
   the email (:func:`compose_reply`);
3. SMTP submission, retried in-process with backoff on 4xx and lost
   connections (:data:`SUBMIT_ATTEMPTS`); still failing, a transient error
   for the runtime to redeliver later; a 5xx is a :class:`PermanentSendError`
   with the server's reason;
4. our Message-ID joins the thread (a guest's answer to it lands there), the
   receipt goes to the ledger, with the Message-ID as provider id;
5. a copy is appended to ``sent_folder`` by IMAP when one is set: a failure
   there is logged only, the mail went.

A crash between 3 and 4 sends the mail again on redelivery, with the same
Message-ID, so the guest's client shows it once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from email.errors import MessageError
from email.message import EmailMessage

import anyio
from begasist_core import (
    ChannelContext,
    MediaNotFound,
    MediaRejected,
    Message,
    PermanentSendError,
    SendReceipt,
    media_key_of,
)

from begasist_channels_email.composing import OutboundFile, compose_reply, message_id_for
from begasist_channels_email.imap_connection import ImapConnection
from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.smtp import SmtpTemporaryFailure, submit
from begasist_channels_email.threads import ThreadIndex

__all__ = [
    "SUBMIT_ATTEMPTS",
    "EmailSender",
    "SentCopier",
    "SmtpUnavailable",
    "imap_sent_copier",
]

SUBMIT_ATTEMPTS = 4
"""Tries per send before the runtime gets a transient error (and redelivers later)."""

SentCopier = Callable[[EmailSettings, bytes, str], Awaitable[None]]
"""Appends the raw reply to a folder: ``(settings, raw, folder)``."""


class SmtpUnavailable(Exception):
    """Every attempt met a 4xx or a lost connection: transient, the runtime retries later."""


async def imap_sent_copier(settings: EmailSettings, raw: bytes, folder: str) -> None:
    """APPEND *raw* to *folder* over a fresh IMAP session, flagged ``\\Seen``."""
    async with await ImapConnection.open(settings) as imap:
        await imap.append(raw, folder, flags="\\Seen")


class EmailSender:
    """Sends one hotel's outbound messages; the module doc gives the order of things.

    *retry_delays* are the pauses between attempts (tests shorten them);
    *copy_sent* appends the Sent copy (None: never, whatever ``sent_folder`` says).
    """

    def __init__(
        self,
        context: ChannelContext[EmailSettings],
        threads: ThreadIndex,
        *,
        retry_delays: Sequence[float] = (2.0, 10.0, 30.0),
        copy_sent: SentCopier | None = imap_sent_copier,
    ) -> None:
        self._context = context
        self._threads = threads
        self._retry_delays = tuple(retry_delays)
        self._copy_sent = copy_sent

    async def send(self, message: Message) -> SendReceipt:
        """Send *message* to its guest once; see the module doc for errors and retries."""
        recorded = await self._context.sent.get(message.id)
        if recorded is not None:
            return recorded
        settings = self._context.settings
        subject, in_reply_to, references = await self._threads.thread_headers(
            message.conversation_key, message.reply_to
        )
        try:
            mail = compose_reply(
                message,
                settings,
                subject=subject,
                in_reply_to=in_reply_to,
                references=references,
                files=await self._files(message),
            )
        except (ValueError, TypeError, MessageError) as unusable:
            raise PermanentSendError(f"cannot write this email: {unusable}") from None
        await self._submit(settings, mail)
        our_id = message_id_for(message.id, settings.address)
        await self._threads.remember(
            our_id,
            message.conversation_key,
            str(mail["Subject"]),
            guest_address=message.guest.address,
        )
        # Bare, as the inbound side records Message-IDs: one spelling per id.
        bare_id = our_id.strip("<>")
        receipt = SendReceipt(message_id=message.id, provider_message_ids=(bare_id,))
        await self._context.sent.record(receipt)
        await self._copy(settings, mail.as_bytes())
        return receipt

    async def _submit(self, settings: EmailSettings, mail: EmailMessage) -> None:
        last: SmtpTemporaryFailure | None = None
        for attempt in range(SUBMIT_ATTEMPTS):
            if attempt:
                delays = self._retry_delays or (0.0,)
                await anyio.sleep(delays[min(attempt - 1, len(delays) - 1)])
            try:
                await submit(settings, mail)
                return
            except SmtpTemporaryFailure as failure:
                self._context.logger.warning("email send attempt %d: %s", attempt + 1, failure)
                last = failure
        raise SmtpUnavailable(str(last))

    async def _files(self, message: Message) -> list[OutboundFile]:
        files: list[OutboundFile] = []
        for attachment in message.attachments:
            key = media_key_of(attachment.url)
            if key is None:
                self._context.logger.info(
                    "email %s: attachment %r has no stored media, not attached",
                    message.id,
                    attachment.filename,
                )
                continue
            try:
                stored = await self._context.media.stat(self._context.hotel, key)
                data = await self._context.media.read(self._context.hotel, key)
            except (MediaNotFound, MediaRejected) as missing:
                raise PermanentSendError(f"attachment {attachment.filename!r}: {missing}") from None
            files.append(
                OutboundFile(
                    data=data,
                    mime_type=attachment.mime_type or stored.mime_type,
                    filename=attachment.filename or stored.filename,
                )
            )
        return files

    async def _copy(self, settings: EmailSettings, raw: bytes) -> None:
        if self._copy_sent is None or settings.sent_folder is None:
            return
        try:
            await self._copy_sent(settings, raw, settings.sent_folder)
        except Exception as failure:  # the mail went: a missing copy is only logged
            self._context.logger.warning(
                "email: copy to %r failed: %s", settings.sent_folder, failure
            )
