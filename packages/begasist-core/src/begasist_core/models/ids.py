"""Identifiers: ULIDs, sortable by creation time."""

from __future__ import annotations

from ulid import ULID

__all__ = ["new_id"]


def new_id() -> str:
    """A new ULID as its 26-character Crockford base32 string."""
    return str(ULID())
