"""Logging in and out, login rate limits, CSRF, personal tokens and the session cookie."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from begasist_core import utc_now
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import Credential, CredentialKind, Role

from tests.suite.api.seed import bearer, personal_token, seed_hotel
from tests.suite.conftest import PASSWORD, RunningSuite, add_member

pytestmark = pytest.mark.anyio

LOGIN = "/api/v1/auth/login"
ATTEMPTS = 3
ADDRESS_ATTEMPTS = 5
ACCOUNT_ATTEMPTS = 8
ANA = "ana@plaza.test"


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={
            "login_attempts": ATTEMPTS,
            "login_address_attempts": ADDRESS_ATTEMPTS,
            "login_account_attempts": ACCOUNT_ATTEMPTS,
        }
    )


@pytest.fixture
async def ana(suite: RunningSuite) -> str:
    await add_member(suite.store, "plaza", ANA, Role.MANAGER)
    return ANA


def from_address(address: str) -> dict[str, str]:
    """Uvicorn trusts X-Forwarded-For from 127.0.0.1, so a test can pose as another address."""
    return {"x-forwarded-for": address}


async def test_login_answers_the_user_and_a_csrf_token(suite: RunningSuite, ana: str) -> None:
    async with suite.client() as client:
        answer = await client.post(LOGIN, json={"email": ana, "password": PASSWORD})
        assert answer.status_code == 200
        assert answer.json()["user"]["email"] == ana
        assert answer.json()["csrf_token"]
        me = await client.get("/api/v1/me")
        assert me.status_code == 200
        # The session's token, for pages of this origin (the API viewer's "Try it out").
        assert me.json()["csrf_token"] == answer.json()["csrf_token"]
        created = await client.post(
            "/api/v1/me/tokens",
            json={"name": "script"},
            headers={"x-csrf-token": me.json()["csrf_token"]},
        )
        assert created.status_code == 201
    # A bearer token needs no CSRF token, and is given none.
    async with suite.client() as client:
        bearer = {"authorization": f"Bearer {created.json()['token']}"}
        assert (await client.get("/api/v1/me", headers=bearer)).json()["csrf_token"] is None


async def test_a_wrong_password_and_an_unknown_email_look_the_same(
    suite: RunningSuite, ana: str
) -> None:
    async with suite.client() as client:
        wrong = await client.post(LOGIN, json={"email": ana, "password": "not it"})
        unknown = await client.post(
            LOGIN, json={"email": "nobody@plaza.test", "password": "not it"}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers


async def _login(client: httpx.AsyncClient, email: str, password: str, address: str) -> int:
    answer = await client.post(
        LOGIN, json={"email": email, "password": password}, headers=from_address(address)
    )
    return answer.status_code


async def test_an_address_guessing_an_account_is_throttled_for_that_account_only(
    suite: RunningSuite, ana: str
) -> None:
    await add_member(suite.store, "plaza", "bob@plaza.test", Role.AGENT)
    async with suite.client() as client:
        for _ in range(ATTEMPTS):
            assert await _login(client, ana, "guess", "203.0.113.1") == 401
        limited = await client.post(
            LOGIN, json={"email": ana, "password": PASSWORD}, headers=from_address("203.0.113.1")
        )
        other_account = await _login(client, "bob@plaza.test", PASSWORD, "203.0.113.1")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= suite.settings.login_window_seconds
    assert other_account == 200


async def test_an_attacker_hammering_from_elsewhere_cannot_lock_the_user_out(
    suite: RunningSuite, ana: str
) -> None:
    """More wrong tries than every limit, from the attacker's address: the user still signs in."""
    async with suite.client() as client:
        attempts = [
            await _login(client, ana, f"guess {n}", "203.0.113.66")
            for n in range(ACCOUNT_ATTEMPTS + ADDRESS_ATTEMPTS)
        ]
        user = await _login(client, ana, PASSWORD, "198.51.100.7")
    assert attempts[:ATTEMPTS] == [401] * ATTEMPTS
    assert set(attempts[ATTEMPTS:]) == {429}
    assert user == 200


