"""channelbot as a real process: lease takeover after kill -9, and SIGTERM draining."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest
from begasist_core import Direction, GuestIdentity, Message, MessageSend, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.presence import PresenceRecord
from begasist_core.events import MessageSendEvent
from begasist_core.events.streams import StreamNames
from begasist_core.testing import write_distribution
from redis.asyncio import Redis

from .conftest import eventually, probe_log

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LEASE_TTL = 1.5


@pytest.fixture
def bot_environment(
    tmp_path: Path, begasist_redis_url: str, begasist_names: StreamNames
) -> dict[str, str]:
    """Environment for a bot subprocess that discovers the probe channels by entry point."""
    site = write_distribution(
        tmp_path / "site",
        name="begasist-probe",
        modules={"begasist_probe": Path(__file__).with_name("probe_channels.py").read_text()},
        entry_points={"probe": "begasist_probe"},
    )
    settings = tmp_path / "hotels.toml"
    settings.write_text(
        "[hotels.plaza]\nversion = 1\n[hotels.plaza.channels.probe]\nsend_seconds = 1.0\n",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "PYTHONPATH": str(site),
        "PROBE_REDIS_URL": begasist_redis_url,
        "BEGASIST_REDIS_URL": begasist_redis_url,
        "BEGASIST_PREFIX": begasist_names.prefix,
        "BEGASIST_SETTINGS_FILE": str(settings),
        "BEGASIST_LOAD_PLUGINS": "probe",
        "BEGASIST_LEASE_TTL_SECONDS": str(LEASE_TTL),
        "BEGASIST_HEARTBEAT_SECONDS": "0.3",
        # Far beyond any wait here: a dead bot's entries are taken over with
        # the lease, and a drained bot's are handed back, never left to idle.
        "BEGASIST_CLAIM_IDLE_SECONDS": "300",
    }


@pytest.fixture
def start_bot(
    bot_environment: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(instance: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{instance}.log").open("wb")
        logs.append(log)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "begasist_core.channelbot.cli",
                "--hotel",
                "plaza",
                "--instance",
                instance,
            ],
            env=bot_environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    for log in logs:
        log.close()


async def presence(redis: Redis, names: StreamNames) -> PresenceRecord | None:
    raw = await redis.get(names.hotel_key("plaza", "presence"))
    return None if raw is None else PresenceRecord.model_validate_json(raw)


def send_event(text: str) -> tuple[str, MessageSendEvent]:
    message = Message(
        hotel="plaza",
        channel="probe",
        conversation_key="guest-1",
        direction=Direction.OUTBOUND,
        guest=GuestIdentity(channel="probe", address="guest-1"),
        text=text,
    )
    event = make_event("plaza", MessageSend(message=message))
    assert isinstance(event, MessageSendEvent)
    return message.id, event


async def test_standby_takes_over_after_kill_9_and_finishes_the_dead_bots_send(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    start_bot: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    active = start_bot("bot-a")

    async def is_active(instance: str) -> bool:
        record = await presence(begasist_redis, begasist_names)
        return record is not None and record.instance == instance

    await eventually(lambda: is_active("bot-a"), within=20)
    first = await presence(begasist_redis, begasist_names)
    assert first is not None
    start_bot("bot-b")
    await anyio.sleep(0.5)
    assert await is_active("bot-a"), "the standby must not take an active lease"

    message_id, event = send_event("late checkout?")
    await Publisher(begasist_redis).publish(begasist_names.outbound("plaza"), event)

    async def send_started() -> bool:
        return await probe_log(begasist_redis, begasist_names, "probe", "send_started") != []

    await eventually(send_started)
    active.kill()  # SIGKILL mid-send: no lease release, the entry stays pending
    killed_at = time.monotonic()
    await eventually(lambda: is_active("bot-b"), within=LEASE_TTL * 4 + 5)
    takeover = time.monotonic() - killed_at
    second = await presence(begasist_redis, begasist_names)
    assert second is not None
    assert second.fence is not None
    assert first.fence is not None
    assert second.fence > first.fence

    async def sent_once() -> bool:
        return await probe_log(begasist_redis, begasist_names, "probe", "sent") == [message_id]

    await eventually(sent_once, within=15)
    print(f"takeover after kill -9: {takeover:.2f}s (lease TTL {LEASE_TTL}s)")


async def test_sigterm_drains_in_flight_work_and_releases_the_lease(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    start_bot: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    bot = start_bot("bot-a")

    async def active() -> bool:
        return await presence(begasist_redis, begasist_names) is not None

    await eventually(active, within=20)
    sends = [send_event(f"message {n}") for n in range(3)]
    await Publisher(begasist_redis).publish_many(
        begasist_names.outbound("plaza"),
        [event for _, event in sends],
    )

    async def first_send_started() -> bool:
        return await probe_log(begasist_redis, begasist_names, "probe", "send_started") != []

    await eventually(first_send_started)
    bot.send_signal(signal.SIGTERM)
    with anyio.fail_after(15):
        while bot.poll() is None:  # noqa: ASYNC110 - waiting on another process
            await anyio.sleep(0.05)
    assert bot.returncode == 0

    ids = [message_id for message_id, _ in sends]
    assert await probe_log(begasist_redis, begasist_names, "probe", "sent") == ids[:1]
    assert await begasist_redis.get(begasist_names.hotel_key("plaza", "lease")) is None
    assert await presence(begasist_redis, begasist_names) is None

    start_bot("bot-b")

    async def all_sent_once() -> bool:
        return await probe_log(begasist_redis, begasist_names, "probe", "sent") == ids

    await eventually(all_sent_once, within=20)


async def test_json_log_lines_name_their_hotel(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    bot_environment: dict[str, str],
    start_bot: Callable[[str], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    bot_environment["BEGASIST_LOG_FORMAT"] = "json"
    bot = start_bot("bot-a")

    async def active() -> bool:
        return await presence(begasist_redis, begasist_names) is not None

    await eventually(active, within=20)
    bot.send_signal(signal.SIGTERM)
    with anyio.fail_after(15):
        while bot.poll() is None:  # noqa: ASYNC110 - waiting on another process
            await anyio.sleep(0.05)

    records = [json.loads(line) for line in (tmp_path / "bot-a.log").read_text().splitlines()]
    ready = [record for record in records if record["message"].startswith("ready: hotel plaza")]
    assert ready, records
    assert ready[0]["hotel"] == "plaza"
    assert ready[0]["level"] == "INFO"
    assert ready[0]["logger"] == "begasist.channelbot"
    assert ready[0]["timestamp"].endswith("Z")
    assert all({"timestamp", "level", "logger", "message"} <= record.keys() for record in records)
