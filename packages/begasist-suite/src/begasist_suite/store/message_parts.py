"""Further parts of a message sent in several: each part's provider id reaches the message."""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Final

from begasist_suite.store.documents import Collection, DuplicateDocument

__all__ = ["PART_OF", "part_document_id", "record_part", "whole_message"]

PART_OF: Final = "part_of"
"""In a document that records a further part of a message sent in several: the
message's document ``_id`` (the document has no other message field, so no
listing, unread count or outbox scan of messages ever finds it)."""


def part_document_id(hotel: str, provider_key: str) -> str:
    return f"part|{hotel}|{provider_key}"


async def record_part(messages: Collection, message: dict[str, Any], provider_key: str) -> None:
    """Remember *provider_key* (``{channel}|{provider id}``) as one more part of *message*,
    once: found by receipts as the message's own provider key is."""
    with suppress(DuplicateDocument):
        await messages.insert(
            {
                "_id": part_document_id(str(message["hotel"]), provider_key),
                "hotel": message["hotel"],
                "provider_key": provider_key,
                PART_OF: message["_id"],
            }
        )


async def whole_message(
    messages: Collection, document: dict[str, Any] | None
) -> dict[str, Any] | None:
    """*document*, or the message it records a further part of."""
    if document is None or PART_OF not in document:
        return document
    return await messages.find_one({"_id": document[PART_OF]})
