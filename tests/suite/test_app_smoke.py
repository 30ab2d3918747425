"""The suite answers over real HTTP: health, login, OpenAPI."""

from __future__ import annotations

import pytest
from begasist_suite.store.records import Role

from tests.suite.conftest import RunningSuite, add_member

pytestmark = pytest.mark.anyio


async def test_health_and_openapi(suite: RunningSuite) -> None:
    async with suite.client() as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/hotels/{hotel}/conversations" in schema["paths"]


async def test_login_then_me(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.AGENT)
    async with suite.client() as client:
        await suite.login(client, "ana@plaza.test")
        me = (await client.get("/api/v1/me")).json()
    assert me["memberships"] == [{"hotel": "plaza", "role": "agent"}]
