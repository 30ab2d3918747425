"""The store's email fallback: replies left unread, claimed once to be emailed too.

A reply on a channel that asks for it (``Channel.unseen_reply_email_after``)
is stored with the time it is due (``fallback_due``, indexed, from the very
insert that stores it: ``store/fallback_fields.py``). A ``read`` receipt
removes it (``apply_status``), so a reply read in time is never taken. The
email fallback (``inbox/email_fallback.py``) claims due replies the way the
outbox relay claims its entries: a compare-and-set moves ``fallback_due`` to
the claim's expiry, so two suite replicas never both take one, and a
replica that dies holding it leaves it due again once the claim expires.
Done is a compare-and-set on the claimed value that removes the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from begasist_core import ConversationStatus, GuestIdentity, utc_now

from begasist_suite.store.base import _doc, _stable_id, _thread_id
from begasist_suite.store.documents import iso
from begasist_suite.store.fallback_fields import FALLBACK_DUE
from begasist_suite.store.inbox import InboxStore
from begasist_suite.store.records import ConversationRecord
from begasist_suite.store.search import search_tokens

__all__ = ["FallbackEntry", "FallbackStore"]


@dataclass(frozen=True)
class FallbackEntry:
    """A reply the fallback claimed: email it (or not), then mark it done."""

    document_id: str
    hotel: str
    message_id: str
    conversation_id: str
    due: str
    """Its ``fallback_due`` under this claim: the compare-and-set of done."""


class FallbackStore(InboxStore):
    """Claiming replies due for the email fallback; the conversation their emails go in."""

    async def claim_fallbacks(
        self, *, now: datetime | None = None, hold: timedelta, limit: int
    ) -> list[FallbackEntry]:
        """Claim up to *limit* due replies for *hold*, in due order; each is this caller's alone."""
        moment = now or utc_now()
        claimed_due = iso(moment + hold)
        claimed: list[FallbackEntry] = []
        async with self.database.unit_of_work():
            # Due by *moment* inclusive: values are "<time>|<id>", so compare with the
            # next microsecond's time alone.
            until = iso(moment + timedelta(microseconds=1))
            due = await self._messages.find(
                {FALLBACK_DUE: {"$lt": until}}, sort=(FALLBACK_DUE, 1), limit=limit
            )
            for document in due:
                # The id breaks ties in due order, as when it was queued.
                claim = f"{claimed_due}|{document['id']}"
                taken = await self._messages.update_one(
                    {"_id": document["_id"], FALLBACK_DUE: document[FALLBACK_DUE]},
                    {"$set": {FALLBACK_DUE: claim}},
                )
                if taken is None:
                    continue  # another replica took it, or the guest read it, since the find
                claimed.append(
                    FallbackEntry(
                        document_id=str(taken["_id"]),
                        hotel=str(taken["hotel"]),
                        message_id=str(taken["id"]),
                        conversation_id=str(taken["conversation_id"]),
                        due=claim,
                    )
                )
        return claimed

    async def fallback_done(self, entry: FallbackEntry) -> bool:
        """Mark *entry* done; False when it was no longer this claim's."""
        done = await self._messages.update_one(
            {"_id": entry.document_id, FALLBACK_DUE: entry.due}, {"$unset": {FALLBACK_DUE: ""}}
        )
        return done is not None

    async def open_conversation(
        self, hotel: str, channel: str, key: str, guest: GuestIdentity, *, guest_id: str
    ) -> ConversationRecord:
        """The conversation (hotel, channel, key), created for *guest_id* on first use.

        For a conversation the hotel starts (the email a web chat's replies go in):
        *guest* is who it is with, but no identity is recorded or linked for it.
        """
        thread = _thread_id(hotel, channel, key)
        now = utc_now()
        conversation_id = _stable_id(thread)
        created = _doc(
            ConversationRecord(
                id=conversation_id,
                hotel=hotel,
                channel=channel,
                key=key,
                guest=guest,
                guest_id=guest_id,
                status=ConversationStatus.OPEN,
                created_at=now,
            ),
            search=search_tokens(guest),
            sort_key=f"{iso(now)}|{conversation_id}",
        )
        opened = await self._conversations.update_one(
            {"_id": thread, "hotel": hotel}, {"$setOnInsert": created}, upsert=True
        )
        assert opened is not None
        return self._conversation(opened)
