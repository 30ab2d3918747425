"""Visitor tokens: bound to hotel, channel and visitor, expiring, renewed, unforgeable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from begasist_core import GUEST_CLOSE_UNAUTHENTICATED
from begasist_suite.guest.tokens import VisitorTokens

from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello
from tests.suite.guest.test_socket import closed_with

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def tokens(clock: Clock, secret: str = "s" * 32) -> VisitorTokens:
    return VisitorTokens(secret, max_age_seconds=30 * DAY, clock=clock)


def test_a_token_expires_after_its_max_age_and_a_renewed_one_lives_on() -> None:
    clock = Clock()
    issuer = tokens(clock)
    visitor, token = issuer.mint("plaza", "webchat")
    clock.now += 29 * DAY
    assert issuer.check("plaza", "webchat", visitor, token)
    renewed = issuer.token("plaza", "webchat", visitor)
    clock.now += 2 * DAY
    assert not issuer.check("plaza", "webchat", visitor, token)
    assert issuer.check("plaza", "webchat", visitor, renewed)


def test_a_token_opens_only_its_visitor_hotel_and_channel_and_no_other_secret() -> None:
    clock = Clock()
    issuer = tokens(clock)
    visitor, token = issuer.mint("plaza", "webchat")
    other, _ = issuer.mint("plaza", "webchat")
    assert not issuer.check("plaza", "webchat", other, token)
    assert not issuer.check("sol", "webchat", visitor, token)
    assert not issuer.check("plaza", "other", visitor, token)
    assert not tokens(clock, "t" * 32).check("plaza", "webchat", visitor, token)


def test_an_issue_time_cannot_be_moved() -> None:
    """The issue time is under the MAC: pushing it forward to live longer breaks the token."""
    clock = Clock()
    issuer = tokens(clock)
    visitor, token = issuer.mint("plaza", "webchat")
    _, issued, mac = token.split(".")
    clock.now += 31 * DAY
    assert not issuer.check("plaza", "webchat", visitor, f"v2.{int(clock.now)}.{mac}")
    assert not issuer.check("plaza", "webchat", visitor, f"v2.{issued}.{mac}")


def test_a_token_from_the_far_future_or_of_another_shape_is_refused() -> None:
    clock = Clock()
    issuer = tokens(clock)
    visitor, _ = issuer.mint("plaza", "webchat")
    clock.now += DAY
    future = issuer.token("plaza", "webchat", visitor)
    clock.now -= DAY
    assert not issuer.check("plaza", "webchat", visitor, future)
    for odd in ("", "v2..", "v1.1.x", future + "=", future.replace("v2.", "v3.")):
        assert not issuer.check("plaza", "webchat", visitor, odd)


def first_format_token(visitor: str) -> str:
    """A token as the suite issued them before they expired: a bare MAC."""
    key = hmac.new(
        TEST_SECRET_KEY.encode(), b"begasist guest visitor token v1", hashlib.sha256
    ).digest()
    digest = hmac.new(key, "\0".join((HOTEL, "webchat", visitor)).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


@pytest.mark.anyio
async def test_a_token_of_the_first_format_is_refused_and_a_checked_one_renewed(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
    visitor = session["visitor"]
    async with guest(suite) as socket:
        await socket.send(
            json.dumps({"type": "hello", "visitor": visitor, "token": first_format_token(visitor)})
        )
        assert await closed_with(socket) == (GUEST_CLOSE_UNAUTHENTICATED, "visitor token invalid")
    async with guest(suite) as socket:
        again = await hello(socket, visitor=visitor, token=session["token"])
    assert again["visitor"] == visitor
    assert again["token"].startswith("v2.")
