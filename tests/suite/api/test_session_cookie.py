"""The session cookie keeps HttpOnly, Secure and SameSite=Strict, set and cleared alike."""

from __future__ import annotations

import pytest
from begasist_suite.auth.principal import SESSION_COOKIE
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import Role

from tests.suite.conftest import PASSWORD, RunningSuite, add_member

pytestmark = pytest.mark.anyio

ANA = "ana@plaza.test"


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"cookie_secure": True})


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().casefold() for part in set_cookie.split(";")[1:]}


async def test_login_and_logout_cookies_carry_the_same_protections(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", ANA, Role.AGENT)
    # A Secure cookie is not sent back over http:// by a client jar: carry it by hand.
    async with suite.client() as client:
        login = await client.post("/api/v1/auth/login", json={"email": ANA, "password": PASSWORD})
        session = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        logout = await client.post(
            "/api/v1/auth/logout",
            headers={
                "cookie": f"{SESSION_COOKIE}={session}",
                "x-csrf-token": login.json()["csrf_token"],
            },
        )
    assert logout.status_code == 204
    cleared = logout.headers["set-cookie"]
    assert cleared.startswith(f"{SESSION_COOKIE}=")
    for response_cookie in (login.headers["set-cookie"], cleared):
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes(response_cookie)
    assert "max-age=0" in attributes(cleared)
