"""Recovery: a standby is working again soon after a long Redis outage ends."""

from __future__ import annotations

import logging

import anyio
import pytest
from begasist_core import MessageSend, make_event
from begasist_core.bus import Publisher, redis_from_url
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.streams import StreamNames

from tests.core.redis_server import free_port, private_server

from .conftest import PROBE_CLASSES, eventually, fast_config, probe_log
from .test_streams import outbound

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

BOT_LOGGER = "begasist.channelbot"


def bot_logged(caplog: pytest.LogCaptureFixture, text: str, *, logger: str = BOT_LOGGER) -> bool:
    return any(r.name == logger and text in r.getMessage() for r in caplog.records)


async def test_a_standby_takes_the_lease_and_sends_soon_after_a_long_outage_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=BOT_LOGGER)
    caplog.set_level(logging.DEBUG, logger=f"{BOT_LOGGER}.lease")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = redis_from_url(url)
    names = StreamNames(prefix="recovery-test")
    bot = HotelBot(
        hotel="plaza",
        redis=redis,
        names=names,
        source=StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": url}}}),
        channel_classes=PROBE_CLASSES,
        instance="standby",
        config=fast_config(),
    )
    message = outbound("Is breakfast included?")

    async def is_standby() -> bool:
        return bot_logged(caplog, "waiting as standby", logger=f"{BOT_LOGGER}.lease")

    async def failed_seven_times() -> bool:
        return bot_logged(caplog, "(attempt 7:")

    async def sent() -> bool:
        return await probe_log(redis, names, "probe", "sent") == [message.id]

    try:
        async with anyio.create_task_group() as group:
            async with private_server(port):
                # Another bot holds the lease: this one waits as standby.
                await redis.set(names.hotel_key("plaza", "lease"), "1:other", px=60_000)
                group.start_soon(bot.run)
                await eventually(is_standby)
            assert not bot.ready.is_set()
            # Down long enough for an unbounded backoff to have grown past
            # several seconds (its 7th delay is at least 6.4 s); the server
            # comes back (empty: the other bot's lease is gone) right after a
            # failed attempt, the worst moment.
            await eventually(failed_seven_times, within=60)
            async with private_server(port):
                await Publisher(redis).publish(
                    names.outbound("plaza"), make_event("plaza", MessageSend(message=message))
                )
                # Generous: the standby's next attempt is at most a second away.
                with anyio.fail_after(5):
                    await bot.ready.wait()
                    await eventually(sent)
                await bot.drain()
    finally:
        await redis.aclose()
    outages = [
        r
        for r in caplog.records
        if r.name == BOT_LOGGER
        and r.levelno == logging.WARNING
        and "Redis unreachable" in r.getMessage()
    ]
    assert len(outages) == 1
