"""The SQLite backend's schema steps, in order: ``PRAGMA user_version`` counts the ones applied.

Append a step for every change (a new collection or index, a field rewrite);
never edit a step that has shipped: a database made by it must end up where a
fresh one does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Final

from begasist_core import GuestIdentity
from pydantic import ValidationError

from begasist_suite.store.search import search_tokens

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

# The migrations spell out their tables and indexes instead of reading
# COLLECTIONS, so that a later change to it cannot change what a shipped step did.
_V1_COLLECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "hotels": (),
    "users": ("id",),
    "memberships": ("hotel", "user_id"),
    "credentials": ("kind", "user_id", "hotel", "expires_at"),
    "channel_configs": ("hotel",),
    "guests": ("hotel", "type", "guest_id", "sort_key"),
    "conversations": ("hotel", "id", "channel", "status", "assignee", "sort_key"),
    "messages": ("hotel", "id", "conversation_id", "sort_key", "provider_key", "revision"),
    "drafts": ("hotel", "id", "conversation_id", "status", "sort_key"),
    "channel_states": ("hotel",),
}

_V2_INDEXES: Final[dict[str, list[tuple[str, ...]]]] = {
    # Compound indexes for the store's actual queries: fewer pages to write per
    # commit than one index per field (an inbound message wrote six).
    "users": [("id",)],
    "memberships": [("hotel",), ("user_id",)],
    "credentials": [("kind", "user_id"), ("kind", "hotel"), ("expires_at",)],
    "channel_configs": [("hotel",)],
    "guests": [("hotel", "type", "sort_key"), ("hotel", "guest_id")],
    "conversations": [("hotel", "id"), ("hotel", "sort_key")],
    "messages": [("hotel", "id"), ("conversation_id", "sort_key"), ("hotel", "provider_key")],
    "drafts": [("hotel", "id"), ("hotel", "conversation_id"), ("hotel", "status")],
    "channel_states": [("hotel",)],
}


def _field_index_name(collection: str, fields: tuple[str, ...]) -> str:
    return f"ix_{collection}_{'_'.join(fields)}"


def _create_collections(connection: sqlite3.Connection) -> None:
    for name, fields in _V1_COLLECTIONS.items():
        connection.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" (_id TEXT PRIMARY KEY, doc TEXT NOT NULL)'
        )
        for field in fields:
            connection.execute(
                f'CREATE INDEX IF NOT EXISTS "ix_{name}_{field}" '
                f"ON \"{name}\" (json_extract(doc, '$.{field}'))"
            )


def _compound_indexes(connection: sqlite3.Connection) -> None:
    for name, fields in _V1_COLLECTIONS.items():
        for field in fields:
            connection.execute(f'DROP INDEX IF EXISTS "ix_{name}_{field}"')
    for name, indexes in _V2_INDEXES.items():
        for index in indexes:
            columns = ", ".join(f"json_extract(doc, '$.{field}')" for field in index)
            connection.execute(
                f'CREATE INDEX IF NOT EXISTS "{_field_index_name(name, index)}_v2" '
                f'ON "{name}" ({columns})'
            )


def _outbox_indexes(connection: sqlite3.Connection) -> None:
    # Partial: only messages with an unpublished outbox entry (and the outbox's
    # command and config.changed documents) are in them, so an inbound message
    # or a published reply costs no index write, and the relay's scan reads
    # only what is pending. SQLite uses a partial index for a comparison on its
    # column (`<= ?`, `> ?`), which implies the IS NOT NULL of its WHERE.
    due = "json_extract(doc, '$.outbox_due')"
    connection.execute(
        f'CREATE INDEX IF NOT EXISTS "ix_messages_outbox_due_v3" ON "messages" ({due}) '
        f"WHERE {due} IS NOT NULL"
    )
    connection.execute(
        'CREATE INDEX IF NOT EXISTS "ix_messages_hotel_outbox_due_v3" ON "messages" '
        f"(json_extract(doc, '$.hotel'), {due}) WHERE {due} IS NOT NULL"
    )


def _inbox_indexes(connection: sqlite3.Connection) -> None:
    # Partial, as the outbox's: only unread guest messages are in it.
    unread = "json_extract(doc, '$.unread_of')"
    connection.execute(
        'CREATE INDEX IF NOT EXISTS "ix_messages_hotel_unread_of_v4" ON "messages" '
        f"(json_extract(doc, '$.hotel'), {unread}) WHERE {unread} IS NOT NULL"
    )
    # The lists' pages: drafts newest first per hotel and per status, hotels by
    # slug, members by user id, a user's hotels by slug, tokens by id.
    for collection, fields in (
        ("drafts", ("hotel", "sort_key")),
        ("drafts", ("hotel", "status", "sort_key")),
        ("hotels", ("slug",)),
        ("memberships", ("hotel", "user_id")),
        ("memberships", ("user_id", "hotel")),
        ("credentials", ("kind", "hotel", "id")),
        ("credentials", ("kind", "user_id", "id")),
    ):
        columns = ", ".join(f"json_extract(doc, '$.{field}')" for field in fields)
        connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_field_index_name(collection, fields)}_v4" '
            f'ON "{collection}" ({columns})'
        )


def _filter_indexes_and_search(connection: sqlite3.Connection) -> None:
    # The inbox's filters, newest first: with only (hotel, sort_key) a filter that
    # few conversations match (mine + resolved + a channel) read every conversation
    # of the hotel (bench/inbox_pages.py: 25-35 ms at 10,000 conversations).
    for fields in (
        ("hotel", "status", "sort_key"),
        ("hotel", "assignee", "sort_key"),
        ("hotel", "channel", "sort_key"),
    ):
        columns = ", ".join(f"json_extract(doc, '$.{field}')" for field in fields)
        connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_field_index_name("conversations", fields)}_v5" '
            f'ON "conversations" ({columns})'
        )
    # Conversations stored before search existed get their tokens from their guest,
    # as a new guest message would give them (store/search.py): found at once.
    rows = connection.execute(
        "SELECT _id, json_extract(doc, '$.guest') FROM \"conversations\" "
        "WHERE json_extract(doc, '$.search') IS NULL"
    ).fetchall()
    for key, guest in rows:
        if guest is None:
            continue
        try:
            tokens = search_tokens(GuestIdentity.model_validate_json(guest))
        except ValidationError:
            continue  # a document the store cannot read is left as it is
        connection.execute(
            "UPDATE \"conversations\" SET doc = json_set(doc, '$.search', json(?)) WHERE _id = ?",
            (json.dumps(tokens), key),
        )


def _mode_filter(connection: sqlite3.Connection) -> None:
    # The inbox's mode filter (store/reply_modes.py): conversations by their own
    # mode and by their guest's copied one, newest first; a guest's conversations
    # for copying its mode when it changes.
    for fields in (
        ("hotel", "mode_override", "sort_key"),
        ("hotel", "guest_mode", "sort_key"),
        ("hotel", "guest_id"),
    ):
        columns = ", ".join(f"json_extract(doc, '$.{field}')" for field in fields)
        connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_field_index_name("conversations", fields)}_v6" '
            f'ON "conversations" ({columns})'
        )
    # Conversations from before get their guest's mode (null when it has none),
    # and an explicit null mode_override: the filters match null, not a missing field.
    connection.execute(
        """
        UPDATE "conversations" SET doc = json_set(
            doc,
            '$.guest_mode',
            (SELECT json_extract(g.doc, '$.mode_override') FROM "guests" AS g
             WHERE g._id = json_extract("conversations".doc, '$.guest_id')
               AND json_extract(g.doc, '$.type') = 'guest'),
            '$.mode_override',
            json_extract(doc, '$.mode_override')
        )
        WHERE json_type(doc, '$.guest_mode') IS NULL
        """
    )


def _fallback_index(connection: sqlite3.Connection) -> None:
    # Partial, as the outbox's: only replies waiting for the email fallback are in it.
    due = "json_extract(doc, '$.fallback_due')"
    connection.execute(
        f'CREATE INDEX IF NOT EXISTS "ix_messages_fallback_due_v7" ON "messages" ({due}) '
        f"WHERE {due} IS NOT NULL"
    )


MIGRATIONS: Final[tuple[Callable[[sqlite3.Connection], None], ...]] = (
    _create_collections,
    _compound_indexes,
    _outbox_indexes,
    _inbox_indexes,
    _filter_indexes_and_search,
    _mode_filter,
    _fallback_index,
)
"""Schema steps in order; step *n* takes a database from version *n* to *n + 1*."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
