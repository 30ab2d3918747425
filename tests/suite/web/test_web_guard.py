"""The pages behind the suite's request guard: a request id on every answer, server errors
logged with it (and shown as a page), the pages' own security headers kept."""

from __future__ import annotations

import logging

import pytest
from begasist_suite.web.security import CONTENT_SECURITY_POLICY

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import sign_in

pytestmark = pytest.mark.anyio

INBOX = "/hotels/plaza/inbox"


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def test_pages_carry_a_request_id_and_keep_their_policy(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        login = await client.get("/login")
        given = await client.get("/login", headers={"X-Request-ID": "proxy-id-1234"})
        signed_in = await sign_in(client, "agent@plaza.test")
        inbox = await client.get(INBOX)
    for answer in (login, signed_in, inbox):
        assert answer.headers["x-request-id"]
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert given.headers["x-request-id"] == "proxy-id-1234"
    assert login.headers["x-request-id"] != inbox.headers["x-request-id"]


async def test_a_page_that_fails_is_logged_with_its_request_id_and_shown_as_a_page(
    suite: RunningSuite,
    plaza: SeededHotel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the store broke")

    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        monkeypatch.setattr(suite.store, "list_conversations", broken)
        with caplog.at_level(logging.ERROR, logger="begasist.requests"):
            failed = await client.get(INBOX)
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/html")
    assert failed.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "Something went wrong" in failed.text
    assert "the store broke" not in failed.text
    request_id = failed.headers["x-request-id"]
    [logged] = [r for r in caplog.records if r.name == "begasist.requests"]
    assert request_id in logged.getMessage()
    assert logged.exc_info is not None
