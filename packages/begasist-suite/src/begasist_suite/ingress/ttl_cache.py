"""A small time-bounded cache with one load per key at a time, for the webhook routes."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values (misses included: a None is a value) kept *seconds*, at most *entries* of them.

    When an entry expires under load, the requests in flight wait for one load
    instead of each making one: a flood of webhooks costs one store read per
    key per *seconds*.
    """

    def __init__(self, *, seconds: float, entries: int) -> None:
        self._seconds = seconds
        self._capacity = entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._loading: dict[K, anyio.Event] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value of *key*, or what *load* gives (its exception passes, uncached)."""
        while True:
            cached = self._entries.get(key)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            loading = self._loading.get(key)
            if loading is None:
                break
            await loading.wait()  # and look again: that load may have failed
        self._loading[key] = done = anyio.Event()
        try:
            value = await load()
            self._entries[key] = (time.monotonic() + self._seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        finally:
            if self._loading.get(key) is done:
                del self._loading[key]
            done.set()
        return value
