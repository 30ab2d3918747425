"""A token never mints one that outlives it: personal tokens and bot tokens through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from begasist_core import utc_now
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.store.records import Credential, CredentialKind, Role

from tests.suite.api.seed import bearer, personal_token
from tests.suite.conftest import RunningSuite, add_member

pytestmark = pytest.mark.anyio

OWNER = "owner@plaza.test"


@pytest.fixture
async def owner(suite: RunningSuite) -> str:
    user = await add_member(suite.store, "plaza", OWNER, Role.OWNER)
    return user.id


async def expiring_token(suite: RunningSuite, user_id: str, days: int) -> str:
    secret = new_secret("api_token")
    await suite.store.add_credential(
        Credential(
            digest=digest(secret),
            kind=CredentialKind.API_TOKEN,
            user_id=user_id,
            name="short-lived",
            expires_at=utc_now() + timedelta(days=days),
        )
    )
    return secret


def expiry(answer: httpx.Response) -> datetime:
    return datetime.fromisoformat(answer.json()["expires_at"])


async def test_an_expiring_token_mints_only_tokens_that_expire_no_later(
    suite: RunningSuite, owner: str
) -> None:
    token = await expiring_token(suite, owner, days=7)
    async with suite.client(headers=bearer(token)) as client:
        forever = await client.post("/api/v1/me/tokens", json={"name": "forever"})
        longer = await client.post("/api/v1/me/tokens", json={"name": "x", "expires_in_days": 30})
        shorter = await client.post("/api/v1/me/tokens", json={"name": "y", "expires_in_days": 3})
        bot = await client.post("/api/v1/hotels/plaza/bot-tokens", json={"name": "bot"})
    assert (forever.status_code, longer.status_code, bot.status_code) == (403, 403, 403)
    assert shorter.status_code == 201
    assert expiry(shorter) - utc_now() <= timedelta(days=3)
    names = [
        c.name for c in await suite.store.list_credentials(CredentialKind.API_TOKEN, user_id=owner)
    ]
    assert sorted(names) == ["short-lived", "y"]
    assert await suite.store.list_credentials(CredentialKind.BOT_TOKEN, hotel="plaza") == []


async def test_a_session_or_a_token_without_expiry_mints_any_token(
    suite: RunningSuite, owner: str
) -> None:
    token = await personal_token(suite, OWNER)
    async with suite.client(headers=bearer(token)) as client:
        forever = await client.post("/api/v1/me/tokens", json={"name": "forever"})
        bot = await client.post("/api/v1/hotels/plaza/bot-tokens", json={"name": "bot"})
    assert (forever.status_code, bot.status_code) == (201, 201)
    assert forever.json()["expires_at"] is None
