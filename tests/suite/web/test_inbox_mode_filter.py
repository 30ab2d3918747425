"""The inbox's reply-mode filter: on the page (kept in every link) and in the API."""

from __future__ import annotations

import pytest
from begasist_core import ReplyMode
from begasist_suite.store.records import Role

from tests.suite.api.seed import SeededHotel, inbound_message, put_demo_settings, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import sign_in
from tests.suite.web.test_inbox_pages import counted_queries

pytestmark = pytest.mark.anyio


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def _conversation(suite: RunningSuite, key: str, address: str) -> str:
    recorded = await suite.store.record_inbound(inbound_message("plaza", key, address=address))
    return recorded.conversation.id


async def test_the_mode_tabs_list_the_conversations_each_mode_applies_to(
    suite: RunningSuite, plaza: SeededHotel, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put_demo_settings(suite, "plaza", {"mode": "automatic"})
    own_manual = await _conversation(suite, "m-1", "+34611000001")
    await suite.store.update_conversation("plaza", own_manual, mode_override=ReplyMode.MANUAL)
    guest_supervised = await _conversation(suite, "m-2", "+34611000002")
    found = await suite.store.get_conversation("plaza", guest_supervised)
    assert found is not None
    assert found.guest_id is not None
    await suite.store.update_guest("plaza", found.guest_id, mode_override=ReplyMode.SUPERVISED)
    channels = {plaza.conversation.id}  # the seeded one: the channel's (automatic)

    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        with counted_queries(monkeypatch) as plain:
            await client.get("/hotels/plaza/inbox")
        monkeypatch.undo()
        with counted_queries(monkeypatch) as counts:
            manual = await client.get("/hotels/plaza/inbox", params={"mode": "manual"})
        monkeypatch.undo()
        supervised = await client.get("/hotels/plaza/inbox", params={"mode": "supervised"})
        automatic = await client.get("/hotels/plaza/inbox", params={"mode": "automatic"})
        every = await client.get("/hotels/plaza/inbox")
        wrong = await client.get("/hotels/plaza/inbox", params={"mode": "sometimes"})

    def listed(page: str) -> set[str]:
        ids = {own_manual, guest_supervised, *channels}
        return {i for i in ids if f"/hotels/plaza/conversations/{i}?" in page}

    assert listed(manual.text) == {own_manual}
    assert listed(supervised.text) == {guest_supervised}
    assert listed(automatic.text) == channels
    assert listed(every.text) == {own_manual, guest_supervised, *channels}
    assert wrong.status_code == 400
    # The filter is kept in the other tabs' links and in the rows' links.
    assert "/hotels/plaza/inbox?view=mine&amp;status=open&amp;mode=manual" in manual.text
    assert f"/hotels/plaza/conversations/{own_manual}?view=all&amp;status=open&amp;mode=manual" in (
        manual.text
    )
    assert 'name="mode" value="manual"' in manual.text  # the search form keeps it
    assert 'href="/hotels/plaza/inbox?view=all&amp;status=open" aria-current="page"' not in (
        manual.text
    )
    # Three conversation queries (one per level) for the list's one, and the
    # channels' modes: never a query per row.
    extra = counts - plain
    assert set(extra) == {"conversations", "channel_configs"}, (counts, plain)
    assert extra["channel_configs"] == 1
    assert extra["conversations"] <= 2  # here 1: no channel is manual


async def test_the_api_filters_by_the_mode_that_applies(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    manual = await _conversation(suite, "a-1", "+34611000009")
    await suite.store.update_conversation("plaza", manual, mode_override=ReplyMode.MANUAL)
    async with suite.client() as client:
        await sign_in(client, plaza.members[Role.AGENT].email)
        found = await client.get("/api/v1/hotels/plaza/conversations", params={"mode": "manual"})
        supervised = await client.get(
            "/api/v1/hotels/plaza/conversations", params={"mode": "supervised"}
        )
        wrong = await client.get("/api/v1/hotels/plaza/conversations", params={"mode": "x"})
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["items"]] == [manual]
    # The demo channel names no mode: supervised, like the seeded conversation.
    assert [c["id"] for c in supervised.json()["items"]] == [plaza.conversation.id]
    assert wrong.status_code == 400
