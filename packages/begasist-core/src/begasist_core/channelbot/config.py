"""The bot's own configuration, from ``BEGASIST_*`` environment variables and flags."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, PositiveFloat, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from begasist_core.bus.redis_settings import RedisSettings
from begasist_core.events.streams import DEFAULT_PREFIX
from begasist_core.log_format import LogFormat

__all__ = ["MIN_LEASE_TTL_SECONDS", "BotConfig"]

MIN_LEASE_TTL_SECONDS: Final = 1.0
"""The shortest lease a bot accepts. It renews three times per TTL, so a TTL
of 1 s survives a pause (GC, a busy event loop, a slow Redis reply) of only
about 0.6 s before a standby takes over; anything shorter would flap."""


class BotConfig(RedisSettings):
    """Everything a channelbot process needs besides its hotels.

    Every field reads ``BEGASIST_<FIELD>`` (``BEGASIST_REDIS_URL`` ...);
    command-line flags override them. Secrets (bot tokens) are never logged.
    Redis is a URL or Sentinels (:class:`RedisSettings`); neither means: start
    the embedded engine if allowed, else fail.
    """

    model_config = SettingsConfigDict(
        env_prefix="BEGASIST_", extra="ignore", frozen=True, populate_by_name=True
    )

    prefix: str = Field(default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Prefix of every stream and key."""
    suite_url: str | None = None
    """The suite's base URL; settings come from its bot endpoint."""
    bot_token: SecretStr | None = None
    """The bot token of the one hotel this bot serves (with a single ``--hotel``)."""
    bot_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    """Bot tokens by hotel, as JSON: ``{"plaza": "...", "sol": "..."}``."""
    fleet_token: SecretStr | None = None
    """A fleet bot token (``begasist tokens create-fleet``): lists the hotels and reads any
    hotel's settings, for ``--shard``; a hotel's own token, if given, still wins."""
    shard_count: int | None = Field(default=None, ge=1, le=100_000)
    """N for ``--shard-from-hostname`` (K comes from the host name)."""
    relist_seconds: PositiveFloat = 30.0
    """How often a sharded bot lists the hotels again (added ones start, deleted ones stop)."""
    settings_file: Path | None = None
    """A TOML settings file instead of the suite (development)."""
    suite_wait_seconds: float = Field(default=120.0, ge=0)
    """At start-up, how long to wait for a suite that does not answer (still starting,
    being updated) before exiting with code 3."""
    lease_ttl_seconds: float = 10.0
    """How long the lease outlives the active bot: a standby takes over about this
    long after it died. Shorter is quicker, but a pause longer than two thirds of
    it hands the hotel to the standby (see docs/channelbot.md)."""
    heartbeat_seconds: PositiveFloat = 5.0
    version_check_seconds: PositiveFloat = 30.0
    claim_idle_seconds: PositiveFloat = 15.0
    """Idle time after which another bot reclaims an entry a dead bot left pending."""
    max_deliveries: int = Field(default=5, ge=1)
    drain_seconds: PositiveFloat = 10.0
    """On SIGTERM, how long in-flight work may take before it is handed back."""
    outbound_concurrency: int = Field(default=16, ge=1, le=256)
    """Conversations sent to at once; one guest's messages always go in order."""
    ingress_concurrency: int = Field(default=8, ge=1, le=256)
    """Webhooks parsed at once (parsing may download media)."""
    media_dir: Path = Path("media")
    """Where downloaded media is stored (``<dir>/<hotel>/...``); the suite serves the same dir."""
    health_port: int | None = Field(
        default=None, ge=0, le=65535, validation_alias="BEGASIST_BOT_HEALTH_PORT"
    )
    """The health port (``/health``, ``/ready``, ``/metrics``); unset: none is opened.
    ``channelbot health`` asks it. ``--health-port`` overrides."""
    health_host: str = Field(default="127.0.0.1", validation_alias="BEGASIST_BOT_HEALTH_HOST")
    """Where the health port listens: loopback by default, so the metrics (hotel slugs,
    channel states) stay on the machine; ``0.0.0.0`` in a container Prometheus scrapes."""
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    """One line of text or one JSON object per log record (timestamp, level, logger,
    message, hotel, channel, request_id)."""

    @field_validator("lease_ttl_seconds")
    @classmethod
    def _lease_long_enough(cls, value: float) -> float:
        if not value >= MIN_LEASE_TTL_SECONDS:  # also NaN
            raise ValueError(
                f"must be at least {MIN_LEASE_TTL_SECONDS:g} s (got {value:g}): "
                "a shorter lease is lost to an ordinary pause and the hotel flaps between bots; "
                "3 s takes over quickly on a steady network"
            )
        return value
