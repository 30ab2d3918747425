"""What a hotel configures for its Channex channel: the admin form is generated from it."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, ClassVar, Final

from begasist_core import ChannelSettings, FieldTranslation
from pydantic import Field, HttpUrl, SecretStr

from begasist_channels_channex.ota import Ota
from begasist_channels_channex.settings_text import TRANSLATIONS

__all__ = ["API_BASE_URLS", "ChannexEnvironment", "ChannexSettings"]


class ChannexEnvironment(StrEnum):
    """Which Channex the hotel's account lives in."""

    PRODUCTION = "production"
    STAGING = "staging"


API_BASE_URLS: Final[dict[ChannexEnvironment, str]] = {
    ChannexEnvironment.PRODUCTION: "https://app.channex.io/api/v1",
    ChannexEnvironment.STAGING: "https://staging.channex.io/api/v1",
}
"""Channex's documented API roots (docs.channex.io, API reference)."""


class ChannexSettings(ChannelSettings):
    """The Channex channel's settings for one hotel (one Channex property)."""

    # The API key goes to the environment's host (or the override): both decide where.
    secret_destinations: ClassVar[frozenset[str]] = frozenset({"environment", "api_base_url"})
    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = TRANSLATIONS

    api_key: SecretStr
    """The Channex user API key, sent as the ``user-api-key`` header."""
    property_id: Annotated[str, Field(min_length=1, max_length=64)]
    """The Channex property (hotel) whose messages this channel takes."""
    environment: ChannexEnvironment = ChannexEnvironment.PRODUCTION
    api_base_url: HttpUrl | None = None
    """Overrides ``environment``'s API root: for a Channex stand-in in tests and demos."""
    webhook_secret: Annotated[SecretStr, Field(min_length=16)]
    """Channex does not sign webhooks; the hotel sets this value as the custom header
    ``X-Begasist-Webhook-Secret`` of its Channex ``message`` webhook, and the suite
    refuses every delivery that does not carry it exactly."""
    booking_com: bool = True
    """Take and answer Booking.com guests' messages."""
    airbnb: bool = True
    """Take and answer Airbnb guests' messages."""
    expedia: bool = True
    """Take and answer Expedia guests' messages."""
    request_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0
    send_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    """Tries per message part against 429 and 5xx answers before the runtime retries later."""
    catch_up_interval_seconds: Annotated[int, Field(ge=0, le=86400)] = 60
    """How often guests' messages whose webhook never came are read from Channex's
    messages API (0: never)."""
    catch_up_lookback_hours: Annotated[int, Field(ge=1, le=720)] = 24
    """How far back the first catch-up reads (later ones resume from their cursor)."""

    @property
    def api_root(self) -> str:
        """The API root requests go to, without a trailing slash."""
        if self.api_base_url is not None:
            return str(self.api_base_url).rstrip("/")
        return API_BASE_URLS[self.environment]

    def takes(self, ota: Ota) -> bool:
        """Whether the hotel switched this OTA's messages on (one without a switch: yes)."""
        switches = {
            Ota.BOOKING_COM: self.booking_com,
            Ota.AIRBNB: self.airbnb,
            Ota.EXPEDIA: self.expedia,
        }
        return switches.get(ota, True)
