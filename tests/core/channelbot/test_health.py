"""The bot's health port: /health, /ready (lease, channels, Redis), /metrics after real work,
and ``channelbot health``'s exit codes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from begasist_core import MessageSend, make_event
from begasist_core.bus.connection import redis_from_url
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.cli import main
from begasist_core.channelbot.health import HealthServer
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.streams import StreamNames
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from tests.core.redis_server import free_port

from .conftest import eventually, probe_log
from .test_streams import outbound

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def health_port(
    bots: list[HotelBot], redis: Redis, names: StreamNames
) -> AsyncIterator[httpx.AsyncClient]:
    """A health server for *bots* on a free port of 127.0.0.1, and a client for it."""
    server = HealthServer(lambda: bots, redis, names, host="127.0.0.1", port=0)
    port = await server.listen()
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
        group.cancel_scope.cancel()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels); the text must parse."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_ready_reports_the_active_bot_its_channels_and_a_ready_standby(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    active, standby = (
        make_bot(source, instance="active", lease_ttl_seconds=10),
        make_bot(source, instance="standby", lease_ttl_seconds=10),
    )
    async with anyio.create_task_group() as group:
        await group.start(active.run)
        group.start_soon(standby.run)
        async with (
            health_port([active], begasist_redis, begasist_names) as active_port,
            health_port([standby], begasist_redis, begasist_names) as standby_port,
        ):
            assert (await active_port.get("/health")).json() == {"status": "ok"}
            answer = await active_port.get("/ready")
            assert answer.status_code == 200
            assert answer.json() == {
                "status": "ready",
                "redis": "ok",
                "hotels": {"plaza": {"lease": "active", "channels": {"probe": "running"}}},
                "reason": None,
            }
            answer = await standby_port.get("/ready")
            assert answer.status_code == 200, "a standby is ready: it is what it should be"
            assert answer.json()["hotels"] == {"plaza": {"lease": "standby", "channels": {}}}
            assert (await active_port.get("/nope")).status_code == 404
            assert (await active_port.post("/ready")).status_code == 405
        await standby.drain()
        await active.drain()


async def test_not_ready_names_a_crashed_channel(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource(
        {"plaza": {"probe": {"probe_redis_url": begasist_redis_url, "crash_after_seconds": 0}}}
    )
    bot = make_bot(source, lease_ttl_seconds=10)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        async with health_port([bot], begasist_redis, begasist_names) as client:

            async def not_ready() -> bool:
                return (await client.get("/ready")).status_code == 503

            await eventually(not_ready)
            answer = (await client.get("/ready")).json()
            assert answer["status"] == "not ready"
            assert answer["reason"] == "hotel plaza: channel probe: backoff"
            assert answer["hotels"]["plaza"]["channels"] == {"probe": "backoff"}
        await bot.drain()


async def test_not_ready_when_redis_does_not_answer(
    begasist_names: StreamNames, make_bot: Callable[..., HotelBot]
) -> None:
    nowhere = redis_from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        async with health_port([], nowhere, begasist_names) as client:
            answer = await client.get("/ready")
            scrape = samples((await client.get("/metrics")).text)
    finally:
        await nowhere.aclose()
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith("redis: ")
    assert value(scrape, "begasist_bot_redis_up") == 0.0


async def test_metrics_move_with_a_real_send(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    bot = make_bot(source, lease_ttl_seconds=10)
    message = outbound("Your room is ready")
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        async with health_port([bot], begasist_redis, begasist_names) as client:
            before = samples((await client.get("/metrics")).text)
            await Publisher(begasist_redis).publish(
                begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=message))
            )

            async def sent() -> bool:
                return await probe_log(begasist_redis, begasist_names, "probe", "sent") != []

            await eventually(sent)

            async def acked() -> bool:
                scrape = samples((await client.get("/metrics")).text)
                key = ("begasist_events_acked_total", {"stream": "outbound", "group": "channelbot"})
                return value(scrape, key[0], **key[1]) > value(before, key[0], **key[1])

            await eventually(acked)
            answer = await client.get("/metrics")
        await bot.drain()
    assert answer.headers["content-type"].startswith("text/plain")
    after = samples(answer.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("begasist_sends_total", channel="probe", outcome="sent") == 1
    assert moved("begasist_send_seconds_count", channel="probe") == 1
    assert moved("begasist_events_consumed_total", stream="outbound", group="channelbot") == 1
    assert moved("begasist_events_published_total", stream="outbound") >= 1
    # The probe's receipt goes to the suite's stream.
    assert moved("begasist_events_published_total", stream="events") >= 1
    assert value(after, "begasist_lease_active", hotel="plaza") == 1
    assert value(after, "begasist_lease_takeovers_total", hotel="plaza") >= 1
    assert (
        value(after, "begasist_channel_state", hotel="plaza", channel="probe", state="running") == 1
    )
    assert (
        value(after, "begasist_channel_state", hotel="plaza", channel="probe", state="backoff") == 0
    )
    assert value(after, "begasist_bot_redis_up") == 1
    outbound_stream = begasist_names.outbound("plaza")
    assert value(after, "begasist_stream_pending", stream=outbound_stream, group="channelbot") == 0
    assert value(after, "begasist_stream_lag", stream=outbound_stream, group="channelbot") == 0
    assert (
        "begasist_stream_pending",
        (("group", "channelbot"), ("stream", begasist_names.control("plaza"))),
    ) in after


async def test_a_refused_send_counts_as_refused(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    bot = make_bot(source, lease_ttl_seconds=10)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        async with health_port([bot], begasist_redis, begasist_names) as client:
            before = samples((await client.get("/metrics")).text)
            await Publisher(begasist_redis).publish(
                begasist_names.outbound("plaza"),
                make_event("plaza", MessageSend(message=outbound("refuse me"))),
            )

            async def refused() -> bool:
                scrape = samples((await client.get("/metrics")).text)
                name, labels = "begasist_sends_total", {"channel": "probe", "outcome": "refused"}
                return value(scrape, name, **labels) > value(before, name, **labels)

            await eventually(refused)
        await bot.drain()


def run_health_command(monkeypatch: pytest.MonkeyPatch, port: int | None) -> int:
    for name in ("BEGASIST_BOT_HEALTH_PORT", "BEGASIST_BOT_HEALTH_HOST"):
        monkeypatch.delenv(name, raising=False)
    if port is not None:
        monkeypatch.setenv("BEGASIST_BOT_HEALTH_PORT", str(port))
    return main(["health"])


async def test_channelbot_health_exit_codes(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await anyio.to_thread.run_sync(run_health_command, monkeypatch, None) == 2
    assert "BEGASIST_BOT_HEALTH_PORT" in capsys.readouterr().err
    nobody = free_port()
    assert await anyio.to_thread.run_sync(run_health_command, monkeypatch, nobody) == 1
    assert f"127.0.0.1:{nobody}" in capsys.readouterr().err

    for crash, expected in ((None, 0), (0.0, 1)):
        probe = {"probe_redis_url": begasist_redis_url, "crash_after_seconds": crash}
        bot = make_bot(StaticSettingsSource({"plaza": {"probe": probe}}), lease_ttl_seconds=10)
        bots = [bot]
        server = HealthServer(bots.copy, begasist_redis, begasist_names, host="0.0.0.0", port=0)
        port = await server.listen()
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve)
            await group.start(bot.run)

            async def answers(port: int = port, expected: int = expected) -> bool:
                code = await anyio.to_thread.run_sync(run_health_command, monkeypatch, port)
                return bool(code == expected)

            await eventually(answers, within=30)
            await bot.drain()
            group.cancel_scope.cancel()
    assert "not ready (503): hotel plaza: channel probe: backoff" in capsys.readouterr().err
