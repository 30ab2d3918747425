"""A guest-socket channel's own files and public config (``guest_assets``), and its framed page.

The suite and Redis are real; the channel is the web chat, whose settings
allow one origin. What matters: the widget's files are served only where the
channel is enabled, the chat window may be framed only by the allowed
origins, its config reaches only those origins across sites and never holds
a secret, and a socket from the suite's own framed page is admitted for the
page around it, not for itself.
"""

from __future__ import annotations

import httpx
import pytest
from begasist_core import GUEST_CLOSE_FORBIDDEN
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.store import Store
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.suite.conftest import RunningSuite, serving
from tests.suite.guest.conftest import (
    ALLOWED_ORIGIN,
    HOTEL,
    IDENTITY_SECRET,
    WEBCHAT_SETTINGS,
    hello,
    next_frame,
    socket_url,
)
from tests.suite.guest.test_socket import closed_with, nothing_stored

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

BASE = f"/guest/{HOTEL}/webchat"


async def test_the_widget_script_is_served_to_any_page(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with suite.client() as client:
        script = await client.get(f"{BASE}/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "chat.html" in script.text


async def test_the_chat_window_may_be_framed_only_by_the_allowed_origins(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with suite.client() as client:
        page = await client.get(f"{BASE}/chat.html")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors {ALLOWED_ORIGIN};" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert 'role="log"' in page.text
    assert "<script>" not in page.text
    assert " style=" not in page.text


async def test_the_config_answers_the_allowed_origin_and_refuses_another(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with suite.client() as client:
        allowed = await client.get(f"{BASE}/config.json", headers={"origin": ALLOWED_ORIGIN})
        other = await client.get(f"{BASE}/config.json", headers={"origin": "https://evil.example"})
        own = await client.get(f"{BASE}/config.json")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert allowed.json()["primary_colour"] == "#1f5f8b"
    assert IDENTITY_SECRET not in allowed.text
    assert "allowed_origins" not in allowed.json()
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers
    assert own.status_code == 200
    assert "access-control-allow-origin" not in own.headers


async def test_only_the_channel_s_own_files_are_served_and_only_where_it_is_enabled(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    elsewhere = [
        f"{BASE}/nothing.js",
        f"{BASE}/..%2Fchannel.py",
        f"{BASE}/channel.py",
        f"{BASE}/widget.js.map",
        "/guest/nowhere/webchat/widget.js",
        "/guest/nowhere/webchat/config.json",
        f"/guest/{HOTEL}/whatsapp/widget.js",
    ]
    async with suite.client() as client:
        assert (await client.get(f"{BASE}/widget.js")).status_code == 200
        for path in elsewhere:
            assert (await client.get(path)).status_code == 404, path
        disabled = await admin.put(
            f"/api/v1/hotels/{HOTEL}/channels/webchat", json={**WEBCHAT_SETTINGS, "enabled": False}
        )
        assert disabled.status_code == 200, disabled.text
        suite.app.state.guest_settings.forget(HOTEL)
        assert (await client.get(f"{BASE}/widget.js")).status_code == 404


async def test_a_socket_from_the_framed_page_is_admitted_for_the_page_around_it(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    """The suite knows its own origin from its ``public_url`` (the fixture sets it)."""
    async with connect(socket_url(suite), origin=Origin(suite.url)) as socket:
        session = await hello(socket, embedder=ALLOWED_ORIGIN)
        assert session["type"] == "session"
        assert await next_frame(socket) == {"type": "history", "messages": []}


async def test_the_framed_page_inside_another_site_is_refused(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with connect(socket_url(suite), origin=Origin(suite.url)) as socket:
        await socket.send('{"type": "hello", "embedder": "https://evil.example"}')
        assert await closed_with(socket) == (GUEST_CLOSE_FORBIDDEN, "origin not allowed")
    await nothing_stored(suite)


async def test_another_site_cannot_claim_an_allowed_embedder(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with connect(socket_url(suite), origin=Origin("https://evil.example")) as socket:
        await socket.send(f'{{"type": "hello", "embedder": "{ALLOWED_ORIGIN}"}}')
        assert await closed_with(socket) == (GUEST_CLOSE_FORBIDDEN, "origin not allowed")
    await nothing_stored(suite)


async def test_a_page_on_a_rebound_host_name_cannot_claim_an_embedder(
    suite_settings: SuiteSettings, suite_store: Store, suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    """A page on a host name its owner points at this suite (DNS rebinding) sends an
    ``Origin`` equal to ``http://<that Host>``: without ``BEGASIST_PUBLIC_URL`` the suite
    cannot tell it from its own page, so it heeds no embedder at all (attacker review,
    issue 12, L4: it admitted this socket before)."""
    assert suite_settings.public_url is None
    async with serving(create_app(suite_settings, store=suite_store), suite_settings) as url:
        port = int(url.rsplit(":", 1)[1])
        rebound = f"rebind.attacker.example:{port}"
        async with connect(
            f"ws://{rebound}/guest/{HOTEL}/webchat/socket",
            host="127.0.0.1",
            port=port,
            origin=Origin(f"http://{rebound}"),
            open_timeout=10,
        ) as socket:
            await socket.send(f'{{"type": "hello", "embedder": "{ALLOWED_ORIGIN}"}}')
            assert await closed_with(socket) == (GUEST_CLOSE_FORBIDDEN, "origin not allowed")
    await nothing_stored(suite)
