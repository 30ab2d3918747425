"""The email fallback: a reply the guest left unread is also sent to the email they left.

When a channel asks for it (``Channel.unseen_reply_email_after``: the web
chat's ``email_fallback_after_seconds``), ``email_fallback_at``
(``inbox/fallback_schedule.py``) gives a
new reply the time it is due, stored with it (``store/fallback.py``). A
``read`` receipt before then removes it. Every suite replica runs an
:class:`EmailFallback`: it claims due replies (a compare-and-set each, so
one replica takes a reply) and, when the guest left an email address (or
is known by a verified one) and the hotel's ``email`` channel is enabled,
queues the same text as an outbound email, which the outbox relay and the
hotel's bot send like any other (``inbox/outbox.py``).

Exactly once: the email's message id is the reply's with ``-email``, so a
replica that dies after queueing it and before marking the reply done
queues nothing more when the claim expires and the reply is taken again.
Only the store is used: a Redis outage delays the email, never loses it.

One thread per chat: every email of one web chat conversation goes in one
email conversation, keyed by the guest's address and the chat's
conversation id (:func:`fallback_conversation_key`). The email channel
threads its replies by conversation (same subject, In-Reply-To and
References the chain of the ones before), and a guest's answer to one of
them lands in that conversation of the staff inbox, with the guest.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Final

import anyio
from anyio.abc import TaskStatus
from begasist_core import DeliveryStatus, GuestIdentity, UnknownChannel

from begasist_suite.inbox.fallback_schedule import channel_settings
from begasist_suite.inbox.outbox import queue_reply
from begasist_suite.services import Services
from begasist_suite.store.fallback import FallbackEntry
from begasist_suite.store.records import Guest

__all__ = [
    "EMAIL_CHANNEL",
    "EmailFallback",
    "fallback_conversation_key",
    "fallback_message_id",
]

log = logging.getLogger(__name__)

EMAIL_CHANNEL: Final = "email"
"""The channel the fallback sends through (the ``email`` entry point's)."""
POLL_SECONDS: Final = 5.0
HOLD: Final = timedelta(seconds=60)
"""How long a claim lasts: far longer than queueing one email."""
BATCH: Final = 50


def fallback_conversation_key(address: str, conversation_id: str) -> str:
    """The email conversation the fallback emails of one chat go in, for *address*.

    Shaped like the email channel's own keys (``<guest address>|<32 hex digits>``).
    """
    digest = hashlib.sha256(f"fallback\0{conversation_id}".encode()).hexdigest()[:32]
    return f"{address.lower()}|{digest}"


def fallback_message_id(message_id: str) -> str:
    """The id of the email a reply *message_id* is sent as: one per reply, ever."""
    return f"{message_id}-email"


class EmailFallback:
    """Emails the replies left unread past their time; :meth:`run` until :meth:`stop`."""

    def __init__(
        self,
        services: Services,
        *,
        poll_seconds: float = POLL_SECONDS,
        hold: timedelta = HOLD,
        batch: int = BATCH,
    ) -> None:
        self._services = services
        self.poll_seconds = poll_seconds
        self.hold = hold
        self.batch = batch
        self._scope: anyio.CancelScope | None = None
        self._failing = False

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Take due replies every ``poll_seconds`` until :meth:`stop`; a failing store
        is logged (once per spell) and tried again."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            task_status.started()
            while True:
                taken = 0
                try:
                    taken = await self.run_once()
                except Exception:
                    if not self._failing:
                        log.warning("email fallback: a pass failed; retrying", exc_info=True)
                    self._failing = True
                else:
                    self._failing = False
                if taken < self.batch:
                    await anyio.sleep(self.poll_seconds)

    async def run_once(self, *, now: datetime | None = None) -> int:
        """One pass: claim up to a batch of due replies, email those that need it, mark
        them done. Returns how many were taken (emailed or not)."""
        store = self._services.store
        entries = await store.claim_fallbacks(now=now, hold=self.hold, limit=self.batch)
        for entry in entries:
            await self.fall_back(entry)
            await store.fallback_done(entry)
        return len(entries)

    async def fall_back(self, entry: FallbackEntry) -> None:
        """Queue the email for one claimed reply, unless it needs none (read since, no
        address, no enabled email channel); queueing it again queues nothing."""
        store = self._services.store
        reply = await store.get_message(entry.hotel, entry.message_id)
        if reply is None or reply.status is DeliveryStatus.READ or not reply.text.strip():
            return
        chat = await store.get_conversation(entry.hotel, entry.conversation_id)
        if chat is None or chat.guest_id is None:
            return
        guest = await store.get_guest(entry.hotel, chat.guest_id)
        address = None if guest is None else _email_of(guest)
        if guest is None or address is None:
            return
        if not await self._email_enabled(entry.hotel):
            return
        conversation = await store.open_conversation(
            entry.hotel,
            EMAIL_CHANNEL,
            fallback_conversation_key(address, chat.id),
            GuestIdentity(channel=EMAIL_CHANNEL, address=address, display_name=guest.display_name),
            guest_id=guest.id,
        )
        await queue_reply(
            self._services,
            conversation,
            reply.text,
            message_id=fallback_message_id(reply.id),
            sent_by=reply.sent_by,
        )
        log.info("hotel %s: reply %s unread, sent by email too", entry.hotel, reply.id)

    async def _email_enabled(self, hotel: str) -> bool:
        try:
            channel_class = self._services.plugins.channel(EMAIL_CHANNEL)
        except UnknownChannel:
            return False
        settings = await channel_settings(self._services, hotel, channel_class)
        return settings is not None and settings.enabled


def _email_of(guest: Guest) -> str | None:
    """The address to email *guest* at: one they proved (an identity), else one they left."""
    for found in (*guest.identities, *guest.contacts):
        if found.channel == EMAIL_CHANNEL:
            return found.address
    return None
