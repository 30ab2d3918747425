"""A guest's opt-outs, kept on their identity: the latest by the provider's time wins."""

from __future__ import annotations

from typing import Final

from begasist_core import GuestIdentity, GuestPreferenceChanged

from begasist_suite.store.base import _identity_id
from begasist_suite.store.documents import iso
from begasist_suite.store.guests import GuestStore

__all__ = ["GuestPreferenceStore", "preference_field"]

_OUT: Final = "out"
_IN: Final = "in"


def preference_field(topic: str) -> str:
    """The identity document's field for *topic*: ``"{time}|out"`` or ``"{time}|in"``.

    Fixed-width times first, so ``$max`` keeps the latest atomically on every
    backend (and, for one time, ``out`` over ``in``: the safer of the two).
    """
    return f"preference_{topic}"


class GuestPreferenceStore(GuestStore):
    async def apply_preference(self, hotel: str, event: GuestPreferenceChanged) -> bool:
        """Keep the guest's choice on *topic* if it is the latest; whether they are out now."""
        identity_id = _identity_id(hotel, event.guest)
        await self._guest_id_for(hotel, event.guest)  # a guest who never wrote is made
        value = f"{iso(event.at)}|{_OUT if event.opted_out else _IN}"
        updated = await self._guests.update_one(
            {"_id": identity_id}, {"$max": {preference_field(event.topic): value}}
        )
        stored = None if updated is None else updated.get(preference_field(event.topic))
        return isinstance(stored, str) and stored.endswith(f"|{_OUT}")

    async def opted_out(self, hotel: str, identity: GuestIdentity, topic: str) -> bool:
        """Whether the guest of *identity* opted out of *topic* on its channel."""
        found = await self._guests.find_one({"_id": _identity_id(hotel, identity)})
        stored = None if found is None else found.get(preference_field(topic))
        return isinstance(stored, str) and stored.endswith(f"|{_OUT}")
