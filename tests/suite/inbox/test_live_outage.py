"""Live notices after a Redis outage: the ones during it are dropped, the next ones arrive."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from begasist_suite.config import SuiteSettings

from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import DEADLINE_SECONDS, HOTEL, MANAGER, guest_message
from tests.suite.inbox.test_live import live
from tests.suite.redis_cut import RedisCut, redis_cut

pytestmark = pytest.mark.anyio

LIVE_LOGGER = "begasist_suite.inbox.live"


@pytest.fixture
async def cut(begasist_redis_url: str) -> AsyncIterator[RedisCut]:
    target = urlsplit(begasist_redis_url)
    async with redis_cut(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        yield proxy


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings, cut: RedisCut) -> SuiteSettings:
    """The suite reaches Redis through the proxy."""
    return suite_settings.model_copy(update={"redis_url": cut.url, "consumer": False})


async def test_notices_flow_again_once_redis_is_back(
    plaza: RunningSuite, cut: RedisCut, caplog: pytest.LogCaptureFixture
) -> None:
    recorded = await plaza.store.record_inbound(guest_message("Hi", provider_message_id="w-1"))
    path = f"/api/v1/hotels/{HOTEL}/conversations/{recorded.conversation.id}"
    caplog.set_level(logging.INFO, logger=LIVE_LOGGER)
    async with plaza.client() as client:
        await plaza.login(client, MANAGER)
        cut.cut()
        changed = await client.patch(path, json={"assignee": "mia"})  # its notice is lost
        assert changed.status_code == 200

        def dropping() -> bool:
            return any(r.name == LIVE_LOGGER and "not being" in r.message for r in caplog.records)

        with anyio.fail_after(DEADLINE_SECONDS):
            while not dropping():  # noqa: ASYNC110 (the log has no event to wait on)
                await anyio.sleep(0.02)
        cut.restore()
        notice = await next_notice(plaza, client, path)
    assert (notice["kind"], notice["conversation_id"]) == (
        "conversation.updated",
        recorded.conversation.id,
    )


async def next_notice(suite: RunningSuite, client: httpx.AsyncClient, path: str) -> dict[str, str]:
    async with live(suite, MANAGER) as socket:
        assert (await client.patch(path, json={"assignee": "leo"})).status_code == 200
        with anyio.fail_after(DEADLINE_SECONDS):
            notice: dict[str, str] = json.loads(await socket.recv())
    return notice
