"""Webhooks against a replicated Redis: ``WAIT`` before the 200, and a Sentinel failover.

Real ``redis-server`` master and replica (and ``redis-sentinel`` processes) of the
test's own (tests/core/sentinel_servers.py). With ``BEGASIST_REDIS_WAIT_REPLICAS=1`` a
webhook is answered 200 only once a replica has its entry, so the master's crash
cannot lose what a provider was told it may forget; with no replica it answers 503.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import anyio
import httpx
import pytest
from begasist_channel_demo.settings import DemoSettings
from begasist_channel_demo.webhook import sign_body
from begasist_core import StreamNames, WebhookReceived, decode_event
from begasist_core.bus.redis_settings import RedisSettings
from begasist_suite.app import create_app
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.config import SuiteSettings
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Hotel
from begasist_suite.store.store import Store
from redis.asyncio import Redis

from tests.core.sentinel_servers import ReplicatedRedis, replicated_redis
from tests.suite.conftest import TEST_SECRET_KEY, serving

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

SECRET = "demo-webhook-secret"
HOTEL = "plaza"


def _body(number: int) -> bytes:
    return json.dumps({"messages": [{"id": f"m{number}", "from": "+34600000001"}]}).encode()


async def _post(client: httpx.AsyncClient, number: int) -> int:
    body = _body(number)
    response = await client.post(
        f"/webhooks/{HOTEL}/demo",
        content=body,
        headers={"x-demo-signature": sign_body(SECRET, body), "content-type": "application/json"},
    )
    return response.status_code


async def _stored_numbers(redis: Redis, names: StreamNames) -> set[int]:
    numbers = set()
    for _, fields in await redis.xrange(names.ingress(HOTEL)) or []:
        event = decode_event(cast(dict[bytes, bytes], fields)[b"e"])
        assert isinstance(event.data, WebhookReceived)
        numbers.add(int(json.loads(event.data.body)["messages"][0]["id"][1:]))
    return numbers


@asynccontextmanager
async def _suite(settings: SuiteSettings, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    await store.create_hotel(Hotel(slug=HOTEL, name="Plaza"))
    config = apply_settings_update(
        DemoSettings, HOTEL, "demo", {"webhook_secret": SECRET}, None, SecretBox(TEST_SECRET_KEY)
    )
    await store.put_channel_config(config)
    app = create_app(settings, store=store)
    async with serving(app, settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def _settings(tmp_path: Path, names: StreamNames, redis: RedisSettings) -> SuiteSettings:
    return SuiteSettings(
        **redis.model_dump(exclude_unset=True),
        media_dir=tmp_path / "media",
        prefix=names.prefix,
        secret_key=TEST_SECRET_KEY,
        cookie_secure=False,
        redis_wait_replicas=1,
        redis_wait_timeout_ms=300,
    )


async def test_with_wait_a_webhook_is_503_while_no_replica_has_it(
    tmp_path: Path, suite_store: Store
) -> None:
    names = StreamNames(prefix="wait-test")
    async with replicated_redis(tmp_path, sentinels=0) as servers:
        master, replica = servers.ports
        settings = _settings(tmp_path, names, RedisSettings(redis_url=servers.url(master)))
        async with _suite(settings, suite_store) as client:
            assert await _post(client, 1) == 200

            await servers.kill(replica)
            # Written on the master, but no replica acknowledged it: the provider retries.
            assert await _post(client, 2) == 503

            await servers.start_server(replica, replica_of=master)
            with anyio.fail_after(30):
                await servers.wait_until_replicated(master)
            assert await _post(client, 3) == 200


async def test_without_wait_the_same_webhook_is_200(tmp_path: Path, suite_store: Store) -> None:
    names = StreamNames(prefix="nowait-test")
    async with replicated_redis(tmp_path, sentinels=0) as servers:
        master, replica = servers.ports
        settings = _settings(tmp_path, names, RedisSettings(redis_url=servers.url(master)))
        settings = settings.model_copy(update={"redis_wait_replicas": 0})
        async with _suite(settings, suite_store) as client:
            await servers.kill(replica)
            assert await _post(client, 1) == 200


TOTAL = 120
BEFORE = 40


async def _fail_over(servers: ReplicatedRedis, killed: anyio.Event) -> None:
    old_master = await servers.master_port()
    await servers.kill(old_master)
    killed.set()
    await servers.wait_for_failover(old_master)
    await servers.start_server(old_master)  # back as a replica, once Sentinel says so


async def test_webhooks_during_a_sentinel_failover_are_all_kept(
    tmp_path: Path, suite_store: Store
) -> None:
    """The master is SIGKILLed mid-traffic: every webhook answered 200 is on the new master."""
    names = StreamNames(prefix="failover-test")
    answered_200: set[int] = set()
    refused = 0
    async with replicated_redis(tmp_path) as servers:
        settings = _settings(tmp_path, names, servers.settings())
        async with _suite(settings, suite_store) as client:
            enough_before = anyio.Event()
            killed = anyio.Event()

            async def send_all() -> None:
                nonlocal refused
                for number in range(1, TOTAL + 1):
                    # The provider's retries: until it is told 200.
                    while (status := await _post(client, number)) != 200:
                        assert status == 503
                        refused += 1
                        await anyio.sleep(0.05)
                    answered_200.add(number)
                    if number == BEFORE:
                        enough_before.set()
                        await killed.wait()  # the rest is sent while Sentinel fails over

            async with anyio.create_task_group() as group:
                group.start_soon(send_all)
                await enough_before.wait()
                await _fail_over(servers, killed)

        new_master = await servers.master_port()
        async with Redis(port=new_master) as redis:
            stored = await _stored_numbers(redis, names)
    assert answered_200 == set(range(1, TOTAL + 1))
    assert answered_200 <= stored
    assert refused > 0  # the failover did happen under the traffic
