"""The store's guests: a person per hotel, with their identities on every channel."""

from __future__ import annotations

from typing import Any

from begasist_core import (
    GuestIdentity,
    ReplyMode,
)

from begasist_suite.store.base import (
    NotFound,
    StoreBase,
    _doc,
    _identity_id,
    _only,
    _page_limit,
    _strip,
)
from begasist_suite.store.documents import DuplicateDocument, iso
from begasist_suite.store.records import (
    Guest,
    Page,
)

__all__ = ["GuestStore"]

# The guests collection's documents that name an address of a guest: identities (each
# address once per hotel, what links) and contacts (an address a guest left, unproven).
_ADDRESS_TYPES = ["identity", "contact"]


class GuestStore(StoreBase):
    """Guests and their identities; an identity belongs to one guest of a hotel."""

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
            {"hotel": hotel, "type": {"$in": _ADDRESS_TYPES}, "guest_id": guest_id}
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
            {"hotel": hotel, "type": {"$in": _ADDRESS_TYPES}, "guest_id": {"$in": ids}}
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
        if "mode_override" in fields:
            await self._copy_mode_to_conversations(hotel, guest_id, fields["mode_override"])
        guest = await self.get_guest(hotel, guest_id)
        assert guest is not None
        return guest

    async def _copy_mode_to_conversations(
        self, hotel: str, guest_id: str, mode: str | None
    ) -> None:
        """Give the guest's conversations its mode (``guest_mode``: the inbox's mode filter).

        Written unconditionally, after the guest's own document: a conversation
        created meanwhile copies it with a compare-and-set that this write beats
        (``store/reply_modes.py``).
        """
        for document in await self._conversations.find({"hotel": hotel, "guest_id": guest_id}):
            await self._conversations.update_one(
                {"_id": document["_id"], "hotel": hotel}, {"$set": {"guest_mode": mode}}
            )

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

    async def add_guest_contact(
        self, hotel: str, identity: GuestIdentity, contact: GuestIdentity
    ) -> Guest:
        """Record *contact* (an address the guest left, unproven) on the guest *identity*
        belongs to, created on first sight; recording it again changes nothing.

        A contact is the guest's own document (keyed by their id), not an identity: it
        never moves an identity between guests nor finds another guest by its address.
        """
        guest_id = await self._guest_id_for(hotel, identity)
        address = contact.address.lower()
        await self._guests.update_one(
            {"_id": f"contact|{hotel}|{guest_id}|{contact.channel}|{address}", "hotel": hotel},
            {
                "$set": {"display_name": contact.display_name},
                "$setOnInsert": {
                    "type": "contact",
                    "guest_id": guest_id,
                    "sort_key": None,
                    "channel": contact.channel,
                    "address": address,
                },
            },
            upsert=True,
        )
        guest = await self.get_guest(hotel, guest_id)
        if guest is None:
            raise NotFound(f"identity {identity.address!r} points to a missing guest")
        return guest

    @staticmethod
    def _guest_key(guest: Guest) -> str:
        return f"{iso(guest.created_at)}|{guest.id}"

    @staticmethod
    def _guest(document: dict[str, Any], identities: list[dict[str, Any]]) -> Guest:
        fields = _strip(document, "type", "guest_id", "sort_key")
        for kind, field in (("identity", "identities"), ("contact", "contacts")):
            fields[field] = [
                GuestIdentity.model_validate(
                    # preference_*: the guest's opt-outs (store/guest_preferences.py).
                    _strip(
                        i,
                        "type",
                        "hotel",
                        "guest_id",
                        "sort_key",
                        *(k for k in i if k.startswith("preference_")),
                    )
                )
                for i in sorted(identities, key=lambda i: (i["channel"], i["address"]))
                if i["type"] == kind
            ]
        return Guest.model_validate(fields)
