"""The field an outbound message carries while it waits to be emailed if left unread."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from begasist_core import Message

from begasist_suite.store.documents import iso

__all__ = ["FALLBACK_DUE", "fallback_fields"]

FALLBACK_DUE: Final = "fallback_due"
"""Indexed: when the email fallback takes the message (``store/fallback.py``); absent
when none is due, once the guest read it, and once the fallback is done."""


def fallback_fields(message: Message, at: datetime | None) -> dict[str, Any]:
    """The fields of a new outbound message that make it due for the fallback at *at*."""
    if at is None:
        return {}
    # The id breaks ties and keeps the order of replies queued together (as outbox_due).
    return {FALLBACK_DUE: f"{iso(at)}|{message.id}"}
