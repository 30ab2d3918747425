"""New visitors (a visitor id and token minted) are limited per client address at a hotel
and per hotel, each hotel on its own (4429, "too many new visitors")."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
from begasist_core import GUEST_CLOSE_RATE_LIMITED
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.store import Store

from tests.suite.conftest import RunningSuite, serving
from tests.suite.guest.conftest import WEBCHAT_SETTINGS, guest, hello
from tests.suite.guest.test_socket import closed_with

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

NEW_VISITORS_PER_ADDRESS = 3


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={"guest_address_new_visitors": NEW_VISITORS_PER_ADDRESS}
    )


async def test_one_address_mints_only_so_many_new_visitors(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    visitors = []
    for _ in range(NEW_VISITORS_PER_ADDRESS):
        async with guest(suite) as socket:
            visitors.append(await hello(socket))
    async with guest(suite) as socket:
        await socket.send(json.dumps({"type": "hello"}))
        assert await closed_with(socket) == (GUEST_CLOSE_RATE_LIMITED, "too many new visitors")
    # A returning visitor is no new one, and another hotel counts its own new visitors.
    async with guest(suite) as socket:
        back = await hello(socket, visitor=visitors[0]["visitor"], token=visitors[0]["token"])
        assert back["visitor"] == visitors[0]["visitor"]
    await open_sol(admin)
    async with guest(suite, hotel="sol") as socket:
        assert (await hello(socket))["type"] == "session"


async def test_a_hotel_mints_only_so_many_new_visitors_a_window(
    suite_settings: SuiteSettings, suite_store: Store, suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    await open_sol(admin)
    strict = suite_settings.model_copy(
        update={"guest_hotel_new_visitors": 2, "guest_address_new_visitors": 10}
    )
    async with serving(create_app(strict, store=suite_store), strict) as url:
        limited = replace(suite, url=url)
        for _ in range(2):
            async with guest(limited) as socket:
                assert (await hello(socket))["type"] == "session"
        async with guest(limited) as socket:
            await socket.send(json.dumps({"type": "hello"}))
            assert await closed_with(socket) == (GUEST_CLOSE_RATE_LIMITED, "too many new visitors")
        # Plaza's flood stops at plaza's limit: sol's guests are still let in.
        async with guest(limited, hotel="sol") as socket:
            assert (await hello(socket))["type"] == "session"


async def open_sol(admin: httpx.AsyncClient) -> None:
    """A second hotel with the web chat configured."""
    saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    if saved.status_code == 404:  # sol does not exist yet: a platform admin creates it
        created = await admin.post("/api/v1/hotels", json={"slug": "sol", "name": "Sol"})
        assert created.status_code == 201, created.text
        saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    assert saved.status_code == 200, saved.text
