"""What the suite tells a hotel's bot, queued in the store's outbox for the relay to publish.

Nothing here talks to Redis: each function stores its change and the event
announcing it together (one write, or one SQLite transaction), and wakes this
process's relay once that is committed (``inbox/relay.py``). So an answer the
API gives after these is never lost, whether or not Redis is up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, TypeVar

from begasist_core import (
    ChannelCommand,
    Direction,
    Event,
    Message,
    MessageTemplate,
    make_event,
    new_id,
)

from begasist_suite.inbox.fallback_schedule import email_fallback_at
from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord

__all__ = ["CONFIG_CHANGE_GRACE", "change_settings", "queue_command", "queue_reply"]

log = logging.getLogger(__name__)

T = TypeVar("T")

CONFIG_CHANGE_GRACE: Final = timedelta(seconds=10)
"""Where a settings change is not one transaction (Astra): how soon ``config.changed``
follows even if the process dies mid-change."""


def _relay_after_commit(services: Services) -> None:
    services.store.after_commit(services.wake_relay)


async def queue_reply(
    services: Services,
    conversation: ConversationRecord,
    text: str,
    *,
    message_id: str | None = None,
    reply_to: str | None = None,
    template: MessageTemplate | None = None,
    sent_by: str | None = None,
) -> Message:
    """Store an outbound message, queued, with its ``message.send`` in the outbox; return it.

    *sent_by* records who sent it (``Message.sent_by``): the staff member's user
    id, or ``"assistant"``. On a channel that asks for it, the message is also
    due for the email fallback (``inbox/email_fallback.py``).

    With a fixed *message_id* (the assistant's reply to a given message, an
    approved draft, a request with an ``Idempotency-Key``) this is idempotent:
    a second call stores nothing and returns the stored message.
    """
    message = Message(
        id=message_id or new_id(),
        hotel=conversation.hotel,
        channel=conversation.channel,
        conversation_key=conversation.key,
        direction=Direction.OUTBOUND,
        guest=conversation.guest,
        text=text,
        reply_to=reply_to,
        template=template,
        sent_by=sent_by,
    )
    fallback_at = await email_fallback_at(services, conversation, now=message.created_at)
    if await services.store.add_outbound(conversation, message, email_fallback_at=fallback_at):
        _relay_after_commit(services)
        services.live.notify(
            conversation.hotel,
            "message.created",
            conversation_id=conversation.id,
            message_id=message.id,
        )
    else:
        stored = await services.store.get_message(conversation.hotel, message.id)
        if stored is not None:
            message = stored
    return message


async def queue_command(
    services: Services, hotel: str, command: ChannelCommand, *, event_id: str | None = None
) -> Event:
    """Queue *command* for *hotel*'s bot (its control stream); return the event.

    With a fixed *event_id* a second call queues nothing new.
    """
    event = make_event(hotel, command)
    if event_id is not None:
        event = event.model_copy(update={"id": event_id, "key": event_id})
    if await services.store.queue_command(event):
        _relay_after_commit(services)
    return event


async def change_settings(services: Services, hotel: str, change: Callable[[], Awaitable[T]]) -> T:
    """Run *change* (to *hotel*'s channel settings), bump the config version, queue
    ``config.changed``; one transaction where the store has them.

    Where it has not (Astra), an intent written first makes ``config.changed``
    follow within :data:`CONFIG_CHANGE_GRACE` even if the process dies before
    the end; the relay publishes the version the hotel has when it publishes.
    """
    store = services.store
    async with store.unit_of_work():
        await store.intend_config_change(hotel, within=CONFIG_CHANGE_GRACE)
        result = await change()
        version = await store.bump_config_version(hotel)
        await store.queue_config_changed(hotel)
    _relay_after_commit(services)
    log.info("hotel %s: channel settings changed (config version %d)", hotel, version)
    return result
