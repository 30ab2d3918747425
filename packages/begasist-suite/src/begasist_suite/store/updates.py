"""Applying the document layer's filters and updates to documents in memory.

The SQLite backend evaluates updates here (inside its write transaction), so
their meaning is written once; ``documents.py`` defines the language.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from begasist_core import new_id

from begasist_suite.store.documents import Filter, Update

__all__ = ["UnsupportedQuery", "apply_update", "document_for_upsert"]

_UPDATE_OPERATORS = frozenset({"$set", "$unset", "$inc", "$max", "$setOnInsert"})


class UnsupportedQuery(ValueError):
    """A filter or update uses something outside the document layer's subset."""


def apply_update(document: Mapping[str, Any], update: Update, *, inserting: bool) -> dict[str, Any]:
    """A copy of *document* with *update* applied (``$setOnInsert`` only when *inserting*)."""
    unknown = set(update) - _UPDATE_OPERATORS
    if unknown:
        raise UnsupportedQuery(f"unsupported update operators: {sorted(unknown)}")
    result = copy.deepcopy(dict(document))
    for field, value in update.get("$set", {}).items():
        result[_field(field)] = copy.deepcopy(value)
    for field in update.get("$unset", {}):
        result.pop(_field(field), None)
    for field, amount in update.get("$inc", {}).items():
        current = result.get(_field(field), 0)
        if not _is_number(amount) or not _is_number(current):
            raise UnsupportedQuery(f"$inc on {field!r} needs numbers")
        result[field] = current + amount
    for field, value in update.get("$max", {}).items():
        current = result.get(_field(field))
        if current is None or value > current:
            result[field] = value
    if inserting:
        for field, value in update.get("$setOnInsert", {}).items():
            result[_field(field)] = copy.deepcopy(value)
    if "_id" in result and "_id" in document and result["_id"] != document["_id"]:
        raise UnsupportedQuery("an update cannot change _id")
    return result


def document_for_upsert(filter: Filter, update: Update) -> dict[str, Any]:
    """The document an upsert creates: the filter's equality fields, then the update."""
    seed = {field: value for field, value in filter.items() if not isinstance(value, Mapping)}
    seed.setdefault("_id", new_id())
    document = apply_update(seed, update, inserting=True)
    document["_id"] = seed["_id"]
    return document


def _field(name: str) -> str:
    if not name or "." in name or name.startswith("$"):
        raise UnsupportedQuery(f"only top-level fields are supported, not {name!r}")
    return name


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
