"""The store's outbox: the events to publish, stored with what they announce.

What the API (or the event consumer) accepts is durable together with the
event that tells a bot about it, and the relay (``inbox/relay.py``) publishes
the event later, so a Redis outage never loses one. Astra has no
multi-document transactions, so an entry lives in the very document whose
change it announces wherever that matters: an outbound message carries its
``message.send`` (``outbox_event``) and the indexed time it is due
(``outbox_due``) from the one insert that stores it, and loses both once the
relay has published it.

What has no document of its own gets one in the ``messages`` collection:
Astra allows ten collections and the store uses all ten, and ``messages`` is
the one that indexes ``outbox_due``, so the relay finds every kind of entry
with one query, in due order:

- ``cmd|{hotel}|{event id}``: a ``channel.command``, deleted once published;
- ``cfg|{hotel}``: the hotel's channel settings changed. One per hotel, so
  changes in a row coalesce; the relay publishes ``config.changed`` with the
  version the hotel has at that moment, then deletes it.

Neither has an ``id``, a ``conversation_id`` or a ``provider_key``, the fields
every read of messages filters on, so no message lookup or listing returns
one; both carry ``hotel``, so deleting the hotel deletes them.

Claims: the relay takes an entry by moving its ``outbox_due`` to the claim's
expiry with a compare-and-set on the value it read, so two relays never both
take it, and an entry whose relay died is due again once the claim expires.
Marking it done (and giving it back) is a compare-and-set on the claimed value
too: a relay whose claim expired and was taken over, or whose entry was queued
again meanwhile (a second settings change), leaves the entry due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from begasist_core import Event, Message, MessageSend, encode_event, make_event, utc_now

from begasist_suite.store.base import StoreBase
from begasist_suite.store.documents import CountLimitExceeded, DuplicateDocument, iso

__all__ = [
    "OUTBOX_FIELDS",
    "OutboxBacklog",
    "OutboxEntry",
    "OutboxKind",
    "OutboxStore",
    "outbound_fields",
]

OutboxKind = Literal["message", "command", "config"]

OUTBOX_FIELDS: Final = ("outbox_due", "outbox_event", "outbox_since")
"""The fields an outbox entry adds to the document that carries it."""

_COMMAND_PREFIX: Final = "cmd|"
_CONFIG_PREFIX: Final = "cfg|"
_PENDING: Final = {"$gt": ""}  # any outbox_due: every due time is a non-empty string


@dataclass(frozen=True)
class OutboxEntry:
    """An entry the relay claimed: publish :attr:`event`, then mark it done."""

    document_id: str
    hotel: str
    due: str
    """Its ``outbox_due`` under this claim: the compare-and-set of done and release."""
    queued: str
    """Its ``outbox_due`` before the claim, which a release puts back."""
    event: str | None
    """The event's JSON; None for ``config.changed``, made when it is published."""

    @property
    def kind(self) -> OutboxKind:
        if self.document_id.startswith(_COMMAND_PREFIX):
            return "command"
        if self.document_id.startswith(_CONFIG_PREFIX):
            return "config"
        return "message"


@dataclass(frozen=True)
class OutboxBacklog:
    """How much waits to be published (for the status API and the tests)."""

    pending: int
    """Entries not yet published, claimed ones included."""
    pending_capped: bool
    """The database counts no further (Astra: 1,000): there are at least ``pending``."""
    oldest_age_seconds: float | None
    """How long the first entry in due order has waited; None when none waits."""


def outbound_fields(message: Message, at: datetime) -> dict[str, Any]:
    """The outbox fields of a new outbound message: its ``message.send``, due at *at*.

    The event's key is the message id's, the same on every republish, and the
    bot sends a message id once.
    """
    event = make_event(message.hotel, MessageSend(message=message), key=f"send:{message.id}")
    return {
        # The id breaks ties, so messages queued in one microsecond keep their order
        # (ids are monotonic in a process); a due time with a suffix still sorts by time.
        "outbox_due": f"{iso(at)}|{message.id}",
        "outbox_event": encode_event(event).decode("utf-8"),
        "outbox_since": iso(at),
    }


