"""The suite's store: every read and write the suite makes, over a document database.

One class, written once against :class:`DocumentDatabase`; SQLite and Astra DB
are the databases under it. Every method about a hotel's objects takes the
hotel and filters by it, so a caller cannot reach another hotel's data by id.
Natural unique keys are document ``_id`` values, so the database itself
enforces deduplication (an inbound message per provider id, a guest identity
per address, a conversation per thread, a draft per inbound message).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection as CollectionOf
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, NamedTuple

from begasist_core import (
    ConversationStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageStatusChanged,
    ReplyMode,
    utc_now,
)

from begasist_suite.store.documents import DocumentDatabase, DuplicateDocument, iso
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    ConversationRecord,
    Credential,
    CredentialKind,
    Draft,
    DraftStatus,
    Guest,
    Hotel,
    Membership,
    Page,
    User,
)

__all__ = ["Conflict", "InboundRecorded", "NotFound", "Store"]

_CAS_ATTEMPTS: Final = 20
MAX_PAGE: Final = 200


class NotFound(LookupError):
    """No such object in this hotel."""


class Conflict(Exception):
    """The object exists already, or changed under us and cannot be changed as asked."""


class InboundRecorded(NamedTuple):
    conversation: ConversationRecord
    message: Message
    created: bool
    """False when the message was stored before (a replay): nothing changed."""
    responded: bool
    """Whether the responder already ran for it."""


def _doc(model: Any, **extra: Any) -> dict[str, Any]:
    return {**model.model_dump(mode="json"), **extra}


def _strip(document: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in {"_id", *fields}}


def _thread_id(hotel: str, channel: str, key: str) -> str:
    return f"{hotel}|{channel}|{key}"


def _inbound_id(hotel: str, channel: str, provider_message_id: str) -> str:
    return f"in|{hotel}|{channel}|{provider_message_id}"


def _identity_id(hotel: str, identity: GuestIdentity) -> str:
    return f"identity|{hotel}|{identity.channel}|{identity.address}"


def _only(changes: dict[str, Any], allowed: set[str]) -> None:
    if not set(changes) <= allowed:
        raise ValueError(f"only {sorted(allowed)} can change, not {sorted(set(changes) - allowed)}")


def _stable_id(natural_key: str) -> str:
    """A 26-character id derived from *natural_key*: the same on every replica and replay."""
    digest = hashlib.sha256(natural_key.encode("utf-8")).digest()[:16]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def _page_limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


class Store:
    """Async access to everything the suite keeps; see the module docstring."""

    def __init__(self, database: DocumentDatabase) -> None:
        self.database = database
        self._hotels = database.collection("hotels")
        self._users = database.collection("users")
        self._memberships = database.collection("memberships")
        self._credentials = database.collection("credentials")
        self._channel_configs = database.collection("channel_configs")
        self._guests = database.collection("guests")
        self._conversations = database.collection("conversations")
        self._messages = database.collection("messages")
        self._drafts = database.collection("drafts")
        self._channel_states = database.collection("channel_states")

    async def migrate(self) -> None:
        await self.database.migrate()

    def unit_of_work(self) -> AbstractAsyncContextManager[None]:
        """Make what this task does inside durable together, where the database can."""
        return self.database.unit_of_work()

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Inside a unit of work: undo this block's writes if it raises."""
        return self.database.savepoint()

    async def aclose(self) -> None:
        await self.database.aclose()

    # -- hotels ---------------------------------------------------------------

    async def create_hotel(self, hotel: Hotel) -> Hotel:
        try:
            await self._hotels.insert(_doc(hotel, _id=hotel.slug))
        except DuplicateDocument:
            raise Conflict(f"hotel {hotel.slug!r} exists") from None
        return hotel

    async def get_hotel(self, slug: str) -> Hotel | None:
        found = await self._hotels.find_one({"_id": slug})
        return None if found is None else Hotel.model_validate(_strip(found))

    async def list_hotels(self, slugs: CollectionOf[str] | None = None) -> list[Hotel]:
        query = {} if slugs is None else {"_id": {"$in": sorted(slugs)}}
        found = await self._hotels.find(query)
        return sorted((Hotel.model_validate(_strip(d)) for d in found), key=lambda h: h.slug)

    async def update_hotel(self, slug: str, **changes: Any) -> Hotel:
        """Set the given fields (name, responder, faq, fallback, default_language)."""
        _only(changes, {"name", "responder", "faq", "fallback", "default_language"})
        current = await self.get_hotel(slug)
        if current is None:
            raise NotFound(f"no hotel {slug!r}")
        changed = Hotel.model_validate({**current.model_dump(), **changes})
        fields = changed.model_dump(mode="json", include=set(changes))
        updated = await self._hotels.update_one({"_id": slug}, {"$set": fields})
        if updated is None:
            raise NotFound(f"no hotel {slug!r}")
        return Hotel.model_validate(_strip(updated))

    async def bump_config_version(self, slug: str) -> int:
        updated = await self._hotels.update_one({"_id": slug}, {"$inc": {"config_version": 1}})
        if updated is None:
            raise NotFound(f"no hotel {slug!r}")
        return int(updated["config_version"])

    async def delete_hotel(self, slug: str) -> None:
        """Delete a hotel and everything in it."""
        for collection in (
            self._memberships,
            self._credentials,
            self._channel_configs,
            self._guests,
            self._conversations,
            self._messages,
            self._drafts,
            self._channel_states,
        ):
            await collection.delete_many({"hotel": slug})
        await self._hotels.delete_many({"_id": slug})

    # -- users and memberships ---------------------------------------------

    async def create_user(self, user: User) -> User:
        user = user.model_copy(update={"email": user.email.casefold()})
        try:
            # _id is the email, so two concurrent sign-ups cannot both win.
            await self._users.insert(_doc(user, _id=f"email|{user.email}"))
        except DuplicateDocument:
            raise Conflict(f"a user with email {user.email!r} exists") from None
        return user

    async def get_user(self, user_id: str) -> User | None:
        found = await self._users.find_one({"id": user_id})
        return None if found is None else User.model_validate(_strip(found))

    async def get_user_by_email(self, email: str) -> User | None:
        found = await self._users.find_one({"_id": f"email|{email.casefold()}"})
        return None if found is None else User.model_validate(_strip(found))

    async def list_users(self) -> list[User]:
        users = [User.model_validate(_strip(d)) for d in await self._users.find({})]
        return sorted(users, key=lambda u: u.email)

    async def update_user(self, user: User) -> User:
        """Save *user*'s fields; its email (the natural key) cannot change this way."""
        user = user.model_copy(update={"email": user.email.casefold()})
        updated = await self._users.update_one({"_id": f"email|{user.email}"}, {"$set": _doc(user)})
        if updated is None:
            raise NotFound(f"no user {user.email!r}")
        return user

    async def set_membership(self, membership: Membership) -> Membership:
        await self._memberships.update_one(
            {"_id": f"{membership.hotel}|{membership.user_id}"},
            {"$set": _doc(membership)},
            upsert=True,
        )
        return membership

    async def remove_membership(self, hotel: str, user_id: str) -> bool:
        return await self._memberships.delete_many({"_id": f"{hotel}|{user_id}"}) > 0

    async def get_membership(self, hotel: str, user_id: str) -> Membership | None:
        found = await self._memberships.find_one({"_id": f"{hotel}|{user_id}"})
        return None if found is None else Membership.model_validate(_strip(found))

    async def list_memberships(
        self, *, hotel: str | None = None, user_id: str | None = None
    ) -> list[Membership]:
        query: dict[str, Any] = {}
        if hotel is not None:
            query["hotel"] = hotel
        if user_id is not None:
            query["user_id"] = user_id
        found = await self._memberships.find(query)
        members = [Membership.model_validate(_strip(d)) for d in found]
        return sorted(members, key=lambda m: (m.hotel, m.user_id))

    # -- sessions and tokens -------------------------------------------------

    async def add_credential(self, credential: Credential) -> Credential:
        try:
            await self._credentials.insert(
                _doc(
                    credential,
                    _id=credential.digest,
                    expires_at=None
                    if credential.expires_at is None
                    else iso(credential.expires_at),
                )
            )
        except DuplicateDocument:
            raise Conflict("credential exists") from None
        return credential

    async def get_credential(self, digest: str) -> Credential | None:
        """The live credential whose secret hashes to *digest* (expired ones are None)."""
        found = await self._credentials.find_one({"_id": digest})
        if found is None:
            return None
        credential = Credential.model_validate(_strip(found))
        if credential.expires_at is not None and credential.expires_at <= utc_now():
            return None
        return credential

    async def list_credentials(
        self, kind: CredentialKind, *, user_id: str | None = None, hotel: str | None = None
    ) -> list[Credential]:
        query: dict[str, Any] = {"kind": kind.value}
        if user_id is not None:
            query["user_id"] = user_id
        if hotel is not None:
            query["hotel"] = hotel
        now = utc_now()
        found = [Credential.model_validate(_strip(d)) for d in await self._credentials.find(query)]
        live = [c for c in found if c.expires_at is None or c.expires_at > now]
        return sorted(live, key=lambda c: c.created_at)

    async def delete_credential(self, digest: str) -> bool:
        return await self._credentials.delete_many({"_id": digest}) > 0

    async def revoke_credential(
        self,
        kind: CredentialKind,
        credential_id: str,
        *,
        user_id: str | None = None,
        hotel: str | None = None,
    ) -> bool:
        """Delete the credential with public handle *credential_id*, if it is the owner's."""
        for credential in await self.list_credentials(kind, user_id=user_id, hotel=hotel):
            if credential.id == credential_id:
                return await self.delete_credential(credential.digest)
        return False

    async def purge_expired_credentials(self) -> int:
        return await self._credentials.delete_many({"expires_at": {"$lte": iso(utc_now())}})

    # -- channel settings ---------------------------------------------------

    async def put_channel_config(self, config: ChannelConfig) -> ChannelConfig:
        await self._channel_configs.update_one(
            {"_id": f"{config.hotel}|{config.channel}"}, {"$set": _doc(config)}, upsert=True
        )
        return config

    async def get_channel_config(self, hotel: str, channel: str) -> ChannelConfig | None:
        found = await self._channel_configs.find_one({"_id": f"{hotel}|{channel}"})
        return None if found is None else ChannelConfig.model_validate(_strip(found))

    async def list_channel_configs(self, hotel: str) -> list[ChannelConfig]:
        found = await self._channel_configs.find({"hotel": hotel})
        configs = [ChannelConfig.model_validate(_strip(d)) for d in found]
        return sorted(configs, key=lambda c: c.channel)

    async def delete_channel_config(self, hotel: str, channel: str) -> bool:
        return await self._channel_configs.delete_many({"_id": f"{hotel}|{channel}"}) > 0

    # -- guests --------------------------------------------------------------

    async def guest_for_identity(self, hotel: str, identity: GuestIdentity) -> Guest:
        """The guest *identity* belongs to, created on first sight."""
        guest_id = await self._guest_id_for(hotel, identity)
        guest = await self.get_guest(hotel, guest_id)
        if guest is None:
            raise NotFound(f"identity {identity.address!r} points to a missing guest")
        return guest

    async def guest_mode(self, hotel: str, guest_id: str) -> ReplyMode | None:
        """The guest's reply-mode override, if any (one read, for the hot path)."""
        found = await self._guests.find_one({"_id": guest_id, "hotel": hotel, "type": "guest"})
        mode = None if found is None else found.get("mode_override")
        return None if mode is None else ReplyMode(mode)

    async def _guest_id_for(self, hotel: str, identity: GuestIdentity) -> str:
        """The id of the guest *identity* belongs to, creating the guest on first sight."""
        key = _identity_id(hotel, identity)
        found = await self._guests.find_one({"_id": key})
        if found is None:
            guest = Guest(hotel=hotel, display_name=identity.display_name)
            await self._guests.insert(
                _doc(
                    guest,
                    _id=guest.id,
                    type="guest",
                    guest_id=guest.id,
                    sort_key=self._guest_key(guest),
                )
            )
            try:
                await self._guests.insert(
                    {
                        "_id": key,
                        "type": "identity",
                        "hotel": hotel,
                        "guest_id": guest.id,
                        "sort_key": None,
                        **identity.model_dump(mode="json"),
                    }
                )
            except DuplicateDocument:
                # Someone else linked this identity first: theirs wins, ours goes.
                await self._guests.delete_many({"_id": guest.id, "hotel": hotel})
                found = await self._guests.find_one({"_id": key})
            else:
                return guest.id
        assert found is not None
        return str(found["guest_id"])

    async def get_guest(self, hotel: str, guest_id: str) -> Guest | None:
        found = await self._guests.find_one({"_id": guest_id, "hotel": hotel, "type": "guest"})
        if found is None:
            return None
        identities = await self._guests.find(
            {"hotel": hotel, "type": "identity", "guest_id": guest_id}
        )
        return self._guest(found, identities)

    async def list_guests(
        self, hotel: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Guest]:
        query: dict[str, Any] = {"hotel": hotel, "type": "guest"}
        if cursor is not None:
            query["sort_key"] = {"$lt": cursor}
        limit = _page_limit(limit)
        found = await self._guests.find(query, sort=("sort_key", -1), limit=limit + 1)
        ids = [d["_id"] for d in found[:limit]]
        identities = await self._guests.find(
            {"hotel": hotel, "type": "identity", "guest_id": {"$in": ids}}
        )
        guests = [
            self._guest(d, [i for i in identities if i["guest_id"] == d["_id"]])
            for d in found[:limit]
        ]
        next_cursor = found[limit - 1]["sort_key"] if len(found) > limit else None
        return Page[Guest](items=guests, next_cursor=next_cursor)

    async def update_guest(self, hotel: str, guest_id: str, **changes: Any) -> Guest:
        """Set display_name and/or mode_override."""
        _only(changes, {"display_name", "mode_override"})
        fields = Guest.model_validate({"hotel": hotel, "id": guest_id, **changes}).model_dump(
            mode="json", include=set(changes)
        )
        updated = await self._guests.update_one(
            {"_id": guest_id, "hotel": hotel, "type": "guest"}, {"$set": fields}
        )
        if updated is None:
            raise NotFound(f"no guest {guest_id!r}")
        guest = await self.get_guest(hotel, guest_id)
        assert guest is not None
        return guest

    async def link_identity(self, hotel: str, guest_id: str, identity: GuestIdentity) -> Guest:
        """Make *identity* one of *guest_id*'s (moving it from another guest if needed)."""
        if await self.get_guest(hotel, guest_id) is None:
            raise NotFound(f"no guest {guest_id!r}")
        await self._guests.update_one(
            {"_id": _identity_id(hotel, identity), "hotel": hotel},
            {
                "$set": {
                    "type": "identity",
                    "guest_id": guest_id,
                    "sort_key": None,
                    **identity.model_dump(mode="json"),
                }
            },
            upsert=True,
        )
        guest = await self.get_guest(hotel, guest_id)
        assert guest is not None
        return guest

    @staticmethod
    def _guest_key(guest: Guest) -> str:
        return f"{iso(guest.created_at)}|{guest.id}"

    @staticmethod
    def _guest(document: dict[str, Any], identities: list[dict[str, Any]]) -> Guest:
        fields = _strip(document, "type", "guest_id", "sort_key")
        fields["identities"] = [
            GuestIdentity.model_validate(_strip(i, "type", "hotel", "guest_id", "sort_key"))
            for i in sorted(identities, key=lambda i: (i["channel"], i["address"]))
        ]
        return Guest.model_validate(fields)

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
            sort_key=f"{at}|{message.id}",
            provider_key=None,  # receipts are for outbound messages only
            revision=0,
            responded=False,
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
        for moved in ("status", "last_message_at", "last_message_preview"):
            del created[moved]
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
                    },
                    "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation_id}"},
                },
                upsert=True,
            )
            assert conversation is not None
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
                },
                "$max": {"last_message_at": at, "sort_key": f"{at}|{conversation_id}"},
            },
            upsert=True,
        )
        assert updated is not None
        return InboundRecorded(self._conversation(updated), message, True, False)

    async def mark_responded(self, hotel: str, message_id: str) -> None:
        await self._messages.update_one(
            {"hotel": hotel, "id": message_id}, {"$set": {"responded": True}}
        )

    async def add_outbound(self, conversation: ConversationRecord, message: Message) -> bool:
        """Store an outbound message (queued) in *conversation*; False if stored before."""
        if message.direction is not Direction.OUTBOUND:
            raise ValueError("add_outbound takes an outbound message")
        at = iso(message.created_at)
        try:
            await self._messages.insert(
                _doc(
                    message,
                    _id=f"out|{message.hotel}|{message.id}",
                    conversation_id=conversation.id,
                    sort_key=f"{at}|{message.id}",
                    provider_key=None,
                    revision=0,
                    responded=True,
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
        self, hotel: str, conversation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Message]:
        """A conversation's messages, oldest first."""
        query: dict[str, Any] = {"hotel": hotel, "conversation_id": conversation_id}
        if cursor is not None:
            query["sort_key"] = {"$gt": cursor}
        limit = _page_limit(limit)
        found = await self._messages.find(query, sort=("sort_key", 1), limit=limit + 1)
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
            found = await self._messages.find_one(query)
            if found is None:
                return None
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
            if not changes:
                return current
            updated = await self._messages.update_one(
                {"_id": found["_id"], "revision": found["revision"]},
                {"$set": changes, "$inc": {"revision": 1}},
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
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ConversationRecord]:
        """A hotel's conversations, the latest activity first."""
        query: dict[str, Any] = {"hotel": hotel}
        if channel is not None:
            query["channel"] = channel
        if status is not None:
            query["status"] = status.value
        if assignee is not None:
            query["assignee"] = assignee
        if cursor is not None:
            query["sort_key"] = {"$lt": cursor}
        limit = _page_limit(limit)
        found = await self._conversations.find(query, sort=("sort_key", -1), limit=limit + 1)
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

    @staticmethod
    def _conversation(document: dict[str, Any]) -> ConversationRecord:
        return ConversationRecord.model_validate(_strip(document, "sort_key"))

    @staticmethod
    def _message(document: dict[str, Any]) -> Message:
        return Message.model_validate(
            _strip(document, "conversation_id", "sort_key", "provider_key", "revision", "responded")
        )

    # -- drafts ----------------------------------------------------------------

    async def add_draft(self, draft: Draft) -> Draft:
        """Store *draft*; if its id exists, the stored one is returned (idempotent)."""
        try:
            await self._drafts.insert(
                _doc(
                    draft,
                    _id=f"draft|{draft.hotel}|{draft.id}",
                    sort_key=f"{iso(draft.created_at)}|{draft.id}",
                )
            )
        except DuplicateDocument:
            stored = await self.get_draft(draft.hotel, draft.id)
            assert stored is not None
            return stored
        return draft

    async def get_draft(self, hotel: str, draft_id: str) -> Draft | None:
        found = await self._drafts.find_one({"hotel": hotel, "id": draft_id})
        return None if found is None else Draft.model_validate(_strip(found, "sort_key"))

    async def list_drafts(
        self, hotel: str, *, conversation_id: str | None = None, status: DraftStatus | None = None
    ) -> list[Draft]:
        query: dict[str, Any] = {"hotel": hotel}
        if conversation_id is not None:
            query["conversation_id"] = conversation_id
        if status is not None:
            query["status"] = status.value
        found = await self._drafts.find(query, sort=("sort_key", 1), limit=MAX_PAGE)
        return [Draft.model_validate(_strip(d, "sort_key")) for d in found]

    async def decide_draft(
        self,
        hotel: str,
        draft_id: str,
        status: DraftStatus,
        *,
        decided_by: str | None,
        text: str | None = None,
        sent_message_id: str | None = None,
    ) -> Draft:
        """Move a pending draft to sent or rejected, once: a second decision is a Conflict."""
        if status is DraftStatus.PENDING:
            raise ValueError("a decision is sent or rejected")
        changes: dict[str, Any] = {
            "status": status.value,
            "decided_by": decided_by,
            "decided_at": utc_now().isoformat(),
            "sent_message_id": sent_message_id,
        }
        if text is not None:
            changes["text"] = text
        updated = await self._drafts.update_one(
            {"hotel": hotel, "id": draft_id, "status": DraftStatus.PENDING.value}, {"$set": changes}
        )
        if updated is not None:
            return Draft.model_validate(_strip(updated, "sort_key"))
        if await self.get_draft(hotel, draft_id) is None:
            raise NotFound(f"no draft {draft_id!r}")
        raise Conflict(f"draft {draft_id!r} was decided already")

    # -- channel states -------------------------------------------------------

    async def record_channel_state(self, status: ChannelStatus) -> None:
        await self._channel_states.update_one(
            {"_id": f"{status.hotel}|{status.channel}", "hotel": status.hotel},
            {"$set": _doc(status)},
            upsert=True,
        )

    async def list_channel_states(self, hotel: str) -> list[ChannelStatus]:
        found = await self._channel_states.find({"hotel": hotel})
        return sorted(
            (ChannelStatus.model_validate(_strip(d)) for d in found), key=lambda s: s.channel
        )


def reply_message_id(inbound_id: str) -> str:
    """The id of the assistant's reply to *inbound_id*: the same on every redelivery."""
    return f"{inbound_id}-reply"


def draft_id(inbound_id: str) -> str:
    """The id of the assistant's draft for *inbound_id*: one draft per inbound message."""
    return f"{inbound_id}-draft"
