"""The demo channel's settings: its webhook secret and the simulated guests."""

from __future__ import annotations

from typing import Annotated

from begasist_core import ChannelSettings
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, SecretStr

__all__ = ["DemoGuest", "DemoSettings"]


class DemoGuest(BaseModel):
    """A made-up guest who writes to the hotel when simulation is on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: Annotated[str, Field(min_length=1, max_length=320)]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class DemoSettings(ChannelSettings):
    """What a hotel configures for the demo channel (the admin form is generated from it)."""

    webhook_secret: SecretStr
    """Shared with the sender of webhooks: it signs each body with HMAC-SHA256."""
    simulated_guest_interval_seconds: NonNegativeFloat = 0
    """Seconds between simulated guest messages; 0 turns the simulation off."""
    guests: Annotated[tuple[DemoGuest, ...], Field(min_length=1)] = (
        DemoGuest(address="+34600000001", name="Ana Lopez"),
        DemoGuest(address="+44700000002", name="Ben Carter"),
    )
    """Who the simulated messages come from, in turn."""
