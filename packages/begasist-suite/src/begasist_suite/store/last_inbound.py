"""When the guest last wrote in a conversation: what a channel's reply window runs from."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from begasist_core import Direction

from begasist_suite.store.base import StoreBase

__all__ = ["LastInboundStore"]

_BATCH: Final = 50
_BATCHES: Final = 20
"""How far back to look: past 1,000 messages of ours in a row, the guest's last message
is certainly older than any reply window a provider has."""


class LastInboundStore(StoreBase):
    """The time of a conversation's newest inbound message."""

    async def last_inbound_at(self, hotel: str, conversation_id: str) -> datetime | None:
        """When the guest's newest message in the conversation was written; None if the
        guest wrote none in its newest :data:`_BATCH` x :data:`_BATCHES` messages.

        Newest first over the indexed ``sort_key`` (the direction is not indexed:
        Astra filters only on indexed fields), so a page costs one query while the
        guest's last message is among the newest fifty.
        """
        query: dict[str, Any] = {"hotel": hotel, "conversation_id": conversation_id}
        for _ in range(_BATCHES):
            found = await self._messages.find(query, sort=("sort_key", -1), limit=_BATCH)
            for document in found:
                if document.get("direction") == Direction.INBOUND.value:
                    return datetime.fromisoformat(str(document["created_at"]))
            if len(found) < _BATCH:
                return None
            query = {**query, "sort_key": {"$lt": found[-1]["sort_key"]}}
        return None
