"""The store's shared-webhook parts: operator app settings, and which hotel a route key names.

Both live in the ``channel_configs`` collection rather than a new one: Astra
allows ten collections and the store uses all ten, and both are channel
settings (the operator's, and an index of the hotels'). They are told apart
by an ``_id`` starting with ``_``, which no hotel slug can:

- ``_app|{channel}``: a :class:`ChannelApp`, with no ``hotel`` field, so no
  hotel's listing ever holds it;
- ``_route|{channel}|{key}``: a route claim, ``{"hotel": ...}``: the hotel
  whose settings of *channel* answer to *key*.

A claim is reached by its ``_id`` alone, so no field needs indexing (Astra
cannot change an existing collection's indexing: ``astra.py``'s migrate), and
``_id`` uniqueness is what stops two hotels taking one key, on both backends,
without a transaction. Astra has none, so a claim is taken before the settings
that name it are written and let go after: a crash in between leaves a stale
claim, which :meth:`ChannelAppStore.route_owner`'s callers check against the
owner's settings, and which the next hotel to claim the key takes over. Two
hotels saving one key at once: the one taking a claim over checks the owner's
settings again afterwards (and gives it back), and each checks its claim after
writing its settings (and puts the old ones back), so at most one keeps it. A
claim carries its hotel, so deleting the hotel deletes its claims.
"""

from __future__ import annotations

from typing import Final

from begasist_suite.store.base import Conflict, StoreBase, _doc, _strip
from begasist_suite.store.documents import DuplicateDocument
from begasist_suite.store.records import ChannelApp, ChannelConfig

__all__ = ["ChannelAppStore", "is_shared_document"]

_CLAIM_ATTEMPTS: Final = 5


def is_shared_document(document_id: object) -> bool:
    """Whether a ``channel_configs`` document is an app or a claim, not a hotel's settings."""
    return isinstance(document_id, str) and document_id.startswith("_")


def _taken(channel: str, key: str) -> Conflict:
    return Conflict(
        f"another hotel's {channel} settings already use {key!r}: "
        "one account belongs to one hotel (change or delete those settings first)"
    )


def _app_id(channel: str) -> str:
    return f"_app|{channel}"


def _route_id(channel: str, key: str) -> str:
    return f"_route|{channel}|{key}"


class ChannelAppStore(StoreBase):
    """Operator app settings per channel, and the route claims of hotels' channel settings."""

    async def get_channel_app(self, channel: str) -> ChannelApp | None:
        found = await self._channel_configs.find_one({"_id": _app_id(channel)})
        return None if found is None else ChannelApp.model_validate(_strip(found))

    async def put_channel_app(self, app: ChannelApp) -> ChannelApp:
        await self._channel_configs.update_one(
            {"_id": _app_id(app.channel)}, {"$set": _doc(app)}, upsert=True
        )
        return app

    async def route_owner(self, channel: str, key: str) -> str | None:
        """The hotel that claimed *key* on *channel*'s shared URL, or None.

        The claim may be stale (see the module docstring): check the hotel's
        settings still name *key* before trusting it.
        """
        found = await self._channel_configs.find_one({"_id": _route_id(channel, key)})
        owner = None if found is None else found.get("hotel")
        return owner if isinstance(owner, str) else None

    async def _claim_route(self, hotel: str, channel: str, key: str) -> None:
        """Make *hotel* the owner of *key*; Conflict when another hotel's settings use it."""
        claim_id = _route_id(channel, key)
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                await self._channel_configs.insert(
                    {"_id": claim_id, "hotel": hotel, "channel": channel, "route_key": key}
                )
                return
            except DuplicateDocument:
                pass
            owner = await self.route_owner(channel, key)
            if owner is None:
                continue  # let go of in between: try the insert again
            if owner == hotel:
                return
            held = await self._channel_configs.find_one({"_id": f"{owner}|{channel}"})
            if held is not None and held.get("route_key") == key:
                raise _taken(channel, key)
            # A stale claim: take it over, only if it is still the stale owner's.
            taken = await self._channel_configs.update_one(
                {"_id": claim_id, "hotel": owner}, {"$set": {"hotel": hotel}}
            )
            if taken is None:
                continue
            held = await self._channel_configs.find_one({"_id": f"{owner}|{channel}"})
            if held is not None and held.get("route_key") == key:
                # Not stale after all: its owner was between claiming and writing.
                await self._channel_configs.update_one(
                    {"_id": claim_id, "hotel": hotel}, {"$set": {"hotel": owner}}
                )
                raise _taken(channel, key)
            return
        raise Conflict(f"the {channel} key {key!r} is being claimed concurrently; try again")

    async def _check_claim(self, stored: ChannelConfig | None, config: ChannelConfig) -> None:
        """After *config* is written: if a concurrent claim took its key, put *stored* back."""
        key = config.route_key
        if key is None or await self.route_owner(config.channel, key) == config.hotel:
            return
        config_id = f"{config.hotel}|{config.channel}"
        if stored is None:
            await self._channel_configs.delete_many({"_id": config_id})
        else:
            await self._channel_configs.update_one({"_id": config_id}, {"$set": _doc(stored)})
        raise _taken(config.channel, key)

    async def _release_route(self, hotel: str, channel: str, key: str) -> None:
        """Let go of *hotel*'s claim on *key* (another hotel's claim stays)."""
        await self._channel_configs.delete_many({"_id": _route_id(channel, key), "hotel": hotel})

    async def _claim_for(self, config: ChannelConfig) -> None:
        """Claim *config*'s route key, before its settings are written.

        Also when the key is unchanged: settings saved before routes existed,
        or a claim lost in a crash, get theirs back.
        """
        if config.route_key is not None:
            await self._claim_route(config.hotel, config.channel, config.route_key)

    async def _unrouted(self, stored: ChannelConfig | None, kept_key: str | None) -> None:
        """After a write or delete: let go of the key *stored* had, unless it is kept."""
        if stored is not None and stored.route_key is not None and stored.route_key != kept_key:
            await self._release_route(stored.hotel, stored.channel, stored.route_key)
