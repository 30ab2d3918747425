"""Connecting to Redis, and riding out its outages with one clear log line."""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import urlsplit

import anyio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from begasist_core.backoff import Backoff

__all__ = [
    "OUTAGE_RETRY_MAX_SECONDS",
    "REDIS_UNAVAILABLE",
    "RedisOutage",
    "outage_backoff",
    "redis_from_url",
    "redis_label",
]

# A fixed-length tuple (not tuple[type, ...]), so mypy accepts ``except* (*REDIS_UNAVAILABLE, X)``.
REDIS_UNAVAILABLE: Final = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
"""What "Redis cannot be reached right now" raises (``except REDIS_UNAVAILABLE:``).

redis-py wraps socket errors, refused connections and ``LOADING`` replies in
the first two, so a loop that catches them and calls :meth:`RedisOutage.failed`
survives any outage without catching programming errors. ``READONLY`` is the
third: the server reached is a replica, as a master demoted by a failover is
until its clients move on (a Sentinel-managed client already turns it into a
``ConnectionError``; a URL's client keeps asking the same address, which
points at the new master once DNS or a virtual IP has moved).
"""

CONNECT_TIMEOUT_SECONDS: Final = 2.0
SOCKET_TIMEOUT_SECONDS: Final = 10.0
"""Longer than any blocking read the bus issues (consumers block for ~1 s)."""
HEALTH_CHECK_SECONDS: Final = 15


OUTAGE_RETRY_MAX_SECONDS: Final = 1.0
"""Longest wait between two attempts to reach Redis while it is away.

Short on purpose: a bot (consumers, lease, standby, presence) tries again at
least once a second, so it is working within about a second of Redis coming
back. An attempt against a server that is down is one refused connection (or
one connect timeout): cheap for Redis, and jittered so many bots do not
reconnect in lock step.
"""

MAX_CONNECTIONS: Final = 2_000
"""Connections one client may open: bounded, but never the limit a many-hotel bot hits."""


def redis_from_url(url: str) -> Redis:
    """An asyncio client for *url* as the bus expects it: bytes in, bytes out.

    Timeouts are finite so a dead server is noticed, idle pooled connections are
    pinged before reuse, and a failed command is retried once at once (that
    heals a pooled connection a restarted server dropped). Longer retries are
    the caller's, through :class:`RedisOutage`, so one place logs and backs off.
    Query-string options in *url* win over these defaults.

    The pool is sized for blocking reads: every consumer holds a connection
    while it waits in XREADGROUP, so a bot serving 50 hotels (three consumers
    each, plus publishers) needs well over redis-py's default of 100.
    """
    return Redis.from_url(
        url,
        decode_responses=False,
        max_connections=MAX_CONNECTIONS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_SECONDS,
        retry=Retry(NoBackoff(), 1),
    )


def redis_label(redis_or_url: Redis | str) -> str:
    """``host:port`` (or the socket path) of a client or URL, never its password."""
    if isinstance(redis_or_url, str):
        if "://" not in redis_or_url:
            return redis_or_url
        parts = urlsplit(redis_or_url)
        if parts.scheme == "unix":
            return parts.path
        try:
            port = parts.port or 6379
        except ValueError:  # a malformed port: show the host alone
            return parts.hostname or "?"
        return f"{parts.hostname}:{port}"
    pool = redis_or_url.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        return f"master {pool.service_name!r} via Sentinel"
    options = pool.connection_kwargs
    if "path" in options:
        return str(options["path"])
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"


def outage_backoff() -> Backoff:
    """The delays between attempts to reach Redis: 0.1 s doubling, capped at
    :data:`OUTAGE_RETRY_MAX_SECONDS`, jittered."""
    return Backoff(initial=0.1, maximum=OUTAGE_RETRY_MAX_SECONDS)


class RedisOutage:
    """Tracks one loop's view of Redis: one WARNING when it goes, one INFO when it is back.

    Call :meth:`failed` with the error each time an attempt fails (it logs and
    then sleeps a :class:`Backoff` delay, so a retry loop never spins; by
    default :func:`outage_backoff`, at most a second) and
    :meth:`succeeded` after each attempt that worked. While Redis stays down the
    repeats are logged at DEBUG only, so an outage is one line in the log, not
    one per attempt.
    """

    def __init__(
        self,
        redis_or_url_label: str,
        *,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        backoff: Backoff | None = None,
    ) -> None:
        self.label = redis_label(redis_or_url_label)
        self._log = logger
        self._backoff = backoff or outage_backoff()
        self._down_since: float | None = None
        self.attempts = 0
        """Failed attempts in the current outage (0 while Redis is reachable)."""

    @property
    def down(self) -> bool:
        """Whether the last attempt failed."""
        return self._down_since is not None

    async def failed(self, error: BaseException) -> None:
        """Record a failed attempt, log it (once per outage), then sleep the next delay."""
        self.attempts += 1
        delay = self._backoff.next_delay()
        if self._down_since is None:
            self._down_since = anyio.current_time()
            self._log.warning(
                "Redis unreachable at %s (%s); retrying with backoff up to %gs",
                self.label,
                _describe(error),
                self._backoff.maximum,
            )
        else:
            self._log.debug(
                "Redis still unreachable at %s (attempt %d: %s); next try in %.2fs",
                self.label,
                self.attempts,
                _describe(error),
                delay,
            )
        await anyio.sleep(delay)

    def succeeded(self) -> None:
        """Record a working attempt: log the recovery once and reset the backoff."""
        if self._down_since is None:
            return
        self._log.info(
            "Redis reachable again at %s after %.1fs (%d failed attempts)",
            self.label,
            anyio.current_time() - self._down_since,
            self.attempts,
        )
        self._down_since = None
        self.attempts = 0
        self._backoff.reset()


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
