"""The document layer under the store: collections of JSON documents keyed by ``_id``.

The suite's :class:`~begasist_suite.store.Store` is written once against this
small protocol, and each database backend (SQLite, Astra DB) implements it.
The query language is a strict subset of the Astra Data API's, so the Astra
backend passes filters and updates through unchanged and SQLite translates
them; both must behave identically, which ``tests/suite/store`` checks.

Filters
    ``{"field": value}`` (equality; the store writes every field of a document,
    null included, so ``None`` matches a null field),
    ``{"field": {"$in": [...]}}``, ``{"$nin": [...]}`` (at least one value; a
    missing or null field is in none), ``{"$ne": v}``, ``{"$lt" | "$lte" | "$gt" |
    "$gte": v}`` on strings or numbers; ``{"field": {"$all": [...]}}`` on a
    field holding a list of strings: it holds every value given (at least
    one). Several fields are ANDed. Fields are top-level names only.
Updates
    ``$set``, ``$unset``, ``$inc``, ``$max``, ``$setOnInsert``.
Values
    JSON scalars, lists and objects. Times are stored as ISO 8601 strings in
    UTC with a fixed width (:func:`iso`), so that string order is time order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

__all__ = [
    "COLLECTIONS",
    "Collection",
    "CountLimitExceeded",
    "DocumentDatabase",
    "DuplicateDocument",
    "Filter",
    "Sort",
    "Update",
    "iso",
]

Filter = Mapping[str, Any]
Update = Mapping[str, Mapping[str, Any]]
Sort = tuple[str, Literal[1, -1]]

COLLECTIONS: dict[str, tuple[str, ...]] = {
    # collection -> the fields its filters and sorts use. Backends index exactly
    # these (Astra indexes nothing else, so long texts never hit its index limit);
    # a filter on any other field is a bug. Ten collections: Astra's limit.
    "hotels": ("slug",),
    "users": ("id",),
    "memberships": ("hotel", "user_id"),
    "credentials": ("kind", "user_id", "hotel", "expires_at", "id"),
    "channel_configs": ("hotel",),
    "guests": ("hotel", "type", "guest_id", "sort_key"),
    # search: the tokens inbox search finds a conversation by (store/search.py).
    # mode_override, guest_mode (its guest's, copied): the inbox's mode filter
    # (store/reply_modes.py); guest_id: what copying a guest's mode finds.
    "conversations": (
        "hotel",
        "id",
        "channel",
        "status",
        "assignee",
        "sort_key",
        "search",
        "guest_id",
        "mode_override",
        "guest_mode",
    ),
    # outbox_due: when the relay publishes the document's pending event (absent
    # once published); the outbox's own documents live here too (store/outbox.py).
    "messages": (
        "hotel",
        "id",
        "conversation_id",
        "sort_key",
        "provider_key",
        "revision",
        "outbox_due",
        # unread_of: the conversation of a guest message no staff member has read
        # (null once read): what marking a conversation read finds.
        "unread_of",
        # fallback_due: when an unread reply is due to be emailed too (store/fallback.py).
        "fallback_due",
    ),
    "drafts": ("hotel", "id", "conversation_id", "status", "sort_key"),
    "channel_states": ("hotel",),
}
"""Every collection the store uses, created by each backend's migrations."""


class DuplicateDocument(Exception):
    """An insert named an ``_id`` that already exists; nothing was written."""


class CountLimitExceeded(RuntimeError):
    """More documents match than the database will count (Astra stops at 1,000)."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
        """How many the database counts: at least this many match."""


class Collection(Protocol):
    """One collection of documents; every method is atomic on one document."""

    async def insert(self, document: Mapping[str, Any]) -> None:
        """Insert *document* (it has an ``_id``); raise :class:`DuplicateDocument` if taken."""
        ...

    async def find_one(self, filter: Filter) -> dict[str, Any] | None:
        """The first document matching *filter*, or None."""
        ...

    async def find(
        self, filter: Filter, *, sort: Sort | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Documents matching *filter*, in *sort* order (any order without one), at most *limit*."""
        ...

    async def update_one(
        self, filter: Filter, update: Update, *, upsert: bool = False
    ) -> dict[str, Any] | None:
        """Apply *update* to the first match and return it as it is after; None if no match.

        With *upsert*, a missing document is created from the filter's
        equality fields, ``$setOnInsert`` and the update.
        """
        ...

    async def delete_many(self, filter: Filter) -> int:
        """Delete every match; return how many."""
        ...

    async def count(self, filter: Filter) -> int:
        """How many documents match *filter*; :class:`CountLimitExceeded` past the
        database's limit, if it has one."""
        ...


class DocumentDatabase(Protocol):
    """A database holding the :data:`COLLECTIONS`."""

    def collection(self, name: str) -> Collection:
        """The collection *name* (one of :data:`COLLECTIONS`)."""
        ...

    async def migrate(self) -> None:
        """Create or upgrade the collections and indexes; safe to run again."""
        ...

    def unit_of_work(self) -> AbstractAsyncContextManager[None]:
        """Group this task's operations inside so they become durable together, if the
        database can (SQLite: one transaction); a database that cannot (Astra) makes
        each operation durable on its own, which the store's idempotent writes allow."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Inside a unit of work, undo this block's writes if it raises (else nothing)."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run *action* once this task's writes so far are durable (at once outside a
        unit of work); dropped if they roll back. For notices, never for more writes."""
        ...

    async def aclose(self) -> None:
        """Release connections; the database is not used afterwards."""
        ...


def iso(moment: datetime) -> str:
    """*moment* as a fixed-width UTC ISO 8601 string, so string order is time order."""
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
