"""The inbox and conversation pages: queries per page, drafts, unread counts, search, threads."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from begasist_core import GuestIdentity
from begasist_suite.store.records import Role
from begasist_suite.store.sqlite import SqliteCollection

from tests.suite.api.seed import DEMO, SeededHotel, add_draft_for, inbound_message, seed_hotel
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.web.conftest import post_form, sign_in

pytestmark = pytest.mark.anyio

_QUERIES = ("find", "find_one", "count", "update_one", "insert", "delete_many")


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


def conversation_page(hotel: SeededHotel) -> str:
    return f"/hotels/{hotel.slug}/conversations/{hotel.conversation.id}"


def thread_of(page: str) -> str:
    """The conversation's messages on *page* (the list beside shows previews too)."""
    found = re.search(r'<ol id="thread".*?</ol>', page, re.DOTALL)
    assert found is not None
    return found[0]


BACKGROUND_SCANS = frozenset({"outbox_due", "fallback_due"})
"""Fields only the suite's background loops filter on (store/outbox.py, store/fallback.py)."""


@contextmanager
def counted_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count the store's queries per collection while the block runs (the relay's
    outbox scans and the email fallback's aside: they run on their own clock, not for
    a page, and land in the block whenever a slow host stretches it)."""
    counts: Counter[str] = Counter()
    for name in _QUERIES:
        original: Callable[..., Awaitable[Any]] = getattr(SqliteCollection, name)

        def counting(
            original: Callable[..., Awaitable[Any]] = original,
        ) -> Callable[..., Awaitable[Any]]:
            async def query(self: SqliteCollection, *args: Any, **kwargs: Any) -> Any:
                filter = args[0] if args else {}
                if not BACKGROUND_SCANS & set(filter):
                    counts[self._name] += 1
                return await original(self, *args, **kwargs)

            return query

        monkeypatch.setattr(SqliteCollection, name, counting())
    yield counts


async def _more_rows(suite: RunningSuite, plaza: SeededHotel, n: int, start: int) -> None:
    """*n* more members, and *n* more conversations each with a pending draft."""
    for k in range(start, start + n):
        await add_member(suite.store, "plaza", f"agent{k}@plaza.test", Role.AGENT)
        recorded = await suite.store.record_inbound(
            inbound_message("plaza", f"rows-{k}", address=f"+3461000{k:04d}")
        )
        await add_draft_for(suite, recorded)
        await suite.store.update_conversation(
            "plaza", recorded.conversation.id, assignee=plaza.members[Role.AGENT].id
        )


async def test_the_pages_make_as_many_queries_whatever_the_number_of_rows(
    suite: RunningSuite, plaza: SeededHotel, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = ("/hotels/plaza/inbox", f"/hotels/plaza/conversations/{plaza.conversation.id}")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")

        async def queries() -> list[Counter[str]]:
            counts = []
            for path in pages:
                with counted_queries(monkeypatch) as counted:
                    assert (await client.get(path)).status_code == 200
                monkeypatch.undo()
                counts.append(counted)
            return counts

        await _more_rows(suite, plaza, 2, 0)
        for path in pages:  # opening a conversation reads it once: a write, then none
            await client.get(path)
        few = await queries()
        await _more_rows(suite, plaza, 12, 2)
        many = await queries()
    assert many == few


async def test_unread_counts_per_row_and_for_the_hotel_until_the_conversation_is_opened(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    other = await suite.store.record_inbound(
        inbound_message("plaza", "other-1", address="+34699999999")
    )
    await suite.store.record_inbound(inbound_message("plaza", "other-2", address="+34699999999"))
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        inbox = (await client.get("/hotels/plaza/inbox")).text
        assert "Unread messages: 3" in inbox
        assert inbox.count('class="badge unread"') == 2
        assert "2 unread</span>" in inbox
        opened = await client.get(f"/hotels/plaza/conversations/{other.conversation.id}")
        assert "Unread messages: 1<" in opened.text  # the list beside it, already counted down
        inbox = (await client.get("/hotels/plaza/inbox")).text
        assert inbox.count('class="badge unread"') == 1
        await client.get(f"/hotels/plaza/conversations/{plaza.conversation.id}")
        inbox = (await client.get("/hotels/plaza/inbox")).text
    assert "No unread messages" in inbox
    assert 'class="badge unread"' not in inbox
    assert await suite.store.hotel_unread("plaza") == 0


async def test_the_search_box_finds_guests_and_keeps_the_filters(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    carla = await suite.store.record_inbound(
        inbound_message("plaza", "carla-1", address="+34677001122").model_copy(
            update={
                "guest": GuestIdentity(
                    channel=DEMO, address="+34677001122", display_name="Carla Gómez"
                )
            }
        )
    )
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        everyone = (await client.get("/hotels/plaza/inbox")).text
        assert "Carla Gómez" in everyone
        assert "Ana Lopez" in everyone
        found = await client.get("/hotels/plaza/inbox", params={"q": "carla", "view": "all"})
        by_phone = await client.get("/hotels/plaza/inbox", params={"q": "677 001"})
        nobody = await client.get("/hotels/plaza/inbox", params={"q": "zoe"})
        resolved = await client.get(
            "/hotels/plaza/inbox", params={"q": "gomez", "status": "resolved"}
        )
    assert "Carla Gómez" in found.text
    assert "Ana Lopez" not in found.text
    assert 'value="carla"' in found.text  # the box keeps what was searched
    # The links keep the search: the tabs, the conversation, clearing it.
    assert (
        f"/hotels/plaza/conversations/{carla.conversation.id}?view=all&amp;status=open&amp;q=carla"
        in found.text
    )
    assert "/hotels/plaza/inbox?view=mine&amp;status=open&amp;q=carla" in found.text
    assert "Carla Gómez" in by_phone.text
    assert "Ana Lopez" not in by_phone.text
    assert "No guest matches “zoe” here." in nobody.text
    assert "Carla Gómez" not in resolved.text


async def test_the_thread_names_who_wrote_each_message(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    agent = plaza.members[Role.AGENT]
    await suite.store.update_user(agent.model_copy(update={"display_name": "Lucía Recepción"}))
    page = conversation_page(plaza)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        await post_form(client, page, f"{page}/reply", text="Hola")
        await post_form(
            client,
            page,
            f"/hotels/plaza/drafts/{plaza.draft.id}/approve",
            action="approve",
            text=plaza.draft.text,
        )
        thread = (await client.get(page)).text
    authors = re.findall(r'<span class="author">([^<]*)</span>', thread)
    assert authors == ["Ana Lopez", "Lucía Recepción", "Assistant, approved by Lucía Recepción"]


async def test_a_long_thread_shows_its_newest_messages_and_pages_back(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    start = plaza.message.created_at
    for n in range(1, 205):
        message = inbound_message(
            "plaza", f"long-{n}", address=plaza.conversation.key, text=f"line-{n:03d}-end"
        )
        at = start + timedelta(seconds=n)
        await suite.store.record_inbound(message.model_copy(update={"created_at": at}))
    page = conversation_page(plaza)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        newest = (await client.get(page)).text
        older_link = re.search(r'<a href="([^"]*before=[^"]*)">Older messages</a>', newest)
        assert older_link is not None
        older = (await client.get(html.unescape(older_link[1]))).text
    shown = re.findall(r"line-(\d{3})-end", thread_of(newest))
    assert shown == [f"{n:03d}" for n in range(5, 205)]  # the newest 200, oldest first
    assert "Newest messages" not in newest
    assert re.findall(r"line-(\d{3})-end", thread_of(older)) == [f"{n:03d}" for n in range(1, 5)]
    assert "Is breakfast included?" in thread_of(older)
    assert "Older messages" not in older
    assert "Newest messages" in older
