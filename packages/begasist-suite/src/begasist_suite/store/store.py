"""The suite's store: every read and write the suite makes, over a document database.

One class, written once against :class:`DocumentDatabase`; SQLite and Astra DB
are the databases under it. Every method about a hotel's objects takes the
hotel and filters by it, so a caller cannot reach another hotel's data by id.
Natural unique keys are document ``_id`` values, so the database itself
enforces deduplication (an inbound message per provider id, a guest identity
per address, a conversation per thread, a draft per inbound message, an
``Idempotency-Key`` per caller and route). What must reach a bot is stored with
its event in the outbox (``store/outbox.py``), in the same write.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from begasist_suite.metrics import time_operations
from begasist_suite.store.base import MAX_PAGE, Conflict, InboundRecorded, NotFound
from begasist_suite.store.fallback import FallbackStore
from begasist_suite.store.guest_preferences import GuestPreferenceStore
from begasist_suite.store.idempotency import IdempotencyStore
from begasist_suite.store.inbox import draft_id, reply_message_id
from begasist_suite.store.invitations import InvitationStore
from begasist_suite.store.last_inbound import LastInboundStore
from begasist_suite.store.message_changes import MessageChangesStore
from begasist_suite.store.outbox import OutboxStore
from begasist_suite.store.people import PeopleStore

__all__ = [
    "MAX_PAGE",
    "Conflict",
    "InboundRecorded",
    "NotFound",
    "Store",
    "draft_id",
    "reply_message_id",
]


@time_operations
class Store(
    PeopleStore,
    FallbackStore,
    MessageChangesStore,
    GuestPreferenceStore,
    OutboxStore,
    IdempotencyStore,
    LastInboundStore,
    InvitationStore,
):
    """Async access to everything the suite keeps; see the module docstring."""

    async def migrate(self) -> None:
        await self.database.migrate()

    def unit_of_work(self) -> AbstractAsyncContextManager[None]:
        """Make what this task does inside durable together, where the database can."""
        return self.database.unit_of_work()

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Inside a unit of work: undo this block's writes if it raises."""
        return self.database.savepoint()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run *action* once what this task wrote is durable (see the database's)."""
        self.database.after_commit(action)

    async def ping(self) -> None:
        """One cheap read; raises when the database does not answer (``/ready``)."""
        await self.database.collection("hotels").find_one({"_id": ""})

    async def aclose(self) -> None:
        await self.database.aclose()
