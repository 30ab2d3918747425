"""Finding conversations by the reply mode that applies to them.

The mode that applies is the conversation's override, else its guest's, else
its channel's (``inbox/modes.py``). A conversation document keeps its own
override (``mode_override``) and a copy of its guest's (``guest_mode``, kept
by the store when the guest's changes), so the inbox can filter by mode
without a read per row. The channel's mode lives in the channel's settings;
the document layer has no ``$or``, so "applies mode M" is three disjoint
queries, each newest first, merged here:

1. ``mode_override == M``;
2. ``mode_override is None and guest_mode == M``;
3. ``mode_override is None and guest_mode is None`` on a channel whose mode is M.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Any, Final

from begasist_core import ReplyMode

__all__ = [
    "DEFAULT_CHANNEL_MODE",
    "GUEST_MODE_PENDING",
    "channel_mode",
    "merge_newest_first",
    "mode_queries",
]

DEFAULT_CHANNEL_MODE: Final = ReplyMode.SUPERVISED
"""The mode of a channel whose settings name none (or none the suite knows)."""

GUEST_MODE_PENDING: Final = "pending"
"""``guest_mode`` of a conversation just created, until the store has copied its guest's.

A marker rather than a missing field, so that copying it is a compare-and-set
a concurrent change of the guest's mode (which writes the field unconditionally)
always wins over.
"""


def channel_mode(settings: Mapping[str, Any] | None) -> ReplyMode:
    """The reply mode a channel's settings give, :data:`DEFAULT_CHANNEL_MODE` if none."""
    stored = None if settings is None else settings.get("mode")
    try:
        return ReplyMode(str(stored)) if stored is not None else DEFAULT_CHANNEL_MODE
    except ValueError:
        return DEFAULT_CHANNEL_MODE


def mode_queries(
    query: Mapping[str, Any], mode: ReplyMode, channel_modes: Mapping[str, ReplyMode]
) -> list[dict[str, Any]]:
    """The disjoint filters whose union is *query*'s conversations to which *mode* applies.

    *channel_modes* maps each configured channel to its mode; a channel not in it
    has :data:`DEFAULT_CHANNEL_MODE`. A ``channel`` equality already in *query*
    narrows the third filter to that channel (or drops it).
    """
    queries = [
        {**query, "mode_override": mode.value},
        {**query, "mode_override": None, "guest_mode": mode.value},
    ]
    fallback: dict[str, Any] = {**query, "mode_override": None, "guest_mode": None}
    chosen = query.get("channel")
    if isinstance(chosen, str):
        if channel_modes.get(chosen, DEFAULT_CHANNEL_MODE) is mode:
            queries.append(fallback)
        return queries
    if mode is DEFAULT_CHANNEL_MODE:
        others = sorted(name for name, its in channel_modes.items() if its is not mode)
        if others:
            fallback["channel"] = {"$nin": others}
        queries.append(fallback)
    else:
        matching = sorted(name for name, its in channel_modes.items() if its is mode)
        if matching:
            fallback["channel"] = {"$in": matching}
            queries.append(fallback)
    return queries


def merge_newest_first(
    pages: Sequence[Sequence[dict[str, Any]]], limit: int
) -> list[dict[str, Any]]:
    """The first *limit* documents of several lists each sorted by ``sort_key`` descending.

    The lists come from disjoint queries, so nothing is repeated; each must hold
    its first ``limit + 1`` documents for the caller to know whether more follow.
    """
    merged = heapq.merge(*pages, key=lambda document: str(document["sort_key"]), reverse=True)
    return [document for _, document in zip(range(limit), merged, strict=False)]
