"""The demo channel's settings: its webhook secret and the simulated guests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from begasist_core import ChannelSettings, FieldTranslation
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, SecretStr

__all__ = ["DemoGuest", "DemoSettings"]


class DemoGuest(BaseModel):
    """A made-up guest who writes to the hotel when simulation is on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: Annotated[str, Field(min_length=1, max_length=320)]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class DemoSettings(ChannelSettings):
    """What a hotel configures for the demo channel (the admin form is generated from it)."""

    translations: ClassVar[Mapping[str, Mapping[str, FieldTranslation]]] = {
        "es": {
            "webhook_secret": FieldTranslation(
                title="Secreto del webhook",
                description="Compartido con quien envía los webhooks: firma cada cuerpo con "
                "HMAC-SHA256.",
            ),
            "simulated_guest_interval_seconds": FieldTranslation(
                title="Intervalo de huéspedes simulados (segundos)",
                description="Segundos entre mensajes de huéspedes simulados; 0 apaga la "
                "simulación.",
            ),
            "guests": FieldTranslation(
                title="Huéspedes simulados",
                description="De quién vienen los mensajes simulados, por turnos.",
            ),
        }
    }
    """The form's labels and help in Spanish; the docstrings below are the English."""

    webhook_secret: SecretStr
    """Shared with the sender of webhooks: it signs each body with HMAC-SHA256."""
    simulated_guest_interval_seconds: NonNegativeFloat = 0
    """Seconds between simulated guest messages; 0 turns the simulation off."""
    guests: Annotated[tuple[DemoGuest, ...], Field(min_length=1)] = (
        DemoGuest(address="+34600000001", name="Ana Lopez"),
        DemoGuest(address="+44700000002", name="Ben Carter"),
    )
    """Who the simulated messages come from, in turn."""
