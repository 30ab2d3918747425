"""A JSON body nested a thousand levels deep is the client's error (400), never a 500."""

from __future__ import annotations

import pytest
from begasist_suite.store.records import Role

from tests.suite.api.seed import bearer, personal_token
from tests.suite.conftest import RunningSuite, add_member

pytestmark = pytest.mark.anyio

DEPTH = 1000


def nested(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


async def test_login_refuses_a_deeply_nested_body(suite: RunningSuite) -> None:
    body = f'{{"email": {nested()}, "password": "x"}}'
    async with suite.client() as client:
        answer = await client.post(
            "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


async def test_an_authenticated_route_refuses_a_deeply_nested_body(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.OWNER)
    token = await personal_token(suite, "ana@plaza.test")
    body = f'{{"name": {nested()}}}'
    async with suite.client(headers=bearer(token)) as client:
        answer = await client.patch(
            "/api/v1/hotels/plaza", content=body, headers={"content-type": "application/json"}
        )
        still_fine = await client.patch("/api/v1/hotels/plaza", json={"name": "Plaza Mayor"})
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]
    assert still_fine.status_code == 200
