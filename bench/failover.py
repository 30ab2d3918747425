"""Failover: kill -9 of the active channelbot to the standby working, per lease TTL.

Starts real ``channelbot`` processes for the hotel "plaza" (an active and a
standby, the example ``demo`` channel from a settings file) against the Redis
given (default redis://127.0.0.1:6379/0, a private key prefix), and sends a
steady trickle of outbound messages to the hotel. Then, N times per lease TTL:
a burst of messages, SIGKILL of the active bot right after it (so it dies
holding entries) at a random moment of its renewal cycle, and the time from
the kill until the standby is working:

* it holds the lease, and
* a message published after the kill was sent, and
* every entry the dead bot held (pending for it at the kill) was sent and acked.

A fresh bot is started after each kill to be the next standby. Bounded: each
takeover may take at most ``3 * TTL + 20`` s, or the run stops with an error.

    hatch run python bench/failover.py [--redis-url URL] [--kills 10] [--ttls 10,3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageSend,
    decode_event,
    make_event,
)
from begasist_core.bus import Publisher
from begasist_core.events import MessageStatusEvent, StreamNames
from redis.asyncio import Redis

HOTEL = "plaza"
GROUP = "channelbot"
SETTINGS = """[hotels.plaza]
version = 1
[hotels.plaza.channels.demo]
webhook_secret = "bench-only"
simulated_guest_interval_seconds = 0
"""


@dataclass
class Traffic:
    """What was published, when, and which messages the bots reported sent."""

    published: dict[str, float] = field(default_factory=dict)
    """Message id -> monotonic time it was published."""
    by_entry: dict[bytes, str] = field(default_factory=dict)
    """Outbound entry id -> message id."""
    sent: set[str] = field(default_factory=set)
    events_cursor: bytes = b"0-0"


@dataclass
class Bots:
    """The bot processes of one TTL's run, by instance name."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    names: Iterator[str] = field(default_factory=lambda: (f"bot-{n}" for n in itertools.count()))

    def start(self) -> str:
        instance = next(self.names)
        log = (self.logs / f"{instance}.log").open("wb")
        self.processes[instance] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "begasist_core.channelbot.cli",
                *("--hotel", HOTEL, "--instance", instance),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return instance

    def log_of(self, instance: str) -> str:
        return (self.logs / f"{instance}.log").read_text(encoding="utf-8", errors="replace")

    def kill(self, instance: str) -> None:
        process = self.processes.pop(instance)
        process.kill()
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            process.wait(timeout=10)
        self.processes.clear()


def outbound_event(number: int) -> tuple[str, MessageSend]:
    guest = f"+3460000{number % 50:04d}"
    message = Message(
        hotel=HOTEL,
        channel="demo",
        conversation_key=guest,
        direction=Direction.OUTBOUND,
        guest=GuestIdentity(channel="demo", address=guest),
        text=f"Your room is ready ({number})",
    )
    return message.id, MessageSend(message=message)


async def publish(
    redis: Redis, names: StreamNames, traffic: Traffic, numbers: Iterator[int], count: int
) -> None:
    sends = [outbound_event(next(numbers)) for _ in range(count)]
    entry_ids = await Publisher(redis).publish_many(
        names.outbound(HOTEL), [make_event(HOTEL, payload) for _, payload in sends]
    )
    now = time.monotonic()
    for (message_id, _), entry_id in zip(sends, entry_ids, strict=True):
        traffic.published[message_id] = now
        traffic.by_entry[entry_id] = message_id


async def trickle(
    redis: Redis, names: StreamNames, traffic: Traffic, numbers: Iterator[int], rate: float
) -> None:
    while True:
        await publish(redis, names, traffic, numbers, 1)
        await anyio.sleep(1 / rate)


async def read_sent(redis: Redis, names: StreamNames, traffic: Traffic) -> None:
    """Take in the message.status events published since the last look."""
    while True:
        reply = await redis.xread({names.events: traffic.events_cursor}, count=1000)
        if not reply:
            return
        for entry_id, fields in reply[0][1]:
            traffic.events_cursor = entry_id
            event = decode_event(fields[b"e"])
            if isinstance(event, MessageStatusEvent) and event.data.status is DeliveryStatus.SENT:
                traffic.sent.add(event.data.message_id)


async def holder(redis: Redis, names: StreamNames) -> str | None:
    raw = await redis.get(names.hotel_key(HOTEL, "lease"))
    return None if raw is None else raw.decode().split(":", 1)[1]


