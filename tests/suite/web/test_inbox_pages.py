"""The inbox and conversation pages: queries per page, drafts, unread counts, search, threads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from begasist_core import GuestIdentity
from begasist_suite.store.records import Role
from begasist_suite.store.sqlite import SqliteCollection

from tests.suite.api.seed import DEMO, SeededHotel, add_draft_for, inbound_message, seed_hotel
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.web.conftest import sign_in

pytestmark = pytest.mark.anyio

_QUERIES = ("find", "find_one", "count", "update_one", "insert", "delete_many")


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


@contextmanager
def counted_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Count the store's queries per collection while the block runs (the relay's
    outbox scans aside: they run on their own clock, not for a page)."""
    counts: Counter[str] = Counter()
    for name in _QUERIES:
        original: Callable[..., Awaitable[Any]] = getattr(SqliteCollection, name)

        def counting(
            original: Callable[..., Awaitable[Any]] = original,
        ) -> Callable[..., Awaitable[Any]]:
            async def query(self: SqliteCollection, *args: Any, **kwargs: Any) -> Any:
                filter = args[0] if args else {}
                if "outbox_due" not in filter:
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
