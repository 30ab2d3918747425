"""Dead letters per hotel: each hotel's own list, paginated, never crowded out by another's."""

from __future__ import annotations

import httpx
import pytest
from begasist_core import DeadLetters

from tests.suite.api.seed import bury_outbound, json_of, seed_hotel
from tests.suite.conftest import RunningSuite

pytestmark = pytest.mark.anyio


async def pages(client: httpx.AsyncClient, hotel: str, limit: int) -> list[list[str]]:
    """Every page of *hotel*'s dead letters, following ``next_cursor``: their ids."""
    found: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = json_of(await client.get(f"/api/v1/hotels/{hotel}/dead-letters", params=query))
        found.append([letter["id"] for letter in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def test_a_hotel_with_many_dead_letters_pushes_no_other_out_of_view(
    suite: RunningSuite,
) -> None:
    await seed_hotel(suite, "sol")
    plaza = await seed_hotel(suite, "plaza")  # plaza's seeded letter is buried after sol's
    buried = [plaza.dead_id]
    for number in range(1100):
        buried.append(await bury_outbound(suite, "plaza", f"reply {number}"))
    async with suite.client() as client:
        await suite.login(client, "manager@sol.test")
        (sol_page,) = await pages(client, "sol", 50)
        assert len(sol_page) == 1
        retried = await client.post(f"/api/v1/hotels/sol/dead-letters/{sol_page[0]}/retry")
        assert retried.status_code == 202
        again = await client.post(f"/api/v1/hotels/sol/dead-letters/{sol_page[0]}/retry")
        assert again.status_code == 404
        assert json_of(await client.get("/api/v1/hotels/sol/dead-letters"))["items"] == []
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        plaza_pages = await pages(client, "plaza", 200)
    assert [len(page) for page in plaza_pages] == [200] * 5 + [101]
    assert [i for page in plaza_pages for i in page] == list(reversed(buried))


async def test_dead_letters_in_the_shared_stream_move_to_their_hotel(suite: RunningSuite) -> None:
    """What an older version buried in the shared stream shows in its hotel's list, and is
    retried from there; an entry of no hotel stays."""
    dead = DeadLetters(suite.redis, suite.names)
    legacy = {
        "by stream": (suite.names.outbound("plaza"), b'{"type": "message.send"}'),
        "by envelope": (suite.names.events, b'{"hotel": "plaza", "type": "message.received"}'),
        "of no hotel": (suite.names.events, b"not json"),
    }
    for error, (stream, payload) in legacy.items():
        await suite.redis.xadd(
            suite.names.dead,
            {
                "source_stream": stream,
                "source_id": "1-0",
                "group": "suite",
                "reason": "handler_failed",
                "error": error,
                "deliveries": 5,
                "payload": payload,
                "failed_at": "2026-01-01T00:00:00+00:00",
            },
        )
    await dead.sort_shared()
    assert [letter.error for letter in await dead.list()] == ["of no hotel"]
    await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        listed = json_of(await client.get("/api/v1/hotels/plaza/dead-letters"))["items"]
        assert [letter["error"] for letter in listed] == [
            "provider said no",
            "by envelope",
            "by stream",
        ]
        retried = await client.post(f"/api/v1/hotels/plaza/dead-letters/{listed[2]['id']}/retry")
        assert retried.status_code == 202
    assert await dead.sort_shared() == 0
