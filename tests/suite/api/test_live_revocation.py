"""An open live socket is closed as soon as its caller loses access, on any replica.

The sockets' periodic re-check is set to an hour here, so what closes them is
the access announcement over Redis, not the timer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import CredentialKind, Role
from begasist_suite.store.store import Store
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.suite.api.seed import SeededHotel, bearer, personal_token, seed_hotel
from tests.suite.conftest import RunningSuite, serving

pytestmark = pytest.mark.anyio

LIVE = "/api/v1/hotels/plaza/live"


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"live_recheck_seconds": 3600.0})


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


@asynccontextmanager
async def live(url: str, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:
    """An open live socket that answered a ping."""
    async with connect(url.replace("http", "ws", 1) + LIVE, additional_headers=headers) as socket:
        await socket.send("ping")
        assert "pong" in str(await socket.recv())
        yield socket


async def close_code(socket: ClientConnection) -> int:
    """The code the server closes *socket* with (notices before it are skipped)."""

    async def drain() -> None:
        while True:
            await socket.recv()

    with anyio.fail_after(10), pytest.raises(ConnectionClosed) as closed:  # a bound, not a time
        await drain()
    received = closed.value.rcvd
    assert received is not None
    return received.code


async def session_headers(client: httpx.AsyncClient, suite: RunningSuite, email: str) -> Any:
    await suite.login(client, email)
    return {"cookie": f"begasist_session={client.cookies['begasist_session']}"}


async def still_open(socket: ClientConnection) -> bool:
    await socket.send("ping")
    return "pong" in str(await socket.recv())


async def remove_agent(suite: RunningSuite, plaza: SeededHotel) -> None:
    async with suite.client() as owner:
        await suite.login(owner, "owner@plaza.test")
        agent = plaza.members[Role.AGENT].id
        assert (await owner.delete(f"/api/v1/hotels/plaza/members/{agent}")).status_code == 204


async def disable_agent(suite: RunningSuite, plaza: SeededHotel) -> None:
    agent = plaza.members[Role.AGENT]
    await suite.store.update_user(agent.model_copy(update={"disabled": True}))


Change = Callable[[RunningSuite, SeededHotel], Awaitable[None]]


@pytest.mark.parametrize(
    ("change", "code"), [(remove_agent, 4403), (disable_agent, 4401)], ids=["removed", "disabled"]
)
async def test_a_member_who_loses_access_loses_the_socket(
    suite: RunningSuite, plaza: SeededHotel, change: Change, code: int
) -> None:
    async with suite.client() as agent_client, suite.client() as manager_client:
        agent = await session_headers(agent_client, suite, "agent@plaza.test")
        manager = await session_headers(manager_client, suite, "manager@plaza.test")
        async with live(suite.url, agent) as agents, live(suite.url, manager) as managers:
            await change(suite, plaza)
            assert await close_code(agents) == code
            assert await still_open(managers)


async def test_a_revoked_token_or_ended_session_loses_the_socket(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    token = await personal_token(suite, "agent@plaza.test")
    agent_id = plaza.members[Role.AGENT].id
    (listed,) = await suite.store.list_credentials(CredentialKind.API_TOKEN, user_id=agent_id)
    async with suite.client() as client:
        session = await session_headers(client, suite, "agent@plaza.test")
        async with (
            live(suite.url, bearer(token)) as by_token,
            live(suite.url, session) as by_session,
        ):
            assert (await client.delete(f"/api/v1/me/tokens/{listed.id}")).status_code == 204
            assert await close_code(by_token) == 4401
            assert await still_open(by_session)
            assert (await client.post("/api/v1/auth/logout")).status_code == 204
            assert await close_code(by_session) == 4401


async def test_a_removal_on_one_replica_closes_the_socket_on_another(
    suite: RunningSuite, plaza: SeededHotel, suite_settings: SuiteSettings
) -> None:
    # The same database, but a store of its own: what this one announces is only what
    # the first replica's store, watched by the first replica alone, announces.
    other_store = Store(suite.store.database)
    other = create_app(suite_settings.model_copy(update={"consumer": False}), store=other_store)
    async with serving(other, suite_settings) as other_url, suite.client() as client:
        agent = await session_headers(client, suite, "agent@plaza.test")
        async with live(other_url, agent) as socket:
            await remove_agent(suite, plaza)  # through the first replica's API
            assert await close_code(socket) == 4403


async def test_a_change_nobody_announces_is_found_by_the_periodic_recheck(
    suite: RunningSuite, plaza: SeededHotel, suite_settings: SuiteSettings
) -> None:
    """As the CLI does from its own process: the store changes, no notice is sent."""
    quick = suite_settings.model_copy(update={"live_recheck_seconds": 0.1, "consumer": False})
    other_store = Store(suite.store.database)
    async with serving(create_app(quick, store=other_store), quick) as other_url:
        async with suite.client() as client:
            agent = await session_headers(client, suite, "agent@plaza.test")
        async with live(other_url, agent) as socket:
            # Under the store's methods, whose changes are announced.
            memberships = suite.store.database.collection("memberships")
            agent_id = plaza.members[Role.AGENT].id
            assert await memberships.delete_many({"_id": f"plaza|{agent_id}"}) == 1
            assert await close_code(socket) == 4403
