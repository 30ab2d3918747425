"""The live socket refuses pages of other origins before accepting; scripts still connect."""

from __future__ import annotations

import json

import anyio
import pytest
from begasist_suite.auth.principal import SESSION_COOKIE
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import Role
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.suite.api.seed import personal_token
from tests.suite.conftest import RunningSuite, add_member

pytestmark = pytest.mark.anyio

ANA = "ana@plaza.test"
ALLOWED = "https://staff.example.com"


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"live_allowed_origins": (ALLOWED,)})


async def session_cookie(suite: RunningSuite) -> dict[str, str]:
    await add_member(suite.store, "plaza", ANA, Role.AGENT)
    async with suite.client() as client:
        await suite.login(client, ANA)
        return {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}


async def handshake(suite: RunningSuite, headers: dict[str, str], origin: str | None) -> int:
    """101 when a socket opened with *headers* and *origin* answers a ping, else the refusal."""
    url = suite.url.replace("http://", "ws://") + "/api/v1/hotels/plaza/live"
    try:
        async with connect(
            url, additional_headers=headers, origin=None if origin is None else Origin(origin)
        ) as socket:
            await socket.send("ping")
            with anyio.fail_after(10):
                assert json.loads(await socket.recv()) == {"kind": "pong"}
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null", "not a url"]
)
async def test_a_page_of_another_origin_is_refused(suite: RunningSuite, origin: str) -> None:
    assert await handshake(suite, await session_cookie(suite), origin) == 403


async def test_the_suites_own_origin_and_the_allowed_ones_connect(suite: RunningSuite) -> None:
    cookie = await session_cookie(suite)
    assert await handshake(suite, cookie, suite.url) == 101
    assert await handshake(suite, cookie, ALLOWED) == 101


async def test_a_script_without_origin_connects_with_a_bearer_token(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", ANA, Role.AGENT)
    token = await personal_token(suite, ANA)
    assert await handshake(suite, {"Authorization": f"Bearer {token}"}, None) == 101