async def test_one_address_trying_many_accounts_is_throttled(suite: RunningSuite, ana: str) -> None:
    address = "203.0.113.50"
    async with suite.client() as client:
        for attempt in range(ADDRESS_ATTEMPTS):
            assert await _login(client, f"guess{attempt}@plaza.test", "guess", address) == 401
        limited = await _login(client, ana, PASSWORD, address)
        elsewhere = await _login(client, ana, PASSWORD, "192.0.2.1")
    assert limited == 429
    assert elsewhere == 200


async def test_many_addresses_guessing_one_account_reach_its_ceiling(
    suite: RunningSuite, ana: str
) -> None:
    async with suite.client() as client:
        answers = [
            await _login(client, ana, "guess", f"203.0.113.{address}")
            for address in range(ACCOUNT_ATTEMPTS // ATTEMPTS + 1)
            for _ in range(ATTEMPTS)
        ]
        fresh = await _login(client, ana, PASSWORD, "198.51.100.8")
    assert answers[:ACCOUNT_ATTEMPTS] == [401] * ACCOUNT_ATTEMPTS
    assert answers[ACCOUNT_ATTEMPTS:] == [429]
    assert fresh == 429


async def test_a_success_resets_the_pair_counter(suite: RunningSuite, ana: str) -> None:
    address = "192.0.2.9"
    async with suite.client() as client:
        for _ in range(ATTEMPTS - 1):
            assert await _login(client, ana, "guess", address) == 401
        assert await _login(client, ana, PASSWORD, address) == 200
        again = [await _login(client, ana, "guess", address) for _ in range(ATTEMPTS)]
    assert again == [401] * ATTEMPTS


async def test_the_session_cookie_is_httponly_and_samesite_strict(
    suite: RunningSuite, ana: str
) -> None:
    async with suite.client() as client:
        answer = await client.post(LOGIN, json={"email": ana, "password": PASSWORD})
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().casefold() for part in cookie.split(";")}
    assert cookie.startswith("begasist_session=bgs_")
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/me/tokens", {"name": "script"}),
        ("PUT", "/api/v1/hotels/plaza/channels/demo", {"webhook_secret": "s3cret"}),
        ("PATCH", "/api/v1/hotels/plaza", {"name": "Plaza Mayor"}),
        ("DELETE", "/api/v1/hotels/plaza/channels/demo", None),
    ],
)
async def test_a_cookie_session_needs_its_csrf_token_on_unsafe_methods(
    suite: RunningSuite, ana: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    async with suite.client() as client:
        csrf = await suite.login(client, ana)
        del client.headers["x-csrf-token"]
        missing = await client.request(method, path, json=body)
        wrong = await client.request(method, path, json=body, headers={"x-csrf-token": "nope"})
        assert missing.status_code == wrong.status_code == 403
        if method == "DELETE":  # nothing to delete yet: create it, with the token
            put = await client.put(
                path, json={"webhook_secret": "s3cret"}, headers={"x-csrf-token": csrf}
            )
            assert put.status_code == 200
        right = await client.request(method, path, json=body, headers={"x-csrf-token": csrf})
        assert right.is_success, right.text
        assert (await client.get("/api/v1/me")).status_code == 200  # safe: no token needed


async def test_a_bearer_token_needs_no_csrf_token(suite: RunningSuite, ana: str) -> None:
    token = await personal_token(suite, ana)
    async with suite.client(headers=bearer(token)) as client:
        answer = await client.patch("/api/v1/hotels/plaza", json={"name": "Plaza Mayor"})
    assert answer.status_code == 200


async def test_logout_ends_the_session_on_the_server(suite: RunningSuite, ana: str) -> None:
    async with suite.client() as client:
        await suite.login(client, ana)
        session = client.cookies["begasist_session"]
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
    async with suite.client(cookies={"begasist_session": session}) as replay:
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_personal_tokens_show_their_secret_once_and_can_be_revoked(
    suite: RunningSuite, ana: str
) -> None:
    async with suite.client() as client:
        await suite.login(client, ana)
        created = await client.post(
            "/api/v1/me/tokens", json={"name": "backup script", "expires_in_days": 30}
        )
        assert created.status_code == 201
        token = created.json()["token"]
        assert token.startswith("bga_")
        listed = await client.get("/api/v1/me/tokens")
        assert [t["name"] for t in listed.json()["items"]] == ["backup script"]
        assert "token" not in listed.json()["items"][0]
        assert token not in listed.text
        async with suite.client(headers=bearer(token)) as script:
            assert (await script.get("/api/v1/me")).json()["user"]["email"] == ana
            revoked = await client.delete(f"/api/v1/me/tokens/{created.json()['id']}")
            assert revoked.status_code == 204
            assert (await script.get("/api/v1/me")).status_code == 401
        assert (await client.get("/api/v1/me/tokens")).json() == {"items": [], "next_cursor": None}


async def test_token_lists_come_in_pages(suite: RunningSuite, ana: str) -> None:
    """Personal and bot tokens list as conversations do: ``items`` and ``next_cursor``."""
    async with suite.client() as client:
        await suite.login(client, ana)
        made = [
            (await client.post("/api/v1/me/tokens", json={"name": f"t{n}"})).json()["id"]
            for n in range(5)
        ]
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/me/tokens", params=query)).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == made


async def test_an_expired_token_answers_401(suite: RunningSuite, ana: str) -> None:
    user = await suite.store.get_user_by_email(ana)
    assert user is not None
    token = new_secret("api_token")
    await suite.store.add_credential(
        Credential(
            digest=digest(token),
            kind=CredentialKind.API_TOKEN,
            user_id=user.id,
            expires_at=utc_now() - timedelta(seconds=1),
        )
    )
    async with suite.client(headers=bearer(token)) as client:
        assert (await client.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize(
    "header", ["Basic YW5hOnBhc3N3b3Jk", "Bearer", "Bearer bga_not-a-token", "Token abc"]
)
async def test_a_bad_authorization_header_answers_401(
    suite: RunningSuite, ana: str, header: str
) -> None:
    async with suite.client() as client:
        await suite.login(client, ana)  # a valid cookie does not rescue a bad header
        assert (
            await client.get("/api/v1/me", headers={"authorization": header})
        ).status_code == 401


async def test_a_session_token_is_not_a_bearer_token(suite: RunningSuite, ana: str) -> None:
    async with suite.client() as client:
        await suite.login(client, ana)
        session = client.cookies["begasist_session"]
    async with suite.client(headers=bearer(session)) as client:
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_disabled_user_is_locked_out(suite: RunningSuite, ana: str) -> None:
    token = await personal_token(suite, ana)
    async with suite.client() as client:
        await suite.login(client, ana)
        user = await suite.store.get_user_by_email(ana)
        assert user is not None
        await suite.store.update_user(user.model_copy(update={"disabled": True}))
        assert (await client.get("/api/v1/me")).status_code == 401
        login = await client.post(LOGIN, json={"email": ana, "password": PASSWORD})
        assert login.status_code == 401
    async with suite.client(headers=bearer(token)) as client:
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_bot_tokens_list_as_a_page(suite: RunningSuite) -> None:
    plaza = await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        page = (await client.get("/api/v1/hotels/plaza/bot-tokens", params={"limit": 1})).json()
    assert page == {
        "items": [
            {
                "id": plaza.bot_token_id,
                "name": "bot",
                "created_at": page["items"][0]["created_at"],
                "expires_at": None,
            }
        ],
        "next_cursor": None,
    }
