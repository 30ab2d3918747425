"""The guest socket's rate-limit keys in Redis: keyed digests only, and every one expires."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello, next_frame

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def test_limiter_keys_hold_no_address_or_visitor_and_all_expire(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
        await next_frame(socket)
        await socket.send(json.dumps({"type": "message", "id": "client-0001", "text": "Hola"}))
        assert (await next_frame(socket))["type"] == "accepted"
    keys = [key.decode() async for key in suite.redis.scan_iter(f"{suite.names.prefix}:guest-*")]
    assert keys
    # Unkeyed digests of what is counted could be found again by hashing every candidate
    # (every IPv4 address): none may appear, nor the values themselves.
    counted = ("127.0.0.1", HOTEL, f"{HOTEL}/127.0.0.1", f"{HOTEL}/webchat/{session['visitor']}")
    plain = {hashlib.sha256(value.encode()).hexdigest()[:32] for value in counted}
    for key in keys:
        assert session["visitor"] not in key
        assert "127.0.0.1" not in key
        assert key.rsplit(":", 1)[-1] not in plain
        assert await suite.redis.ttl(key) > 0