class OutboxStore(StoreBase):
    """Queueing commands and config changes; claiming, finishing and counting entries."""

    async def queue_command(self, event: Event, *, at: datetime | None = None) -> bool:
        """Queue *event* (a ``channel.command``) for the hotel's control stream.

        False when an event with its id was queued before (a retried request
        whose event id comes from its ``Idempotency-Key``): nothing changes.
        """
        now = iso(at or utc_now())
        try:
            await self._messages.insert(
                {
                    "_id": f"{_COMMAND_PREFIX}{event.hotel}|{event.id}",
                    "hotel": event.hotel,
                    "outbox_due": now,
                    "outbox_event": encode_event(event).decode("utf-8"),
                    "outbox_since": now,
                }
            )
        except DuplicateDocument:
            return False
        return True

    async def queue_config_changed(self, hotel: str, *, at: datetime | None = None) -> None:
        """Queue ``config.changed`` for *hotel*, due at once (or at *at*)."""
        now = iso(at or utc_now())
        await self._messages.update_one(
            {"_id": f"{_CONFIG_PREFIX}{hotel}"},
            {"$set": {"outbox_due": now}, "$setOnInsert": {"hotel": hotel, "outbox_since": now}},
            upsert=True,
        )

    async def intend_config_change(self, hotel: str, *, within: timedelta) -> None:
        """Before changing *hotel*'s settings: make sure ``config.changed`` follows *within*.

        Where a change is not one transaction (Astra), this is written first
        and :meth:`queue_config_changed` after the change: a crash between them
        still announces the change when *within* has passed. A pending entry
        is left as it is (it is due sooner).
        """
        now = utc_now()
        await self._messages.update_one(
            {"_id": f"{_CONFIG_PREFIX}{hotel}"},
            {
                "$setOnInsert": {
                    "hotel": hotel,
                    "outbox_due": iso(now + within),
                    "outbox_since": iso(now),
                }
            },
            upsert=True,
        )

    async def claim_outbox(
        self, *, now: datetime | None = None, hold: timedelta, limit: int
    ) -> list[OutboxEntry]:
        """Claim up to *limit* due entries for *hold*, in due order; each is this caller's alone."""
        moment = now or utc_now()
        claimed_due = iso(moment + hold)
        claimed: list[OutboxEntry] = []
        async with self.database.unit_of_work():  # SQLite: one commit for the batch
            due = await self._messages.find(
                {"outbox_due": {"$lte": iso(moment)}}, sort=("outbox_due", 1), limit=limit
            )
            for document in due:
                taken = await self._messages.update_one(
                    {"_id": document["_id"], "outbox_due": document["outbox_due"]},
                    {"$set": {"outbox_due": claimed_due}},
                )
                if taken is None:
                    continue  # another relay took it (or it was published) since the find
                claimed.append(
                    OutboxEntry(
                        document_id=str(taken["_id"]),
                        hotel=str(taken["hotel"]),
                        due=claimed_due,
                        queued=str(document["outbox_due"]),
                        event=taken.get("outbox_event"),
                    )
                )
        return claimed

    async def outbox_done(self, entries: list[OutboxEntry]) -> int:
        """Mark *entries* published; return how many were still this claim's."""
        done = 0
        async with self.database.unit_of_work():
            for entry in entries:
                claim = {"_id": entry.document_id, "outbox_due": entry.due}
                if entry.kind == "message":
                    unset = {field: "" for field in OUTBOX_FIELDS}
                    done += await self._messages.update_one(claim, {"$unset": unset}) is not None
                else:
                    done += await self._messages.delete_many(claim)
        return done

    async def release_outbox(self, entries: list[OutboxEntry]) -> None:
        """Give back *entries* unpublished: each is due again as it was before the claim."""
        async with self.database.unit_of_work():
            for entry in entries:
                await self._messages.update_one(
                    {"_id": entry.document_id, "outbox_due": entry.due},
                    {"$set": {"outbox_due": entry.queued}},
                )

    async def outbox_backlog(
        self, hotel: str | None = None, *, now: datetime | None = None
    ) -> OutboxBacklog:
        """What waits to be published, of *hotel* or of every hotel."""
        query: dict[str, Any] = {"outbox_due": _PENDING}
        if hotel is not None:
            query["hotel"] = hotel
        try:
            pending, capped = await self._messages.count(query), False
        except CountLimitExceeded as error:
            pending, capped = error.limit, True
        first = await self._messages.find(query, sort=("outbox_due", 1), limit=1)
        if not first:
            return OutboxBacklog(pending=pending, pending_capped=capped, oldest_age_seconds=None)
        since = datetime.fromisoformat(str(first[0]["outbox_since"]))
        age = max(0.0, ((now or utc_now()) - since).total_seconds())
        return OutboxBacklog(pending=pending, pending_capped=capped, oldest_age_seconds=age)
