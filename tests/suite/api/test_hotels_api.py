"""A hotel over HTTP: its time zone, read by every member and changed by managers."""

from __future__ import annotations

import pytest

from tests.suite.api.seed import SeededHotel, json_of, seed_hotel
from tests.suite.conftest import RunningSuite

pytestmark = pytest.mark.anyio

PLAZA = "/api/v1/hotels/plaza"


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def test_a_manager_sets_the_time_zone_and_every_member_reads_it(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as agent, suite.client() as manager:
        await suite.login(agent, "agent@plaza.test")
        await suite.login(manager, "manager@plaza.test")
        assert json_of(await agent.get(PLAZA))["timezone"] == "UTC"

        changed = json_of(await manager.patch(PLAZA, json={"timezone": "Europe/Madrid"}))
        assert changed["timezone"] == "Europe/Madrid"
        assert json_of(await agent.get(PLAZA))["timezone"] == "Europe/Madrid"
        [listed] = json_of(await agent.get("/api/v1/hotels"))["items"]
        assert listed["timezone"] == "Europe/Madrid"

        refused = await agent.patch(PLAZA, json={"timezone": "Atlantic/Canary"})
        assert refused.status_code == 403
    stored = await suite.store.get_hotel("plaza")
    assert stored is not None
    assert stored.timezone == "Europe/Madrid"


@pytest.mark.parametrize(
    ("name", "status"),
    [("Mars/Olympus", 422), ("Europe/../../etc/passwd", 400), ("", 400), (7, 400)],
)
async def test_an_unknown_time_zone_is_refused_and_nothing_changes(
    suite: RunningSuite, plaza: SeededHotel, name: object, status: int
) -> None:
    """A name of the wrong shape is a bad body (400); one of the right shape that the zone
    database lacks is refused with its field error (422)."""
    async with suite.client() as manager:
        await suite.login(manager, "manager@plaza.test")
        answer = await manager.patch(PLAZA, json={"timezone": name})
    assert answer.status_code == status, answer.text
    if status == 422:
        assert answer.json()["errors"][0]["loc"] == ["timezone"]
    stored = await suite.store.get_hotel("plaza")
    assert stored is not None
    assert stored.timezone == "UTC"
