"""The store's hotels, people, credentials, channel settings and channel states."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Collection as CollectionOf
from typing import Any, Final

from begasist_core import (
    utc_now,
)

from begasist_suite.store.base import (
    Conflict,
    NotFound,
    _doc,
    _only,
    _page_limit,
    _strip,
)
from begasist_suite.store.channel_apps import ChannelAppStore, is_shared_document
from begasist_suite.store.documents import DocumentDatabase, DuplicateDocument, iso
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    Credential,
    CredentialKind,
    Hotel,
    Membership,
    Page,
    User,
)

__all__ = ["PeopleStore"]

_IN_BATCH: Final = 100  # values in one $in (Astra's limit)


class PeopleStore(ChannelAppStore):
    """Hotels, users and memberships, sessions and tokens, channel settings and states.

    Every change that can take access away (a membership changed or removed,
    a user changed, a session or token deleted, a hotel deleted) calls the
    listeners of :meth:`watch_access` once it is committed: the live sockets
    re-check who they serve.
    """

    def __init__(self, database: DocumentDatabase) -> None:
        super().__init__(database)
        self._access_listeners: list[Callable[[], None]] = []

    def watch_access(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call *listener* after each committed change that can take access away; returns
        what stops it."""
        self._access_listeners.append(listener)
        return lambda: self._access_listeners.remove(listener)

    def _access_changed(self) -> None:
        for listener in self._access_listeners:
            self.database.after_commit(listener)

    # -- hotels ---------------------------------------------------------------

    async def create_hotel(self, hotel: Hotel) -> Hotel:
        try:
            await self._hotels.insert(_doc(hotel, _id=hotel.slug))
        except DuplicateDocument:
            raise Conflict(f"hotel {hotel.slug!r} exists") from None
        return hotel

    async def get_hotel(self, slug: str) -> Hotel | None:
        found = await self._hotels.find_one({"_id": slug})
        return None if found is None else Hotel.model_validate(_strip(found, "unread"))

    async def list_hotels(self, slugs: CollectionOf[str] | None = None) -> list[Hotel]:
        query = {} if slugs is None else {"_id": {"$in": sorted(slugs)}}
        found = await self._hotels.find(query)
        return sorted(
            (Hotel.model_validate(_strip(d, "unread")) for d in found), key=lambda h: h.slug
        )

    async def page_hotels(self, *, limit: int = 50, cursor: str | None = None) -> Page[Hotel]:
        """Every hotel by slug, a page at a time (pass ``next_cursor`` back)."""
        query: dict[str, Any] = {} if cursor is None else {"slug": {"$gt": cursor}}
        limit = _page_limit(limit)
        found = await self._hotels.find(query, sort=("slug", 1), limit=limit + 1)
        return Page[Hotel](
            items=[Hotel.model_validate(_strip(d, "unread")) for d in found[:limit]],
            next_cursor=found[limit - 1]["slug"] if len(found) > limit else None,
        )

    async def update_hotel(self, slug: str, **changes: Any) -> Hotel:
        """Set the given fields (name, responder, faq, fallback, default_language, timezone)."""
        _only(changes, {"name", "responder", "faq", "fallback", "default_language", "timezone"})
        current = await self.get_hotel(slug)
        if current is None:
            raise NotFound(f"no hotel {slug!r}")
        changed = Hotel.model_validate({**current.model_dump(), **changes})
        fields = changed.model_dump(mode="json", include=set(changes))
        updated = await self._hotels.update_one({"_id": slug}, {"$set": fields})
        if updated is None:
            raise NotFound(f"no hotel {slug!r}")
        return Hotel.model_validate(_strip(updated, "unread"))

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
        self._access_changed()

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

    async def get_users(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The users among *user_ids* that exist, by id: one query per 100 ids."""
        wanted = sorted(set(user_ids))
        users: dict[str, User] = {}
        for start in range(0, len(wanted), _IN_BATCH):
            batch = wanted[start : start + _IN_BATCH]
            for found in await self._users.find({"id": {"$in": batch}}):
                user = User.model_validate(_strip(found))
                users[user.id] = user
        return users

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
        self._access_changed()
        return user

    async def set_membership(self, membership: Membership) -> Membership:
        await self._memberships.update_one(
            {"_id": f"{membership.hotel}|{membership.user_id}"},
            {"$set": _doc(membership)},
            upsert=True,
        )
        self._access_changed()  # a demotion
        return membership

    async def remove_membership(self, hotel: str, user_id: str) -> bool:
        removed = await self._memberships.delete_many({"_id": f"{hotel}|{user_id}"}) > 0
        if removed:
            self._access_changed()
        return removed

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

    async def page_memberships(
        self,
        *,
        hotel: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Membership]:
        """One hotel's members by user id, or one user's hotels by slug (give one of the
        two), a page at a time (pass ``next_cursor`` back)."""
        if (hotel is None) == (user_id is None):
            raise ValueError("page the memberships of a hotel or of a user")
        by = "user_id" if hotel is not None else "hotel"
        query: dict[str, Any] = {"hotel": hotel} if hotel is not None else {"user_id": user_id}
        if cursor is not None:
            query[by] = {"$gt": cursor}
        limit = _page_limit(limit)
        found = await self._memberships.find(query, sort=(by, 1), limit=limit + 1)
        return Page[Membership](
            items=[Membership.model_validate(_strip(d)) for d in found[:limit]],
            next_cursor=found[limit - 1][by] if len(found) > limit else None,
        )

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

    async def page_credentials(
        self,
        kind: CredentialKind,
        *,
        user_id: str | None = None,
        hotel: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Credential]:
        """Live credentials of *kind* (a user's or a hotel's), oldest first (ids are
        ULIDs), a page at a time; an expired one still in the store is left out, so a
        page may hold fewer than *limit*."""
        query: dict[str, Any] = {"kind": kind.value}
        if user_id is not None:
            query["user_id"] = user_id
        if hotel is not None:
            query["hotel"] = hotel
        if cursor is not None:
            query["id"] = {"$gt": cursor}
        limit = _page_limit(limit)
        found = await self._credentials.find(query, sort=("id", 1), limit=limit + 1)
        now = utc_now()
        page = [Credential.model_validate(_strip(d)) for d in found[:limit]]
        return Page[Credential](
            items=[c for c in page if c.expires_at is None or c.expires_at > now],
            next_cursor=found[limit - 1]["id"] if len(found) > limit else None,
        )

    async def delete_credential(self, digest: str) -> bool:
        deleted = await self._credentials.delete_many({"_id": digest}) > 0
        if deleted:
            self._access_changed()
        return deleted

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
        """Save *config*; Conflict when another hotel's settings have its ``route_key``."""
        stored = await self.get_channel_config(config.hotel, config.channel)
        await self._claim_for(config)
        await self._channel_configs.update_one(
            {"_id": f"{config.hotel}|{config.channel}"}, {"$set": _doc(config)}, upsert=True
        )
        await self._check_claim(stored, config)
        await self._unrouted(stored, config.route_key)
        return config

    async def get_channel_config(self, hotel: str, channel: str) -> ChannelConfig | None:
        found = await self._channel_configs.find_one({"_id": f"{hotel}|{channel}"})
        return None if found is None else ChannelConfig.model_validate(_strip(found))

    async def list_channel_configs(self, hotel: str) -> list[ChannelConfig]:
        found = await self._channel_configs.find({"hotel": hotel})
        configs = [
            ChannelConfig.model_validate(_strip(d))
            for d in found
            if not is_shared_document(d["_id"])  # the hotel's route claims
        ]
        return sorted(configs, key=lambda c: c.channel)

    async def delete_channel_config(self, hotel: str, channel: str) -> bool:
        stored = await self.get_channel_config(hotel, channel)
        deleted = await self._channel_configs.delete_many({"_id": f"{hotel}|{channel}"}) > 0
        await self._unrouted(stored, None)
        return deleted

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
