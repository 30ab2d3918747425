"""Fleet tokens: a sharded bot lists every hotel and reads any hotel's bot settings, and
nothing else; a hotel's bot token or a person cannot list the hotels."""

from __future__ import annotations

import pytest
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.store.records import Credential, CredentialKind, Role

from tests.suite.api.seed import DEMO, SeededHotel, bearer, personal_token
from tests.suite.api.test_tenant_isolation import (
    API,
    PUBLIC,
    _shows_nothing,
    api_endpoints,
    call,
    hotels,
    snapshot,
    values_of,
)
from tests.suite.conftest import RunningSuite, add_member

__all__ = ["hotels"]  # the fixture, shared with the isolation matrix

pytestmark = pytest.mark.anyio

FLEET_HOTELS = f"{API}/bot/hotels"


async def fleet_token(suite: RunningSuite) -> str:
    secret = new_secret("fleet_token")
    await suite.store.add_credential(
        Credential(digest=digest(secret), kind=CredentialKind.FLEET_TOKEN, name="fleet")
    )
    return secret


async def test_a_fleet_token_lists_every_hotel_a_page_at_a_time(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    token = await fleet_token(suite)
    async with suite.client(headers=bearer(token)) as client:
        first = (await client.get(FLEET_HOTELS, params={"limit": 1})).json()
        second = (
            await client.get(FLEET_HOTELS, params={"limit": 1, "cursor": first["next_cursor"]})
        ).json()
    assert [item["slug"] for item in first["items"] + second["items"]] == ["plaza", "sol"]
    assert second["next_cursor"] is None
    for item in first["items"] + second["items"]:
        stored = await suite.store.get_hotel(item["slug"])
        assert stored is not None
        assert item["config_version"] == stored.config_version


async def test_a_fleet_token_reads_any_hotels_bot_settings(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    token = await fleet_token(suite)
    async with suite.client(headers=bearer(token)) as client:
        for hotel in hotels:
            settings = (await client.get(f"{API}/hotels/{hotel.slug}/bot/settings")).json()
            assert settings["channels"][DEMO]["webhook_secret"] == hotel.webhook_secret
            version = await client.get(f"{API}/hotels/{hotel.slug}/bot/settings/version")
            assert version.json() == {"version": settings["version"]}
        assert (await client.get(f"{API}/hotels/ghost/bot/settings")).status_code == 404


async def test_a_fleet_token_reaches_no_staff_or_api_route(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    token = await fleet_token(suite)
    endpoints, _ = api_endpoints(suite.app)
    plaza, sol = hotels
    before = await snapshot(suite, plaza), await snapshot(suite, sol)
    problems = []
    async with suite.client(headers=bearer(token)) as client:
        for endpoint in endpoints:
            if endpoint.for_bots or endpoint.path in PUBLIC or endpoint.path == FLEET_HOTELS:
                continue
            for objects in hotels:
                answer = await call(client, endpoint, values_of(objects.slug, objects))
                refused = answer.status_code in (401, 403, 404)
                empty = not endpoint.in_hotel and answer.is_success and _shows_nothing(answer)
                if not (refused or empty):
                    problems.append(f"{endpoint.name} for {objects.slug}: {answer.status_code}")
    assert not problems, "\n".join(problems)
    assert (await snapshot(suite, plaza), await snapshot(suite, sol)) == before


async def test_only_a_fleet_token_lists_the_hotels(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, _ = hotels
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    admin = await personal_token(suite, "root@platform.test")
    owner = await personal_token(suite, plaza.members[Role.OWNER].email)
    for token in (plaza.bot_token, admin, owner):
        async with suite.client(headers=bearer(token)) as client:
            answer = await client.get(FLEET_HOTELS)
        assert answer.status_code == 403, answer.text
        assert "sol" not in answer.text
    async with suite.client() as anonymous:
        assert (await anonymous.get(FLEET_HOTELS)).status_code == 401
