"""Where a deployment's Redis is (a URL, or Sentinels naming its master) and one client for it.

The suite and the channelbot read the same ``BEGASIST_REDIS_*`` settings
(:class:`RedisSettings`) and build their client with :func:`redis_client`, so
both follow a Sentinel failover the same way: every new connection asks the
Sentinels where the master is, and a connection still open to a master that
was demoted fails with ``ConnectionError`` (redis-py turns ``READONLY`` into
it), which the bus's loops already ride out with :class:`RedisOutage`.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

from begasist_core.bus.connection import (
    CONNECT_TIMEOUT_SECONDS,
    HEALTH_CHECK_SECONDS,
    MAX_CONNECTIONS,
    SOCKET_TIMEOUT_SECONDS,
    redis_from_url,
    redis_label,
)

__all__ = [
    "RedisSettings",
    "parse_sentinels",
    "redis_client",
    "redis_settings_label",
]


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """``"h1:26379, [::1]:26380"`` as ``(("h1", 26379), ("::1", 26380))``; else ValueError."""
    addresses: list[tuple[str, int]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item!r} is not host:port")
        addresses.append((host, int(port)))
    return tuple(addresses)


class RedisSettings(BaseSettings):
    """The ``BEGASIST_REDIS_*`` settings of the suite and the bots.

    Either ``redis_url`` or ``redis_sentinels`` with ``redis_sentinel_master``,
    never both; with neither, each command keeps its own rule (``serve`` and a
    bot refuse to start, ``dev`` and ``channelbot --embedded-engine`` start the
    embedded engine).
    """

    model_config = SettingsConfigDict(env_prefix="BEGASIST_", extra="ignore", frozen=True)

    redis_url: str | None = None
    """The deployment's Redis 7 as a URL (``redis://[:password@]host:port/db``)."""
    redis_sentinels: Annotated[tuple[tuple[str, int], ...], NoDecode] = ()
    """Sentinels to ask for the master, comma-separated ``host:port`` (instead of a URL)."""
    redis_sentinel_master: str | None = None
    """The master's name in the Sentinels' configuration (``sentinel monitor NAME ...``)."""
    redis_sentinel_password: SecretStr | None = None
    """The Sentinels' own password (``requirepass`` in sentinel.conf), if any."""
    redis_password: SecretStr | None = None
    """With Sentinels: the master's (and replicas') password, if any. A URL carries its own."""
    redis_username: str | None = None
    """With Sentinels: the ACL user of the master, if not ``default``."""
    redis_db: int = Field(default=0, ge=0)
    """With Sentinels: the database number on the master. A URL carries its own."""

    @field_validator("redis_url", "redis_sentinel_master", "redis_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `begasist dev` hands its bots BEGASIST_REDIS_URL="" when it has no URL.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _split_sentinels(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_sentinels(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_redis(self) -> Self:
        if self.redis_url is not None and self.redis_sentinels:
            raise ValueError(
                "BEGASIST_REDIS_URL and BEGASIST_REDIS_SENTINELS are both set: "
                "give the URL of one Redis, or the Sentinels that name its master, not both"
            )
        if self.redis_sentinels and self.redis_sentinel_master is None:
            raise ValueError(
                "BEGASIST_REDIS_SENTINELS needs BEGASIST_REDIS_SENTINEL_MASTER "
                "(the name in `sentinel monitor NAME host port quorum`)"
            )
        if self.redis_sentinel_master is not None and not self.redis_sentinels:
            raise ValueError("BEGASIST_REDIS_SENTINEL_MASTER needs BEGASIST_REDIS_SENTINELS")
        return self

    @property
    def redis_configured(self) -> bool:
        """Whether a URL or Sentinels are given (else: the embedded engine, where allowed)."""
        return self.redis_url is not None or bool(self.redis_sentinels)


def redis_client(settings: RedisSettings) -> Redis:
    """The bus's client for *settings*: :func:`redis_from_url`, or the Sentinels' master.

    A Sentinel-managed client has the same timeouts, pool size and one quick
    retry as a URL's. Raises ValueError when *settings* name no Redis.
    """
    if settings.redis_url is not None:
        return redis_from_url(settings.redis_url)
    if not settings.redis_sentinels or settings.redis_sentinel_master is None:
        raise ValueError("no Redis: set BEGASIST_REDIS_URL or BEGASIST_REDIS_SENTINELS")
    timeouts: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_keepalive": True,
    }
    sentinel_options: dict[str, Any] = dict(timeouts)
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = settings.redis_sentinel_password.get_secret_value()
    master_options: dict[str, Any] = {
        **timeouts,
        "db": settings.redis_db,
        "decode_responses": False,
        "max_connections": MAX_CONNECTIONS,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "retry": Retry(NoBackoff(), 1),
    }
    if settings.redis_password is not None:
        master_options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_username is not None:
        master_options["username"] = settings.redis_username
    sentinel = Sentinel(list(settings.redis_sentinels), sentinel_kwargs=sentinel_options)
    client: Redis = sentinel.master_for(
        settings.redis_sentinel_master, redis_class=_SentinelMaster, **master_options
    )
    return client


class _SentinelMaster(Redis):
    """The master's client; closing it also closes its connections to the Sentinels,
    which redis-py's ``Sentinel`` keeps apart from the master's pool."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            pool = self.connection_pool
            if isinstance(pool, SentinelConnectionPool):
                for sentinel in pool.sentinel_manager.sentinels:
                    await sentinel.aclose()


def redis_settings_label(settings: RedisSettings) -> str:
    """Where *settings* point, for logs and errors: never a password."""
    if settings.redis_sentinels:
        sentinels = ",".join(f"{host}:{port}" for host, port in settings.redis_sentinels)
        return f"master {settings.redis_sentinel_master!r} via sentinels {sentinels}"
    if settings.redis_url is not None:
        return redis_label(settings.redis_url)
    return "no Redis configured"
