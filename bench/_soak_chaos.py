"""The chaos soak's chaos: kill -9 of active bots, Redis and the suite, and the takeover timings.

Bots: every ``kill_every`` seconds the active bot of the next hotel (round
robin) is found from the hotel's lease key (``"<fence>:<instance>"``), killed
with SIGKILL, and a new bot is started at once so the hotel keeps a standby.
Right after the kill a marker webhook (a guest message like the others) is
posted for that hotel. The takeover is timed from the kill to the moment both
hold: another instance holds the lease, and the marker's ``message.received``
is on the events stream (the entry's id is Redis's clock at the XADD), that is,
the new active bot handled an entry published after the kill. Also timed: the
lease alone, and until the killed bot's pending entries (XPENDING by consumer
on the hotel's three streams) were taken over.

Redis and the suite are killed with SIGKILL midway between two bot kills, kept
down for a few seconds and started again on the same port and data.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from _soak_fleet import BotFleet, RedisServer, SuiteServer
from _soak_load import Inbound
from begasist_core import StreamNames
from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["Chaos", "Outage", "Takeover", "schedule"]

POLL_SECONDS = 0.1
BOT_GROUP = "channelbot"


@dataclass
class Takeover:
    """One kill of an active bot and when (wall time) its successor was seen at work."""

    hotel: str
    dead: str
    killed_at: float
    marker: Inbound
    holder: str | None = None
    lease_at: float | None = None
    handled_at: float | None = None
    pending_at_kill: int | None = None
    handed_over_at: float | None = None
    overlapped: bool = False
    """A Redis or suite outage fell between the kill and the takeover."""

    @property
    def working(self) -> float | None:
        if self.lease_at is None or self.handled_at is None:
            return None
        return max(self.lease_at, self.handled_at) - self.killed_at

    @property
    def lease(self) -> float | None:
        return None if self.lease_at is None else self.lease_at - self.killed_at

    @property
    def handed_over(self) -> float | None:
        return None if self.handed_over_at is None else self.handed_over_at - self.killed_at

    @property
    def open(self) -> bool:
        return None in (self.lease_at, self.handled_at, self.handed_over_at)


@dataclass
class Outage:
    """One kill of Redis or of the suite, and when it answered again."""

    what: str
    killed_at: float
    back_at: float | None = None
    """When it answered again (PING, ``/health``)."""


def schedule(
    seconds: float, kill_every: float, redis_kills: int, suite_kills: int
) -> list[tuple[float, str]]:
    """``(seconds after the load started, action)``: ``bot``, ``redis`` or ``suite``.

    Bot kills on a grid of *kill_every*; Redis and suite kills spread evenly
    over the run, each in the middle of a grid interval, no two in one interval
    while there are intervals free.
    """
    plan = [(k * kill_every, "bot") for k in range(1, math.ceil(seconds / kill_every))]
    slots = max(int(seconds // kill_every), 1)
    taken: set[int] = set()
    wanted = [(i / (redis_kills + 1), "redis") for i in range(1, redis_kills + 1)]
    wanted += [(i / (suite_kills + 1), "suite") for i in range(1, suite_kills + 1)]
    for fraction, what in sorted(wanted):
        slot = min(int(fraction * slots), slots - 1)
        while slot in taken and slot < slots - 1:
            slot += 1
        taken.add(slot)
        plan.append((slot * kill_every + kill_every / 2, what))
    return sorted(plan)


@dataclass
class Chaos:
    """Carries out a :func:`schedule` and watches each takeover (see the module doc)."""

    redis_server: RedisServer
    suite: SuiteServer
    fleet: BotFleet
    redis: Redis
    names: StreamNames
    hotels: list[str]
    send_marker: Callable[[str], Inbound]
    redis_down: float
    suite_down: float
    takeovers: list[Takeover] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    skipped: list[tuple[float, str]] = field(default_factory=list)
    """(time, why) of bot kills that found no live active bot to kill."""
    started_at: float = 0.0
    """Wall time the load started: the summary's times are relative to it."""
    _next_hotel: int = 0

    async def conduct(self, plan: list[tuple[float, str]], started: float) -> None:
        actions: dict[str, Callable[[], Awaitable[None]]] = {
            "bot": self.kill_active_bot,
            "redis": self.restart_redis,
            "suite": self.restart_suite,
        }
        self.started_at = time.time() - (time.monotonic() - started)
        for at, what in plan:
            await anyio.sleep(max(started + at - time.monotonic(), 0))
            await actions[what]()

    async def kill_active_bot(self) -> None:
        hotel = self.hotels[self._next_hotel % len(self.hotels)]
        self._next_hotel += 1
        try:
            holder = await self.redis.get(self.names.hotel_key(hotel, "lease"))
        except RedisError as error:
            self.skipped.append(
                (time.time(), f"{hotel}: lease unreadable ({type(error).__name__})")
            )
            return
        if holder is None:
            self.skipped.append((time.time(), f"{hotel}: no bot holds the lease"))
            return
        instance = _text(holder).split(":", 1)[1]
        if not self.fleet.kill(instance):
            self.skipped.append((time.time(), f"{hotel}: the lease holder {instance} is dead"))
            return
        killed_at = time.time()
        self.fleet.replace_exited(self.hotels, per_hotel=2)
        self.takeovers.append(Takeover(hotel, instance, killed_at, self.send_marker(hotel)))

    async def restart_redis(self) -> None:
        outage = Outage("Redis", time.time())
        self.outages.append(outage)
        self.redis_server.kill()
        await anyio.sleep(self.redis_down)
        self.redis_server.start()
        await self.redis_server.wait_ready()
        outage.back_at = time.time()

    async def restart_suite(self) -> None:
        outage = Outage("suite", time.time())
        self.outages.append(outage)
        self.suite.kill()
        await anyio.sleep(self.suite_down)
        self.suite.start()
        await self.suite.wait_ready()
        outage.back_at = time.time()

    async def keep_bots(self) -> None:
        """Restart bots that exited by themselves (started while the suite was down)."""
        while True:
            self.fleet.replace_exited(self.hotels, per_hotel=2)
            await anyio.sleep(0.5)

    async def watch_leases(self) -> None:
        """Time each open takeover's lease and the hand-over of the killed bot's entries."""
        while True:
            await anyio.sleep(POLL_SECONDS)
            for takeover in [t for t in self.takeovers if t.open]:
                with contextlib.suppress(RedisError):  # Redis is down: look again next round
                    await self._observe(takeover)

    async def _observe(self, takeover: Takeover) -> None:
        now = time.time()
        if takeover.lease_at is None:
            holder = await self.redis.get(self.names.hotel_key(takeover.hotel, "lease"))
            instance = _text(holder).split(":", 1)[1] if holder else None
            if instance not in (None, takeover.dead):
                takeover.holder, takeover.lease_at = instance, now
        if takeover.handed_over_at is None:
            left = 0
            hotel = takeover.hotel
            for stream in (
                self.names.control(hotel),
                self.names.outbound(hotel),
                self.names.ingress(hotel),
            ):
                summary: Any = await self.redis.xpending(stream, BOT_GROUP)
                for consumer in summary.get("consumers") or []:
                    if _text(consumer["name"]) == takeover.dead:
                        left += int(consumer["pending"])
            if takeover.pending_at_kill is None:
                takeover.pending_at_kill = left
            if left == 0:
                takeover.handed_over_at = now

    async def watch_events(self) -> None:
        """Note when each marker's ``message.received`` reaches the events stream."""
        last = "0-0"
        while True:
            try:
                answer: Any = await self.redis.xread(
                    {self.names.events: last}, count=500, block=500
                )
            except RedisError:
                await anyio.sleep(POLL_SECONDS)
                continue
            # After the read: a kill registered while it blocked has its marker looked for too.
            waiting = {
                f'"{t.marker.wamid}"'.encode(): t for t in self.takeovers if t.handled_at is None
            }
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    payload = b"".join(fields.values())
                    for wamid, takeover in waiting.items():
                        if takeover.handled_at is None and wamid in payload:
                            takeover.handled_at = int(last.split("-")[0]) / 1000

    def mark_overlaps(self) -> None:
        for takeover in self.takeovers:
            ended = takeover.killed_at + (takeover.working or math.inf)
            takeover.overlapped = any(
                outage.killed_at < ended and (outage.back_at or math.inf) > takeover.killed_at
                for outage in self.outages
            )


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
