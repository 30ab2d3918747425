"""The store's side of ``message.changed`` and ``message.echoed``: edits, deletions and
reactions applied to stored messages, and messages the hotel sent from elsewhere."""

from __future__ import annotations

from typing import Any, NamedTuple

from begasist_core import (
    ConversationStatus,
    DeliveryStatus,
    Message,
    MessageChanged,
    MessageEchoed,
)

from begasist_suite.store.base import (
    _CAS_ATTEMPTS,
    Conflict,
    _doc,
    _inbound_id,
    _stable_id,
    _thread_id,
)
from begasist_suite.store.documents import DuplicateDocument, iso
from begasist_suite.store.inbox import InboxStore, message_cursor
from begasist_suite.store.message_parts import PART_OF, whole_message
from begasist_suite.store.records import ECHOED, ConversationRecord
from begasist_suite.store.reply_modes import GUEST_MODE_PENDING
from begasist_suite.store.search import search_tokens

__all__ = ["EchoRecorded", "MessageChangesStore", "echo_document_id"]

_IN_BATCH = 100
"""Values in one ``$in`` (the Data API's limit)."""


class EchoRecorded(NamedTuple):
    conversation: ConversationRecord
    message: Message
    created: bool
    """False when the message was stored before (a replay, or one Begasist sent itself)."""


def echo_document_id(hotel: str, channel: str, provider_message_id: str) -> str:
    return f"echo|{hotel}|{channel}|{provider_message_id}"


class MessageChangesStore(InboxStore):
    """Changes to stored messages and echoes of the hotel's own messages."""

    async def find_by_provider_id(
        self, hotel: str, channel: str, provider_message_id: str
    ) -> Message | None:
        """The message of *hotel* on *channel* with that provider id, either direction."""
        found = await self._provider_document(hotel, channel, provider_message_id)
        return None if found is None else self._message(found)

    async def messages_by_provider_id(
        self, hotel: str, channel: str, provider_message_ids: set[str]
    ) -> dict[str, Message]:
        """The messages of *hotel* on *channel* with these provider ids, by provider id,
        either direction, in two reads per hundred ids (what a page of replies quotes)."""
        wanted = sorted(provider_message_ids)
        documents: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _IN_BATCH):
            batch = wanted[start : start + _IN_BATCH]
            documents += await self._messages.find(
                {"hotel": hotel, "provider_key": {"$in": [f"{channel}|{each}" for each in batch]}}
            )
            documents += await self._messages.find(
                {"_id": {"$in": [_inbound_id(hotel, channel, each) for each in batch]}}
            )
        found = {}
        for document in documents:
            if PART_OF in document:  # a further part: quoted as the whole message
                whole = await whole_message(self._messages, document)
                if whole is not None:
                    found[str(document["provider_key"]).split("|", 1)[1]] = self._message(whole)
                continue
            message = self._message(document)
            if message.provider_message_id:
                found[message.provider_message_id] = message
        return found

    async def apply_change(self, hotel: str, event: MessageChanged) -> Message | None:
        """Apply an edit, deletion or reaction to the message it names; None if unknown.

        Forward-only and idempotent (``Message.with_change``): a replay or an older
        change returns the message unchanged and writes nothing. A compare-and-set
        on the revision makes concurrent changes safe across replicas.
        """
        for _ in range(_CAS_ATTEMPTS):
            found = await self._provider_document(hotel, event.channel, event.provider_message_id)
            if found is None:
                return None
            current = self._message(found)
            changed = current.with_change(
                event.change, at=event.at, by=event.by.address if event.by else None
            )
            if changed is current:
                return current
            fields = changed.model_dump(mode="json", include={"text", "changes", "updated_at"})
            updated = await self._messages.update_one(
                {"_id": found["_id"], "revision": found["revision"]},
                {"$set": fields, "$inc": {"revision": 1}},
            )
            if updated is not None:
                return self._message(updated)
        raise Conflict(f"message {event.provider_message_id!r} kept changing; change not applied")

    async def record_echo(self, event: MessageEchoed) -> EchoRecorded:
        """Store a message the hotel sent from elsewhere as sent, in its guest's conversation.

        Once per provider id; never queued for sending (no outbox entry). A message
        Begasist sent itself (its receipt recorded the provider id) is not stored twice.
        """
        message = event.message
        hotel, channel = message.hotel, message.channel
        provider_id = message.provider_message_id or ""
        conversation = await self._echo_conversation(message)
        known = await self._provider_document(hotel, channel, provider_id)
        if known is not None:
            return EchoRecorded(conversation, self._message(known), False)
        stored = message.model_copy(
            update={"status": message.status.advanced_to(DeliveryStatus.SENT), "sent_by": ECHOED}
        )
        try:
            await self._messages.insert(
                _doc(
                    stored,
                    _id=echo_document_id(hotel, channel, provider_id),
                    conversation_id=conversation.id,
                    sort_key=message_cursor(stored),
                    # Receipts for it find it by this, like any message Begasist sent.
                    provider_key=f"{channel}|{provider_id}",
                    revision=0,
                    responded=True,
                )
            )
        except DuplicateDocument:
            again = await self._provider_document(hotel, channel, provider_id)
            assert again is not None
            return EchoRecorded(conversation, self._message(again), False)
        at = iso(stored.created_at)
        updated = await self._conversations.update_one(
            {"hotel": hotel, "id": conversation.id},
            {
                "$set": {"last_message_preview": stored.text[:200] or None},
                "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation.id}"},
            },
        )
        return EchoRecorded(
            conversation if updated is None else self._conversation(updated), stored, True
        )

    async def _echo_conversation(self, message: Message) -> ConversationRecord:
        """The conversation of the echo's guest, made if the hotel wrote first."""
        hotel = message.hotel
        thread = _thread_id(hotel, message.channel, message.conversation_key)
        conversation_id = _stable_id(thread)
        existing = await self._conversations.find_one({"_id": thread, "hotel": hotel})
        if existing is not None:
            return self._conversation(existing)
        guest_id = await self._guest_id_for(hotel, message.guest)
        created = _doc(
            ConversationRecord(
                id=conversation_id,
                hotel=hotel,
                channel=message.channel,
                key=message.conversation_key,
                guest=message.guest,
                guest_id=guest_id,
                created_at=message.created_at,
            )
        )
        for moved in ("last_message_at", "last_message_preview"):
            del created[moved]
        at = iso(message.created_at)
        created.update(
            status=ConversationStatus.OPEN.value,
            unread=0,
            search=search_tokens(message.guest),
            guest_mode=GUEST_MODE_PENDING,
        )
        made = await self._conversations.update_one(
            {"_id": thread, "hotel": hotel},
            {
                "$setOnInsert": created,
                "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation_id}"},
            },
            upsert=True,
        )
        assert made is not None
        return self._conversation(await self._copy_guest_mode(made))

    async def _provider_document(
        self, hotel: str, channel: str, provider_message_id: str
    ) -> dict[str, Any] | None:
        inbound = await self._messages.find_one(
            {"_id": _inbound_id(hotel, channel, provider_message_id)}
        )
        if inbound is not None:
            return inbound
        return await whole_message(
            self._messages,
            await self._messages.find_one(
                {"hotel": hotel, "provider_key": f"{channel}|{provider_message_id}"}
            ),
        )
