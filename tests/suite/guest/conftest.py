"""Guest sockets against the real suite: a hotel with the web chat channel configured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.suite.conftest import RunningSuite, add_member
from tests.suite.test_whatsapp_end_to_end import until

HOTEL = "plaza"
ALLOWED_ORIGIN = "https://www.plaza.example"
IDENTITY_SECRET = "plaza-identity-secret-of-32-chars-at-least"
WEBCHAT_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "mode": "manual",  # no assistant: the only replies are the staff's
    "allowed_origins": [ALLOWED_ORIGIN],
    "identity_secret": IDENTITY_SECRET,
}


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    """A platform admin's client, the hotel's web chat configured through the API."""
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        saved = await client.put(f"/api/v1/hotels/{HOTEL}/channels/webchat", json=WEBCHAT_SETTINGS)
        assert saved.status_code == 200, saved.text
        yield client


def socket_url(suite: RunningSuite, hotel: str = HOTEL, channel: str = "webchat") -> str:
    return suite.url.replace("http://", "ws://") + f"/guest/{hotel}/{channel}/socket"


@asynccontextmanager
async def guest(
    suite: RunningSuite, *, origin: str | None = ALLOWED_ORIGIN, hotel: str = HOTEL
) -> AsyncIterator[ClientConnection]:
    """A guest's socket, opened from a page of *origin*, not yet greeted."""
    async with connect(
        socket_url(suite, hotel),
        origin=None if origin is None else Origin(origin),
        max_size=None,
        open_timeout=10,
    ) as socket:
        yield socket


async def hello(socket: ClientConnection, **fields: Any) -> dict[str, Any]:
    """Send the hello frame; the session frame the suite answers (visitor and token)."""
    await socket.send(json.dumps({"type": "hello", **fields}))
    return await next_frame(socket)


async def next_frame(socket: ClientConnection) -> dict[str, Any]:
    raw = await socket.recv()
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def ingress_entries(suite: RunningSuite, hotel: str = HOTEL) -> int:
    return int(await suite.redis.xlen(suite.names.ingress(hotel)))


async def channels_running(
    client: httpx.AsyncClient, log: Path, channels: tuple[str, ...] = ("webchat",)
) -> None:
    """Wait until the hotel's bot is online and each of *channels* runs (its log on timeout)."""

    async def running() -> bool:
        status = (await client.get(f"/api/v1/hotels/{HOTEL}/status")).json()
        states = {c["channel"]: c["state"] for c in status["channels"]}
        return bool(status["bot_online"]) and all(states.get(c) == "running" for c in channels)

    # A bot process's start-up (imports, plugins, lease) takes well over 30 s on a host
    # busy with other test workers.
    await until(running, f"the bot's {' and '.join(channels)} channel to run", log, seconds=90)
