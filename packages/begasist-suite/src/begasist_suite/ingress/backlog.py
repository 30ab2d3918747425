"""How far each hotel's bot is behind on its ingress stream: what new entries are weighed against.

An ingress stream is never trimmed of what its bot has not acknowledged
(:mod:`begasist_core.bus.trimming`), so while a hotel's bot is down or lagging
the stream grows. The ingress refuses webhooks for a hotel whose backlog
reaches ``BEGASIST_INGRESS_BACKLOG_LIMIT`` (the provider retries later), which
bounds the memory one hotel takes; guests are the one writer nobody vouches
for, so the guest socket stops enqueueing well below that
(``BEGASIST_GUEST_INGRESS_BACKLOG``), leaving the room above it to webhooks.

The backlog of a stream is, for its most lagging consumer group, the entries
delivered but not yet acknowledged (``pending``) plus those not yet delivered
(``lag``); with no group at all (a bot that never ran), the whole stream. Redis
keeps counting entries that were deleted unread in ``lag`` (streams trimmed to
a length by older versions, ``XDEL``), so a lag with no entry after the group's
last delivered one is taken for none.
"""

from __future__ import annotations

from typing import Any, Final

from begasist_core import StreamNames
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from begasist_suite.ingress.ttl_cache import TtlCache

__all__ = ["BACKLOG_SECONDS", "IngressBacklog"]

BACKLOG_SECONDS: Final = 1.0
"""How long one replica reuses a hotel's measured backlog: a flood costs one look a second."""


class IngressBacklog:
    """Each hotel's ingress backlog (module docstring), measured at most every *seconds*."""

    def __init__(
        self,
        redis: Redis,
        names: StreamNames,
        *,
        seconds: float = BACKLOG_SECONDS,
        hotels: int = 10_000,
    ) -> None:
        self._redis = redis
        self._names = names
        self._cache: TtlCache[str, int] = TtlCache(seconds=seconds, entries=hotels)

    async def entries(self, hotel: str) -> int:
        """How many entries of *hotel*'s ingress stream its bot has not finished with."""
        stream = self._names.ingress(hotel)
        return await self._cache.get(hotel, lambda: self._measure(stream))

    async def _measure(self, stream: str) -> int:
        try:
            groups: list[dict[str, Any]] = await self._redis.xinfo_groups(stream)
        except ResponseError as error:
            if "no such key" in str(error).lower():
                return 0
            raise
        if not groups:
            return int(await self._redis.xlen(stream))
        return max([await self._group_backlog(stream, group) for group in groups])

    async def _group_backlog(self, stream: str, group: dict[str, Any]) -> int:
        pending = int(group.get("pending") or 0)
        lag = group.get("lag")
        if lag is not None and int(lag) == 0:
            return pending
        last = group.get("last-delivered-id") or b"0-0"
        last_id = last.decode("ascii") if isinstance(last, bytes) else str(last)
        undelivered: Any = await self._redis.xrange(stream, min=f"({last_id}", count=1)
        if not undelivered:
            return pending
        if lag is None:  # Redis cannot tell (deleted entries): all of it, to be safe
            return pending + int(await self._redis.xlen(stream))
        return pending + int(lag)
