"""The store's inbox: conversations, messages (exactly once, status forward-only), search,
what staff have read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from begasist_core import (
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    MessageStatusChanged,
    ReplyMode,
    utc_now,
)

from begasist_suite.store.base import (
    _CAS_ATTEMPTS,
    MAX_PAGE,
    Conflict,
    InboundRecorded,
    NotFound,
    _doc,
    _inbound_id,
    _only,
    _page_limit,
    _stable_id,
    _strip,
    _thread_id,
)
from begasist_suite.store.channel_apps import is_shared_document
from begasist_suite.store.documents import DuplicateDocument, iso
from begasist_suite.store.drafts import DraftStore
from begasist_suite.store.fallback_fields import FALLBACK_DUE, fallback_fields
from begasist_suite.store.message_parts import record_part, whole_message
from begasist_suite.store.outbox import OUTBOX_FIELDS, outbound_fields
from begasist_suite.store.records import (
    ConversationRecord,
    Page,
)
from begasist_suite.store.reply_modes import (
    GUEST_MODE_PENDING,
    channel_mode,
    merge_newest_first,
    mode_queries,
)
from begasist_suite.store.search import query_tokens, search_tokens

__all__ = ["InboxStore", "draft_id", "message_cursor", "reply_message_id"]


def message_cursor(message: Message) -> str:
    """The cursor :meth:`InboxStore.list_messages` pages from to reach the messages just
    before (``newest_first``) or after *message*: its place in the conversation."""
    return f"{iso(message.created_at)}|{message.id}"


class InboxStore(DraftStore):
    """Conversations, their messages and (``store/drafts.py``) the assistant's drafts."""

    # -- conversations and messages -----------------------------------------

    async def record_inbound(self, message: Message) -> InboundRecorded:
        """Store a guest's message once per (hotel, channel, provider id), in its conversation.

        A replay returns the stored message with ``created=False`` and changes nothing
        but what is idempotent (the conversation and guest exist already).
        """
        if message.direction is not Direction.INBOUND or not message.provider_message_id:
            raise ValueError("record_inbound takes an inbound message with its provider id")
        hotel = message.hotel
        guest_id = await self._guest_id_for(hotel, message.guest)
        thread = _thread_id(hotel, message.channel, message.conversation_key)
        conversation_id = _stable_id(thread)
        at = iso(message.created_at)
        document = _doc(
            message,
            _id=_inbound_id(hotel, message.channel, message.provider_message_id),
            conversation_id=conversation_id,
            sort_key=message_cursor(message),
            provider_key=None,  # receipts are for outbound messages only
            revision=0,
            responded=False,
            status=DeliveryStatus.RECEIVED.value,
            # Set while no staff member has read it: what mark_read finds.
            unread_of=conversation_id,
        )
        # The conversation's fields that only its creation sets; the ones every
        # message moves ($set, $max) must not be here too (Astra refuses that).
        created = _doc(
            ConversationRecord(
                id=conversation_id,
                hotel=hotel,
                channel=message.channel,
                key=message.conversation_key,
                guest=message.guest,
                guest_id=guest_id,
                created_at=message.created_at,
            ),
        )
        for moved in ("status", "last_message_at", "last_message_preview", "unread"):
            del created[moved]
        created["guest_mode"] = GUEST_MODE_PENDING
        try:
            await self._messages.insert(document)
        except DuplicateDocument:
            stored = await self._messages.find_one({"_id": document["_id"]})
            assert stored is not None
            original = self._message(stored)
            at = iso(original.created_at)
            # A replay changes nothing, but completes a conversation a crash left unmade.
            conversation = await self._conversations.update_one(
                {"_id": thread, "hotel": hotel},
                {
                    "$setOnInsert": {
                        **created,
                        "status": ConversationStatus.OPEN.value,
                        "last_message_preview": original.text[:200] or None,
                        "unread": 1 if stored.get("unread_of") else 0,
                        "search": search_tokens(original.guest),
                    },
                    "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation_id}"},
                },
                upsert=True,
            )
            assert conversation is not None
            conversation = await self._copy_guest_mode(conversation)
            return InboundRecorded(
                self._conversation(conversation),
                original,
                False,
                bool(stored.get("responded")),
            )
        updated = await self._conversations.update_one(
            {"_id": thread, "hotel": hotel},
            {
                "$setOnInsert": created,
                "$set": {
                    "status": ConversationStatus.OPEN.value,
                    "last_message_preview": message.text[:200] or None,
                    "search": search_tokens(message.guest),
                },
                "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation_id}"},
                "$inc": {"unread": 1},
            },
            upsert=True,
        )
        assert updated is not None
        updated = await self._copy_guest_mode(updated)
        await self._hotels.update_one({"_id": hotel}, {"$inc": {"unread": 1}})
        return InboundRecorded(
            self._conversation(updated),
            message.model_copy(update={"status": DeliveryStatus.RECEIVED}),
            True,
            False,
        )

    async def mark_read(self, hotel: str, conversation_id: str) -> int:
        """Mark the conversation's unread guest messages read by staff; how many were.

        Each message moves ``received`` to ``read`` with a compare-and-set, and the
        conversation's and the hotel's unread counts go down by the number this
        call moved, so two staff members reading at once count each message once.
        """
        moved = 0
        while True:
            found = await self._messages.find(
                {"hotel": hotel, "unread_of": conversation_id}, limit=MAX_PAGE
            )
            moved_now = 0
            for document in found:
                read = await self._messages.update_one(
                    {"_id": document["_id"], "revision": document["revision"]},
                    {
                        "$set": {
                            "status": DeliveryStatus.READ.value,
                            "updated_at": iso(utc_now()),
                            "unread_of": None,
                        },
                        "$inc": {"revision": 1},
                    },
                )
                moved_now += read is not None
            moved += moved_now
            if len(found) < MAX_PAGE or not moved_now:
                break
        if moved:
            await self._conversations.update_one(
                {"hotel": hotel, "id": conversation_id}, {"$inc": {"unread": -moved}}
            )
            await self._hotels.update_one({"_id": hotel}, {"$inc": {"unread": -moved}})
        return moved

    async def hotel_unread(self, hotel: str) -> int:
        """Guest messages of *hotel* no staff member has read yet (a kept count: one read)."""
        found = await self._hotels.find_one({"_id": hotel})
        return 0 if found is None else max(0, int(found.get("unread") or 0))

    async def mark_responded(self, hotel: str, message_id: str) -> None:
        await self._messages.update_one(
            {"hotel": hotel, "id": message_id}, {"$set": {"responded": True}}
        )

    async def add_outbound(
        self,
        conversation: ConversationRecord,
        message: Message,
        *,
        email_fallback_at: datetime | None = None,
    ) -> bool:
        """Store an outbound message (queued) in *conversation* with its ``message.send``
        in the outbox (``store/outbox.py``), in one write; False if stored before.

        *email_fallback_at*: when the message, still unread, is due to be emailed too
        (``store/fallback.py``)."""
        if message.direction is not Direction.OUTBOUND:
            raise ValueError("add_outbound takes an outbound message")
        at = iso(message.created_at)
        try:
            await self._messages.insert(
                _doc(
                    message,
                    _id=f"out|{message.hotel}|{message.id}",
                    conversation_id=conversation.id,
                    sort_key=message_cursor(message),
                    provider_key=None,
                    revision=0,
                    responded=True,
                    **outbound_fields(message, utc_now()),
                    **fallback_fields(message, email_fallback_at),
                )
            )
        except DuplicateDocument:
            return False
        await self._conversations.update_one(
            {"hotel": conversation.hotel, "id": conversation.id},
            {
                "$set": {"last_message_preview": message.text[:200] or None},
                "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation.id}"},
            },
        )
        return True

    async def get_message(self, hotel: str, message_id: str) -> Message | None:
        found = await self._messages.find_one({"hotel": hotel, "id": message_id})
        return None if found is None else self._message(found)

    async def list_messages(
        self,
        hotel: str,
        conversation_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        newest_first: bool = False,
    ) -> Page[Message]:
        """A conversation's messages, oldest first (or *newest_first*: a long thread's
        latest page, then ``next_cursor`` pages back in time)."""
        query: dict[str, Any] = {"hotel": hotel, "conversation_id": conversation_id}
        if cursor is not None:
            query["sort_key"] = {"$lt" if newest_first else "$gt": cursor}
        limit = _page_limit(limit)
        found = await self._messages.find(
            query, sort=("sort_key", -1 if newest_first else 1), limit=limit + 1
        )
        next_cursor = found[limit - 1]["sort_key"] if len(found) > limit else None
        return Page[Message](
            items=[self._message(d) for d in found[:limit]], next_cursor=next_cursor
        )

    async def apply_status(self, hotel: str, event: MessageStatusChanged) -> Message | None:
        """Move an outbound message's status forward; None when no message matches.

        Found by Begasist's id when the event has it (and the provider id is then
        recorded), else by the provider id. A compare-and-set on a revision makes
        concurrent receipts safe across suite replicas.
        """
        provider_key = f"{event.channel}|{event.provider_message_id}"
        query: dict[str, Any] = (
            {"hotel": hotel, "id": event.message_id}
            if event.message_id
            else {"hotel": hotel, "provider_key": provider_key}
        )
        for _ in range(_CAS_ATTEMPTS):
            found = await whole_message(self._messages, await self._messages.find_one(query))
            if found is None:
                return None
            if found.get("provider_key") not in (None, provider_key) and event.message_id:
                # Another part of a message sent in several: its receipts count too.
                await record_part(self._messages, found, provider_key)
            current = self._message(found)
            moved = current.with_status(
                event.status, at=event.at, failed=event.failed, failure_reason=event.error
            )
            changes = {
                k: v
                for k, v in moved.model_dump(mode="json").items()
                if found.get(k) != v and k in {"status", "updated_at", "failed", "failure_reason"}
            }
            if (moved.status, moved.failed, moved.failure_reason) == (
                current.status,
                current.failed,
                current.failure_reason,
            ):
                changes = {}  # a late or repeated receipt: nothing moves, not even the time
            if found.get("provider_key") is None:
                changes["provider_key"] = provider_key
                changes["provider_message_id"] = event.provider_message_id
            read_now = moved.status is DeliveryStatus.READ and found.get(FALLBACK_DUE) is not None
            if not changes and not read_now:
                return current
            update: dict[str, Any] = {"$inc": {"revision": 1}}
            if changes:
                update["$set"] = changes
            if read_now:  # the guest saw it: no email fallback
                update["$unset"] = {FALLBACK_DUE: ""}
            updated = await self._messages.update_one(
                {"_id": found["_id"], "revision": found["revision"]}, update
            )
            if updated is not None:
                return self._message(updated)
        raise Conflict(
            f"message {event.message_id or provider_key!r} kept changing; status not applied"
        )

    async def get_conversation(self, hotel: str, conversation_id: str) -> ConversationRecord | None:
        found = await self._conversations.find_one({"hotel": hotel, "id": conversation_id})
        return None if found is None else self._conversation(found)

    async def list_conversations(
        self,
        hotel: str,
        *,
        channel: str | None = None,
        status: ConversationStatus | None = None,
        assignee: str | None = None,
        unassigned: bool = False,
        search: str | None = None,
        mode: ReplyMode | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ConversationRecord]:
        """A hotel's conversations, the latest activity first; *unassigned*: nobody's only;
        *search*: those whose guest's name, phone or address matches (``store/search.py``);
        *mode*: those to which that reply mode applies (``store/reply_modes.py``)."""
        query: dict[str, Any] = {"hotel": hotel}
        tokens = query_tokens(search or "")
        if tokens:
            query["search"] = {"$all": tokens}
        if channel is not None:
            query["channel"] = channel
        if status is not None:
            query["status"] = status.value
        if assignee is not None:
            query["assignee"] = assignee
        elif unassigned:
            query["assignee"] = None
        if cursor is not None:
            query["sort_key"] = {"$lt": cursor}
        limit = _page_limit(limit)
        if mode is None:
            found = await self._conversations.find(query, sort=("sort_key", -1), limit=limit + 1)
        else:
            configs = await self._channel_configs.find({"hotel": hotel})
            modes = {
                str(c["channel"]): channel_mode(c.get("settings"))
                for c in configs
                if not is_shared_document(c["_id"])  # the hotel's route claims
            }
            pages = [
                await self._conversations.find(each, sort=("sort_key", -1), limit=limit + 1)
                for each in mode_queries(query, mode, modes)
            ]
            found = merge_newest_first(pages, limit + 1)
        next_cursor = found[limit - 1]["sort_key"] if len(found) > limit else None
        return Page[ConversationRecord](
            items=[self._conversation(d) for d in found[:limit]], next_cursor=next_cursor
        )

    async def update_conversation(
        self, hotel: str, conversation_id: str, **changes: Any
    ) -> ConversationRecord:
        """Set status, assignee and/or mode_override."""
        _only(changes, {"status", "assignee", "mode_override"})
        current = await self.get_conversation(hotel, conversation_id)
        if current is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        changed = ConversationRecord.model_validate({**current.model_dump(), **changes})
        fields = changed.model_dump(mode="json", include=set(changes))
        updated = await self._conversations.update_one(
            {"hotel": hotel, "id": conversation_id}, {"$set": fields}
        )
        if updated is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return self._conversation(updated)

    async def _copy_guest_mode(self, document: dict[str, Any]) -> dict[str, Any]:
        """A conversation just created gets its guest's mode (one read, once per conversation).

        Compare-and-set on the marker: a change of the guest's mode made meanwhile
        has written the field already, and wins.
        """
        if document.get("guest_mode") != GUEST_MODE_PENDING or document.get("guest_id") is None:
            return document
        guest_mode = await self.guest_mode(document["hotel"], str(document["guest_id"]))
        copied = await self._conversations.update_one(
            {"_id": document["_id"], "guest_mode": GUEST_MODE_PENDING},
            {"$set": {"guest_mode": None if guest_mode is None else guest_mode.value}},
        )
        return document if copied is None else copied

    @staticmethod
    def _conversation(document: dict[str, Any]) -> ConversationRecord:
        fields = _strip(document, "sort_key", "search", "guest_mode")
        # A count may dip below zero for a moment (a message read between its insert
        # and its conversation's count going up): never show that.
        fields["unread"] = max(0, int(fields.get("unread") or 0))
        return ConversationRecord.model_validate(fields)

    @staticmethod
    def _message(document: dict[str, Any]) -> Message:
        fields = _strip(
            document,
            "conversation_id",
            "sort_key",
            "provider_key",
            "revision",
            "responded",
            "unread_of",
            FALLBACK_DUE,
            *OUTBOX_FIELDS,
        )
        if fields.get("direction") == Direction.INBOUND.value and fields.get("status") == "queued":
            # Stored before inbound messages had a status of their own.
            fields["status"] = DeliveryStatus.RECEIVED.value
        return Message.model_validate(fields)


def reply_message_id(inbound_id: str) -> str:
    """The id of the assistant's reply to *inbound_id*: the same on every redelivery."""
    return f"{inbound_id}-reply"


def draft_id(inbound_id: str) -> str:
    """The id of the assistant's draft for *inbound_id*: one draft per inbound message."""
    return f"{inbound_id}-draft"
