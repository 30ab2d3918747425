"""Helpers for the runtime's tests: a bot factory and polling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .probe_channels import EchoProbeChannel, ProbeChannel

PROBE_CLASSES = {"probe": ProbeChannel, "echo_probe": EchoProbeChannel}


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> None:
    """Poll *check* until it is true; fail the test after *within* seconds.

    Polling is the point: the state lives in Redis or in another process.
    """
    with anyio.fail_after(within):
        while not await check():  # noqa: ASYNC110
            await anyio.sleep(0.02)


def fast_config(**overrides: Any) -> BotConfig:
    values: dict[str, Any] = {
        "lease_ttl_seconds": 2.0,
        "heartbeat_seconds": 0.5,
        "version_check_seconds": 60.0,
        "claim_idle_seconds": 1.0,
        "drain_seconds": 5.0,
    }
    values.update(overrides)
    return BotConfig(**values)


@pytest.fixture
def make_bot(begasist_redis: Redis, begasist_names: StreamNames) -> Callable[..., HotelBot]:
    def make(source: StaticSettingsSource, *, instance: str = "bot-1", **config: Any) -> HotelBot:
        return HotelBot(
            hotel="plaza",
            redis=begasist_redis,
            names=begasist_names,
            source=source,
            channel_classes=PROBE_CLASSES,
            instance=instance,
            config=fast_config(**config),
        )

    return make


async def probe_log(redis: Redis, names: StreamNames, channel: str, what: str) -> list[str]:
    values = await redis.lrange(f"{names.prefix}:probe:{channel}:{what}", 0, -1)
    return [value.decode() for value in values]
