"""The store's drafts: the assistant's proposed replies, listed a page at a time, decided once."""

from __future__ import annotations

from typing import Any

from begasist_core import utc_now

from begasist_suite.store.base import MAX_PAGE, Conflict, NotFound, _doc, _page_limit, _strip
from begasist_suite.store.documents import DuplicateDocument, iso
from begasist_suite.store.guests import GuestStore
from begasist_suite.store.records import Draft, DraftStatus, Page

__all__ = ["DraftStore"]


class DraftStore(GuestStore):
    """The assistant's drafts, one per inbound message."""

    async def add_draft(self, draft: Draft) -> Draft:
        """Store *draft*; if its id exists, the stored one is returned (idempotent)."""
        try:
            await self._drafts.insert(
                _doc(
                    draft,
                    _id=f"draft|{draft.hotel}|{draft.id}",
                    sort_key=f"{iso(draft.created_at)}|{draft.id}",
                )
            )
        except DuplicateDocument:
            stored = await self.get_draft(draft.hotel, draft.id)
            assert stored is not None
            return stored
        return draft

    async def get_draft(self, hotel: str, draft_id: str) -> Draft | None:
        found = await self._drafts.find_one({"hotel": hotel, "id": draft_id})
        return None if found is None else Draft.model_validate(_strip(found, "sort_key"))

    async def list_drafts(
        self,
        hotel: str,
        *,
        conversation_id: str | None = None,
        conversation_ids: list[str] | None = None,
        status: DraftStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Draft]:
        """The hotel's drafts, newest first, a page at a time (pass ``next_cursor`` back).

        *conversation_ids* (at most :data:`MAX_PAGE`) narrows to those
        conversations: the drafts of a page of the inbox in one query.
        """
        query: dict[str, Any] = {"hotel": hotel}
        if conversation_id is not None:
            query["conversation_id"] = conversation_id
        elif conversation_ids is not None:
            query["conversation_id"] = {"$in": conversation_ids[:MAX_PAGE]}
        if status is not None:
            query["status"] = status.value
        if cursor is not None:
            query["sort_key"] = {"$lt": cursor}
        limit = _page_limit(limit)
        found = await self._drafts.find(query, sort=("sort_key", -1), limit=limit + 1)
        next_cursor = found[limit - 1]["sort_key"] if len(found) > limit else None
        return Page[Draft](
            items=[Draft.model_validate(_strip(d, "sort_key")) for d in found[:limit]],
            next_cursor=next_cursor,
        )

    async def decide_draft(
        self,
        hotel: str,
        draft_id: str,
        status: DraftStatus,
        *,
        decided_by: str | None,
        text: str | None = None,
        sent_message_id: str | None = None,
    ) -> Draft:
        """Move a pending draft to sent or rejected, once: a second decision is a Conflict."""
        if status is DraftStatus.PENDING:
            raise ValueError("a decision is sent or rejected")
        changes: dict[str, Any] = {
            "status": status.value,
            "decided_by": decided_by,
            "decided_at": utc_now().isoformat(),
            "sent_message_id": sent_message_id,
        }
        if text is not None:
            changes["text"] = text
        updated = await self._drafts.update_one(
            {"hotel": hotel, "id": draft_id, "status": DraftStatus.PENDING.value}, {"$set": changes}
        )
        if updated is not None:
            return Draft.model_validate(_strip(updated, "sort_key"))
        if await self.get_draft(hotel, draft_id) is None:
            raise NotFound(f"no draft {draft_id!r}")
        raise Conflict(f"draft {draft_id!r} was decided already")
