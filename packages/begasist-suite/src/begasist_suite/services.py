"""The suite's long-lived objects, built once per process and shared by every request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskStatus
from begasist_core import DeadLetters, PluginManager, Publisher, StreamNames
from begasist_core.bus.replication import ReplicaWait
from redis.asyncio import Redis

from begasist_suite.config import SuiteSettings
from begasist_suite.inbox.live import LiveUpdates
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.store import Store

__all__ = ["RunningTasks", "Services"]


def _no_relay() -> None:
    """Without a relay in this process (the CLI, some tests) the others' polls find it."""


class RunningTasks:
    """The process's background tasks running now, by name: what ``/ready`` reports."""

    def __init__(self) -> None:
        self._names: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._names

    async def run(
        self,
        name: str,
        target: Callable[..., Awaitable[Any]],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run *target* (a task for ``start``), counted as running from its start to its end."""
        names = self._names

        class Started:
            def started(self, value: None = None) -> None:
                names.add(name)
                task_status.started(value)

        try:
            await target(task_status=Started())
        finally:
            names.discard(name)


@dataclass
class Services:
    """What handlers, the ingress and the consumer work with (``app.state.services``)."""

    settings: SuiteSettings
    store: Store
    redis: Redis
    plugins: PluginManager
    secret_box: SecretBox
    live: LiveUpdates = field(default_factory=lambda: LiveUpdates(None))
    wake_relay: Callable[[], None] = _no_relay
    """Tells this process's outbox relay an entry was committed (``app.py`` sets it)."""
    running: RunningTasks = field(default_factory=RunningTasks)
    """The background tasks ``/ready`` requires: the outbox relay, the event consumer."""
    not_ready_reason: str | None = None
    """Why the last ``/ready`` probe failed (None: it passed), to log changes only."""
    names: StreamNames = field(init=False)
    publisher: Publisher = field(init=False)
    dead_letters: DeadLetters = field(init=False)

    def __post_init__(self) -> None:
        self.names = StreamNames(self.settings.prefix)
        # The outbox relay's: an entry is marked done only once replicas have it too.
        self.publisher = Publisher(
            self.redis,
            wait=ReplicaWait.of(
                self.settings.redis_wait_replicas, self.settings.redis_wait_timeout_ms
            ),
        )
        self.dead_letters = DeadLetters(self.redis, self.names)
