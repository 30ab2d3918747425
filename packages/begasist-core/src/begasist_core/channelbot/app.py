"""The channelbot process: plugins, Redis, one HotelBot per hotel, signals."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import anyio
from anyio import CancelScope
from redis.asyncio import Redis

from begasist_core.bus.connection import (
    REDIS_UNAVAILABLE,
    RedisOutage,
    redis_label,
)
from begasist_core.bus.redis_settings import redis_client, redis_settings_label
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.fleet import ShardedFleet
from begasist_core.channelbot.health import HealthServer
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import HotelLister, SettingsSource
from begasist_core.channelbot.shards import Shard
from begasist_core.events.streams import StreamNames
from begasist_core.plugins.channel import Channel

__all__ = ["run_channelbot", "run_sharded_channelbot"]

log = logging.getLogger("begasist.channelbot")


class _Drainable(Protocol):
    async def run(self) -> None: ...

    async def drain(self) -> None: ...


async def run_channelbot(
    *,
    config: BotConfig,
    hotels: Sequence[str],
    source: SettingsSource,
    channel_classes: Mapping[str, type[Channel[Any]]],
    instance: str,
) -> None:
    """Serve *hotels* until SIGTERM or SIGINT, then drain and return.

    With ``config.health_port`` set, the health port answers from the start,
    before Redis is reached (``/ready`` then says Redis does not answer), until
    every hotel has drained. Redis is *config*'s URL or Sentinels (:func:`redis_client`).
    """
    redis = redis_client(config)
    names = StreamNames(prefix=config.prefix)
    bots = [
        HotelBot(
            hotel=hotel,
            redis=redis,
            names=names,
            source=source,
            channel_classes=channel_classes,
            instance=instance,
            config=config,
        )
        for hotel in hotels
    ]
    await _serve_until_signal(config, redis, bots, lambda: bots)


async def run_sharded_channelbot(
    *,
    config: BotConfig,
    shard: Shard,
    lister: HotelLister,
    hotels: Sequence[str],
    source: SettingsSource,
    channel_classes: Mapping[str, type[Channel[Any]]],
    instance: str,
) -> None:
    """Serve shard *shard*'s hotels (of *hotels*, then of each re-listing) until a signal;
    the health port, if any, reports the hotels the shard serves at that moment."""
    redis = redis_client(config)
    fleet = ShardedFleet(
        shard=shard,
        lister=lister,
        redis=redis,
        names=StreamNames(prefix=config.prefix),
        source=source,
        channel_classes=channel_classes,
        instance=instance,
        config=config,
        hotels=hotels,
    )
    await _serve_until_signal(
        config, redis, [fleet], lambda: [served.bot for served in fleet.served.values()]
    )


async def _serve_until_signal(
    config: BotConfig,
    redis: Redis,
    servers: Sequence[_Drainable],
    hotel_bots: Callable[[], Sequence[HotelBot]],
) -> None:
    health = None
    if config.health_port is not None:
        names = StreamNames(prefix=config.prefix)
        health = HealthServer(
            hotel_bots, redis, names, host=config.health_host, port=config.health_port
        )
    try:
        if health is not None:
            await health.listen()  # a port in use fails here, before any lease is taken
        async with anyio.create_task_group() as group:
            group.start_soon(_drain_on_signal, servers, group.cancel_scope)
            if health is not None:
                group.start_soon(health.serve)
            await _wait_for_redis(redis, redis_settings_label(config))
            async with anyio.create_task_group() as hotel_group:
                for server in servers:
                    hotel_group.start_soon(server.run)
            # Every hotel has stopped (drained): the signal watcher can go.
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await redis.aclose()
    log.info("stopped")


async def _wait_for_redis(redis: Redis, label: str) -> None:
    outage = RedisOutage(redis_label(label), logger=log)
    while True:
        try:
            await redis.ping()
        except REDIS_UNAVAILABLE as error:
            await outage.failed(error)
        else:
            outage.succeeded()
            return


async def _drain_on_signal(bots: Sequence[_Drainable], everything: CancelScope) -> None:
    """On SIGTERM or SIGINT, drain every hotel; before Redis was reached, just stop."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for received in signals:
            log.info(
                "%s: draining (no new work; in-flight work finishes or is handed back)",
                signal.Signals(received).name,
            )
            async with anyio.create_task_group() as group:
                for bot in bots:
                    group.start_soon(bot.drain)
            # A bot still waiting for Redis or for its lease has nothing in flight.
            everything.cancel()
            return