async def wait_for(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    with anyio.move_on_after(within) as scope:
        while not await check():  # noqa: ASYNC110 - the state is in Redis and other processes
            await anyio.sleep(0.02)
    if scope.cancelled_caught:
        raise SystemExit(f"failover bench: {what} did not happen within {within:g} s")


async def one_takeover(
    redis: Redis,
    names: StreamNames,
    bots: Bots,
    traffic: Traffic,
    numbers: Iterator[int],
    *,
    active: str,
    standby: str,
    ttl: float,
) -> tuple[float, float, int]:
    """Kill *active* after a burst; return the seconds until *standby* took the lease and
    until it was working, and how many entries the dead bot held."""
    await publish(redis, names, traffic, numbers, 20)
    bots.kill(active)
    killed_at = time.monotonic()
    held = await redis.xpending_range(
        names.outbound(HOTEL), GROUP, "-", "+", 10_000, consumername=active
    )
    held_ids = [info["message_id"] for info in held]
    held_messages = {traffic.by_entry[entry_id] for entry_id in held_ids}
    done_at: dict[str, float] = {}

    async def working() -> bool:
        now = time.monotonic()
        if "lease" not in done_at and await holder(redis, names) == standby:
            done_at["lease"] = now
        await read_sent(redis, names, traffic)
        after_kill = [m for m, at in traffic.published.items() if at > killed_at]
        if "new" not in done_at and any(m in traffic.sent for m in after_kill):
            done_at["new"] = now
        if "held" not in done_at and held_messages <= traffic.sent:
            pending = await redis.xpending_range(
                names.outbound(HOTEL), GROUP, "-", "+", 10_000, consumername=active
            )
            if not pending:
                done_at["held"] = now
        return len(done_at) == 3

    await wait_for(working, within=3 * ttl + 20, what=f"takeover by {standby}")
    return done_at["lease"] - killed_at, max(done_at.values()) - killed_at, len(held_ids)


async def run_ttl(redis: Redis, url: str, ttl: float, kills: int, rate: float) -> list[float]:
    names = StreamNames(prefix=f"bench-failover-{uuid.uuid4().hex[:8]}")
    traffic = Traffic()
    numbers = itertools.count()
    times: list[float] = []
    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            bot_processes(url, names, ttl, workdir) as bots,
        ):
            active = bots.start()

            async def is_active() -> bool:
                return await holder(redis, names) == active

            await wait_for(is_active, within=30, what="the first bot taking the lease")
            async with anyio.create_task_group() as group:
                group.start_soon(trickle, redis, names, traffic, numbers, rate)
                for kill in range(kills):
                    standby = bots.start()

                    async def is_standby(instance: str = standby) -> bool:
                        return "waiting as standby" in bots.log_of(instance)

                    await wait_for(is_standby, within=30, what=f"{standby} waiting as standby")
                    # Kill at a random moment of the renewal cycle (three per TTL): else
                    # every kill would come as long after a renewal as a bot takes to start.
                    await anyio.sleep(random.uniform(0, ttl / 3))
                    lease, seconds, held = await one_takeover(
                        redis,
                        names,
                        bots,
                        traffic,
                        numbers,
                        active=active,
                        standby=standby,
                        ttl=ttl,
                    )
                    times.append(seconds)
                    print(
                        f"  TTL {ttl:g} s, kill {kill + 1}/{kills}: {standby} took the lease "
                        f"{lease:.2f} s and was working {seconds:.2f} s after the kill "
                        f"({held} entries held by the dead bot)",
                        flush=True,
                    )
                    active = standby
                group.cancel_scope.cancel()
    finally:
        # Once every bot is dead: a live one would write again behind the deletion.
        await delete_keys(redis, names.prefix)
    return times


@contextmanager
def bot_processes(url: str, names: StreamNames, ttl: float, workdir: str) -> Iterator[Bots]:
    settings = Path(workdir) / "hotels.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    env = {
        **os.environ,
        "BEGASIST_REDIS_URL": url,
        "BEGASIST_PREFIX": names.prefix,
        "BEGASIST_SETTINGS_FILE": str(settings),
        "BEGASIST_LOAD_PLUGINS": "demo",
        "BEGASIST_LEASE_TTL_SECONDS": str(ttl),
        "BEGASIST_MEDIA_DIR": str(Path(workdir) / "media"),
    }
    bots = Bots(env=env, logs=Path(workdir))
    try:
        yield bots
    finally:
        bots.stop_all()


async def delete_keys(redis: Redis, prefix: str) -> None:
    """Leave the server as it was: the runs' streams, ledgers, presence and lease keys go."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


async def bench(url: str, ttls: list[float], kills: int, rate: float) -> None:
    redis = Redis.from_url(url)
    try:
        print(f"failover: kill -9 of the active bot to the standby working, against {url}")
        print(
            f"  trickle {rate:g} messages/s, a burst of 20 before each kill, {kills} kills per TTL"
        )
        results = {ttl: await run_ttl(redis, url, ttl, kills, rate) for ttl in ttls}
    finally:
        await redis.aclose()
    for ttl, times in results.items():
        print(
            f"lease TTL {ttl:g} s: p50 {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} kills"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("BEGASIST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--kills", type=int, default=10, help="kills per lease TTL")
    parser.add_argument("--ttls", default="10,3", help="lease TTLs in seconds, comma-separated")
    parser.add_argument("--rate", type=float, default=5.0, help="trickle, messages per second")
    args = parser.parse_args()
    ttls = [float(ttl) for ttl in args.ttls.split(",")]
    anyio.run(bench, args.redis_url, ttls, args.kills, args.rate)


if __name__ == "__main__":
    main()
