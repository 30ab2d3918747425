"""The suite's event consumer: applies what bots report to the store, once.

Runs as a background task of every suite replica; the replicas share one
consumer group on the events stream, so each event is handled by one of them
and re-handled by another if its replica dies before the ack.
"""

from __future__ import annotations

import logging
import os
import socket

from begasist_core import (
    ChannelStateChanged,
    ConsumerOptions,
    Delivery,
    Event,
    GuestPreferenceChanged,
    MessageChanged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    RejectedEvent,
    StreamConsumer,
    TemplateStatusChanged,
)

from begasist_suite.guest.pending import GuestFiles
from begasist_suite.inbox.assistant import Assistant
from begasist_suite.inbox.template_statuses import record_template_status
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelStatus

__all__ = ["CONSUMER_GROUP", "EventApplier", "build_consumer", "count_unknown", "unknown_counts"]

log = logging.getLogger(__name__)

CONSUMER_GROUP = "suite"

MAX_INBOUND_ID = 48
"""Longest inbound ``Message.id`` taken (bots make 26-character ULIDs)."""


class MessageNotStoredYet(Exception):
    """A receipt for a message id the store does not have: retried later."""


class EventApplier:
    """Handles one event: the handler of the suite's :class:`StreamConsumer`.

    * ``message.received``: stored once per (hotel, channel, provider id), the
      guests' uploads its attachments name kept first; the responder runs until
      it has run once, even across redeliveries.
    * ``message.status``: applied forward-only.
    * ``message.changed``: an edit, deletion or reaction applied forward-only to the
      message it names (``store/message_changes.py``).
    * ``message.echoed``: a message the hotel sent from elsewhere, stored as sent in
      its guest's conversation, once, and never sent.

    * ``guest.preference``: the guest's opt-out kept on their identity, latest wins.
    * ``template.status``: the template's review status, category and quality kept
      (``inbox/template_statuses.py``), latest wins.

    A receipt or change for a message the store does not have is counted
    (:func:`count_unknown`) and logged, then dropped.
    * ``channel.state``: recorded as the channel's latest state.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self.assistant = Assistant(services)
        self._files = GuestFiles(services.settings.media_dir)

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        # The consumer runs each batch in the store's unit of work: a failing event
        # must leave none of its writes in the batch's transaction.
        async with self._services.store.savepoint():
            await self._apply(event)

    async def _apply(self, event: Event) -> None:
        data = event.data
        if isinstance(data, MessageReceived):
            await self._message(event.hotel, data)
        elif isinstance(data, MessageStatusChanged):
            await self._status(event.hotel, data)
        elif isinstance(data, MessageChanged):
            await self._change(event.hotel, data)
        elif isinstance(data, MessageEchoed):
            await self._echo(event.hotel, data)
        elif isinstance(data, GuestPreferenceChanged):
            await self._services.store.apply_preference(event.hotel, data)
        elif isinstance(data, TemplateStatusChanged):
            await record_template_status(self._services, event.hotel, data)
        elif isinstance(data, ChannelStateChanged):
            await self._state(event.hotel, data, event)
        else:
            raise RejectedEvent(f"{event.type} does not belong on the events stream")

    async def _message(self, hotel_slug: str, data: MessageReceived) -> None:
        message = data.message
        if message.hotel != hotel_slug:
            raise RejectedEvent("the message's hotel differs from the envelope's")
        store = self._services.store
        hotel = await store.get_hotel(hotel_slug)
        if hotel is None:
            raise RejectedEvent(f"no hotel {hotel_slug!r}")
        if len(message.id) > MAX_INBOUND_ID:
            # The draft and reply ids derived from it must stay within Message.id's 64.
            raise RejectedEvent(f"inbound message ids are at most {MAX_INBOUND_ID} characters")
        # A guest's upload it names is kept before the message is (guest/pending.py).
        await self._files.keep_attachments(message)
        recorded = await store.record_inbound(message)
        if recorded.created:
            self._services.live.notify(
                hotel_slug,
                "message.created",
                conversation_id=recorded.conversation.id,
                message_id=recorded.message.id,
            )
        if not recorded.responded and await self.assistant.respond(
            hotel, recorded.conversation, recorded.message
        ):
            # Only what the responder did needs remembering: the draft and reply
            # ids are derived from the message's, so this is an optimisation,
            # not what prevents a second reply.
            await store.mark_responded(hotel_slug, recorded.message.id)

    async def _status(self, hotel: str, data: MessageStatusChanged) -> None:
        moved = await self._services.store.apply_status(hotel, data)
        if moved is None and data.message_id is not None:
            # A receipt naming our own message id: the message is on its way into
            # the store (a batch not yet committed, or retried). Retry the receipt
            # rather than drop it; after max_deliveries it goes to the dead letters.
            raise MessageNotStoredYet(
                f"message {data.message_id!r} of hotel {hotel!r} is not stored (yet)"
            )
        if moved is None:
            await count_unknown(self._services, hotel, data.channel, "status")
            log.info(
                "hotel %s: status %s for unknown message %s on %s",
                hotel,
                data.status.value,
                data.provider_message_id,
                data.channel,
            )
            return
        self._services.live.notify(
            hotel,
            "message.status",
            message_id=moved.id,
            status=moved.status.value,
            failed=moved.failed,
        )

    async def _change(self, hotel: str, data: MessageChanged) -> None:
        changed = await self._services.store.apply_change(hotel, data)
        if changed is None:
            await count_unknown(self._services, hotel, data.channel, "change")
            log.info(
                "hotel %s: %s of unknown message %s on %s",
                hotel,
                data.change.kind,
                data.provider_message_id,
                data.channel,
            )
            return
        self._services.live.notify(hotel, "message.changed", message_id=changed.id)

    async def _echo(self, hotel: str, data: MessageEchoed) -> None:
        if data.message.hotel != hotel:
            raise RejectedEvent("the message's hotel differs from the envelope's")
        if await self._services.store.get_hotel(hotel) is None:
            raise RejectedEvent(f"no hotel {hotel!r}")
        recorded = await self._services.store.record_echo(data)
        if recorded.created:
            self._services.live.notify(
                hotel,
                "message.created",
                conversation_id=recorded.conversation.id,
                message_id=recorded.message.id,
            )

    async def _state(self, hotel: str, data: ChannelStateChanged, event: Event) -> None:
        await self._services.store.record_channel_state(
            ChannelStatus(
                hotel=hotel,
                channel=data.channel,
                state=data.state,
                detail=data.detail,
                restarts=data.restarts,
                at=event.ts,
            )
        )
        self._services.live.notify(
            hotel, "channel.state", channel=data.channel, state=data.state.value
        )


UNKNOWN_KEY = "unknown_messages"
"""The hotel's Redis hash counting reports about messages the store does not have."""


