"""The bot's own configuration, from ``BEGASIST_*`` environment variables and flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PositiveFloat, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from begasist_core.events.streams import DEFAULT_PREFIX

__all__ = ["BotConfig"]


class BotConfig(BaseSettings):
    """Everything a channelbot process needs besides its hotels.

    Every field reads ``BEGASIST_<FIELD>`` (``BEGASIST_REDIS_URL`` ...);
    command-line flags override them. Secrets (bot tokens) are never logged.
    """

    model_config = SettingsConfigDict(env_prefix="BEGASIST_", extra="ignore", frozen=True)

    redis_url: str | None = None
    """The Redis to use; unset means: start the embedded engine if allowed, else fail."""
    prefix: str = Field(default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Prefix of every stream and key."""
    suite_url: str | None = None
    """The suite's base URL; settings come from its bot endpoint."""
    bot_token: SecretStr | None = None
    """The bot token of the one hotel this bot serves (with a single ``--hotel``)."""
    bot_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    """Bot tokens by hotel, as JSON: ``{"plaza": "...", "sol": "..."}``."""
    settings_file: Path | None = None
    """A TOML settings file instead of the suite (development)."""
    lease_ttl_seconds: PositiveFloat = 10.0
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
    log_level: str = "INFO"
