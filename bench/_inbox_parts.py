"""The inbox benchmark's breakdown: each store call and view builder a page makes, timed alone.

cProfile inflates many small Python calls (babel, Jinja) more than a few big
C ones (SQLite), so its shares mislead; these are the same calls the pages
make (``web/inbox_pages.py``, ``web/views.py``), timed one by one on the
benchmark's store with ``time.thread_time`` (CPU), median of ``repeat``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from _inbox_seed import SeededHotel
from begasist_core import ConversationStatus
from begasist_suite.store.base import MAX_PAGE
from begasist_suite.store.records import DraftStatus
from begasist_suite.store.store import Store
from begasist_suite.web.i18n import language
from begasist_suite.web.views import conversation_rows, message_views

__all__ = ["time_parts"]


async def _cpu_ms(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.thread_time()
        await call()
        timings.append((time.thread_time() - started) * 1000)
    return statistics.median(timings)


async def time_parts(store: Store, plaza: SeededHotel, repeat: int = 30) -> list[tuple[str, float]]:
    """(what, CPU ms) for the inbox's and the conversation page's parts."""
    hotel, es = plaza.slug, language("es")
    first = await store.list_conversations(hotel, status=ConversationStatus.OPEN, limit=50)
    long_thread = await store.get_conversation(hotel, plaza.long_thread)
    assert long_thread is not None
    thread = await store.list_messages(hotel, plaza.long_thread, limit=200)
    page_ids = [c.id for c in first.items]
    pending = (
        await store.list_drafts(
            hotel, conversation_ids=page_ids, status=DraftStatus.PENDING, limit=MAX_PAGE
        )
    ).items

    async def people() -> None:  # as web/inbox_pages.py's _people: two queries
        memberships = await store.list_memberships(hotel=hotel)
        await store.get_users(m.user_id for m in memberships)

    async def rows() -> None:
        conversation_rows(
            first.items,
            language=es,
            people={},
            pending_drafts={d.conversation_id for d in pending},
            now=datetime.now(UTC),
        )

    async def messages() -> None:
        message_views(thread.items, conversation=long_thread, drafts=[], people={}, language=es)

    parts: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        (
            "store.list_conversations, open, 50",
            lambda: store.list_conversations(hotel, status=ConversationStatus.OPEN, limit=50),
        ),
        (
            "store.list_conversations, mine+resolved+demo",
            lambda: store.list_conversations(
                hotel,
                channel="demo",
                status=ConversationStatus.RESOLVED,
                assignee=plaza.staff.id,
                limit=50,
            ),
        ),
        (
            f"store.list_drafts, the page's pending ({len(pending)} returned)",
            lambda: store.list_drafts(
                hotel, conversation_ids=page_ids, status=DraftStatus.PENDING, limit=MAX_PAGE
            ),
        ),
        (f"_people: memberships + get_users ({len(plaza.members) + 1} members)", people),
        ("store.hotel_unread", lambda: store.hotel_unread(hotel)),
        ("store.list_channel_configs", lambda: store.list_channel_configs(hotel)),
        (
            "store.list_messages, 200 of the long thread",
            lambda: store.list_messages(hotel, plaza.long_thread, limit=200),
        ),
        ("views.conversation_rows, 50 rows (babel: 2 a row)", rows),
        ("views.message_views, 200 messages (babel: 1 each)", messages),
    ]
    return [(name, await _cpu_ms(call, repeat)) for name, call in parts]