async def count_unknown(services: Services, hotel: str, channel: str, what: str) -> None:
    """Count a receipt or change naming a message the store does not have: field
    ``{channel}:{what}`` of the hotel's ``unknown_messages`` hash (no expiry: a total)."""
    key = services.names.hotel_key(hotel, UNKNOWN_KEY)
    await services.redis.hincrby(key, f"{channel}:{what}", 1)


async def unknown_counts(services: Services, hotel: str) -> dict[str, int]:
    """The counts of :func:`count_unknown` for *hotel*, by ``{channel}:{what}``."""
    raw = await services.redis.hgetall(services.names.hotel_key(hotel, UNKNOWN_KEY))
    return {
        (name.decode() if isinstance(name, bytes) else str(name)): int(value)
        for name, value in raw.items()
    }


def build_consumer(services: Services) -> StreamConsumer:
    settings = services.settings
    name = settings.consumer_name or f"{socket.gethostname()}-{os.getpid()}"
    return StreamConsumer(
        services.redis,
        stream=services.names.events,
        group=CONSUMER_GROUP,
        consumer=name,
        handler=EventApplier(services),
        dead_letters=services.dead_letters,
        options=ConsumerOptions(
            claim_idle_seconds=settings.claim_idle_seconds, max_deliveries=settings.max_deliveries
        ),
        logger=log,
        batch_scope=services.store.unit_of_work,
    )
