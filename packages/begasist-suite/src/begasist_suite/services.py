"""The suite's long-lived objects, built once per process and shared by every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from begasist_core import DeadLetters, PluginManager, Publisher, StreamNames
from redis.asyncio import Redis

from begasist_suite.config import SuiteSettings
from begasist_suite.inbox.live import LiveUpdates
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.store import Store

__all__ = ["Services"]


def _no_relay() -> None:
    """Without a relay in this process (the CLI, some tests) the others' polls find it."""


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
    names: StreamNames = field(init=False)
    publisher: Publisher = field(init=False)
    dead_letters: DeadLetters = field(init=False)

    def __post_init__(self) -> None:
        self.names = StreamNames(self.settings.prefix)
        self.publisher = Publisher(self.redis)
        self.dead_letters = DeadLetters(self.redis, self.names)
