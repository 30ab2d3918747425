"""Hot reload latency: from ``config.changed`` published to the changed channel running again.

Runs a HotelBot in this process with two idle channels, against
BEGASIST_REDIS_URL (default redis://127.0.0.1:6379/0; ``--embedded`` starts a
private Valkey). Each trial changes one channel's settings, publishes
``config.changed`` and waits, on the events stream as the suite would, for that
channel's ``channel.state: running`` at the new config version.

    hatch run python bench/hot_reload.py [--trials 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import anyio
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).parent))

from _idle_channels import IdleChannel, OtherIdleChannel
from begasist_core import ConfigChanged, decode_event, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.engine import EmbeddedEngine
from begasist_core.events import ChannelState, ChannelStateEvent, StreamNames


async def measure(url: str, trials: int) -> list[float]:
    redis = Redis.from_url(url)
    names = StreamNames(prefix=f"bench-reload-{uuid.uuid4().hex[:8]}")
    source = StaticSettingsSource({"plaza": {"idle": {"label": "0"}, "other_idle": {}}})
    bot = HotelBot(
        hotel="plaza",
        redis=redis,
        names=names,
        source=source,
        channel_classes={"idle": IdleChannel, "other_idle": OtherIdleChannel},
        instance="bench",
        config=BotConfig(version_check_seconds=3600),
    )
    publisher = Publisher(redis)
    latencies: list[float] = []
    try:
        async with anyio.create_task_group() as group:
            await group.start(bot.run)
            for trial in range(1, trials + 1):
                last = await redis.xrevrange(names.events, count=1)
                cursor = last[0][0] if last else b"0-0"
                settings = source.update("plaza", {"idle": {"label": str(trial)}, "other_idle": {}})
                started = time.perf_counter()
                await publisher.publish(
                    names.control("plaza"),
                    make_event("plaza", ConfigChanged(version=settings.version)),
                )
                cursor = await _wait_running(redis, names, cursor, settings.version)
                latencies.append(time.perf_counter() - started)
            await bot.drain()
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{names.prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    return latencies


async def _wait_running(redis: Redis, names: StreamNames, cursor: bytes, version: int) -> bytes:
    while True:
        for _, entries in await redis.xread({names.events: cursor}, block=5000) or []:
            for entry_id, fields in entries:
                cursor = entry_id
                event = decode_event(fields[b"e"])
                if (
                    isinstance(event, ChannelStateEvent)
                    and event.data.channel == "idle"
                    and event.data.state is ChannelState.RUNNING
                    and event.data.config_version == version
                ):
                    return cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--embedded", action="store_true", help="use a private Valkey")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = os.environ.get("BEGASIST_REDIS_URL", "redis://127.0.0.1:6379/0")
        if args.embedded:
            url = stack.enter_context(EmbeddedEngine()).url
        latencies = anyio.run(measure, url, args.trials)
    ms = sorted(latency * 1000 for latency in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * len(ms)) - 1)]
    print(f"hot reload over {len(ms)} trials against {url}")
    print(f"  p50 {statistics.median(ms):.2f} ms   p99 {p99:.2f} ms   max {ms[-1]:.2f} ms")
    print(f"  target: p99 <= 50 ms -> {'met' if p99 <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
