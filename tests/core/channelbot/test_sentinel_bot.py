"""A real channelbot on Sentinels: it follows a master failover (SIGKILL) during traffic.

The bot runs as its own process with ``BEGASIST_REDIS_SENTINELS`` (no URL) and the demo
channel; the test writes signed demo webhooks into the hotel's ingress stream (with
``WAIT`` for a replica, as the suite's ingress can) and counts the ``message.received``
events the bot publishes. The master is SIGKILLed mid-traffic and started again (Sentinel
makes it a replica); afterwards every webhook has become exactly one distinct guest
message in the events stream, and the bot never exited.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import cast

import anyio
import pytest
from begasist_core import MessageReceived, WebhookReceived, decode_event, make_event
from begasist_core.bus import REDIS_UNAVAILABLE, Publisher
from begasist_core.bus.redis_settings import redis_client
from begasist_core.bus.replication import NotReplicated, ReplicaWait
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from tests.core.sentinel_servers import MASTER_NAME, ReplicatedRedis, replicated_redis

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(240)]

SECRET = "shh"
TOTAL = 60
BEFORE = 20


def _webhook(number: int) -> WebhookReceived:
    body = json.dumps(
        {"messages": [{"id": f"m{number}", "from": "+34600000001", "text": f"hola {number}"}]}
    ).encode()
    return WebhookReceived(channel="demo", body=body)


def _start_bot(
    tmp_path: Path, servers: ReplicatedRedis, names: StreamNames, log: Path
) -> subprocess.Popen[bytes]:
    settings = tmp_path / "hotels.toml"
    settings.write_text(
        f"[hotels.plaza]\nversion = 1\n[hotels.plaza.channels.demo]\nwebhook_secret = '{SECRET}'\n",
        encoding="utf-8",
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")}
    environment.update(
        BEGASIST_REDIS_SENTINELS=servers.sentinels,
        BEGASIST_REDIS_SENTINEL_MASTER=MASTER_NAME,
        BEGASIST_PREFIX=names.prefix,
        BEGASIST_SETTINGS_FILE=str(settings),
        BEGASIST_LOAD_PLUGINS="demo",
        BEGASIST_LEASE_TTL_SECONDS="3",
        BEGASIST_HEARTBEAT_SECONDS="0.5",
        BEGASIST_CLAIM_IDLE_SECONDS="1",
    )
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", "plaza"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _guest_messages(redis: Redis, names: StreamNames) -> set[str]:
    found = set()
    for _, fields in await redis.xrange(names.events) or []:
        event = decode_event(cast(dict[bytes, bytes], fields)[b"e"])
        if isinstance(event.data, MessageReceived):
            found.add(event.data.message.provider_message_id or "")
    return found


async def test_a_bot_on_sentinels_carries_on_after_the_master_is_killed(tmp_path: Path) -> None:
    names = StreamNames(prefix="sentinel-bot")
    bot_log = tmp_path / "bot.log"
    async with replicated_redis(tmp_path) as servers:
        bot = _start_bot(tmp_path, servers, names, bot_log)
        redis = redis_client(servers.settings())
        publisher = Publisher(redis, wait=ReplicaWait(replicas=1, timeout_ms=500))
        try:

            async def publish(number: int) -> None:
                event = make_event("plaza", _webhook(number))
                while True:
                    try:
                        await publisher.publish(names.ingress("plaza"), event)
                        return
                    except (*REDIS_UNAVAILABLE, NotReplicated):
                        await anyio.sleep(0.05)  # the failover is under way: retry

            async def every_message_is_in(count: int) -> None:
                while True:
                    try:
                        if len(await _guest_messages(redis, names)) >= count:
                            return
                    except REDIS_UNAVAILABLE:
                        pass
                    assert bot.poll() is None, bot_log.read_text()
                    await anyio.sleep(0.1)

            for number in range(1, BEFORE + 1):
                await publish(number)
            with anyio.fail_after(120):
                await every_message_is_in(BEFORE)  # the bot is up and working

            async def publish_the_rest() -> None:
                for number in range(BEFORE + 1, TOTAL + 1):
                    await publish(number)  # retried until the new master has a replica

            old_master = await servers.master_port()
            await servers.kill(old_master)
            async with anyio.create_task_group() as group:
                group.start_soon(publish_the_rest)
                with anyio.fail_after(60):
                    await servers.wait_for_failover(old_master)
                # The operator starts the crashed server again; Sentinel makes it a replica.
                await servers.start_server(old_master)

            with anyio.fail_after(120):
                await every_message_is_in(TOTAL)
            assert await _guest_messages(redis, names) == {f"m{n}" for n in range(1, TOTAL + 1)}
            assert await servers.master_port() != old_master
            assert bot.poll() is None
        finally:
            await redis.aclose()
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
    log = bot_log.read_text()
    assert "via sentinels" in log or "via Sentinel" in log
