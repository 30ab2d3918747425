"""The web chat channel's settings: who may embed the widget, how it looks, when staff answer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Annotated, ClassVar, Self

from begasist_core import (
    GUEST_UPLOAD_TYPES,
    MAX_GUEST_UPLOAD_BYTES,
    ChannelSettings,
    GuestUploadType,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

__all__ = [
    "DEFAULT_ATTACHMENT_BYTES",
    "MIN_SECRET_LENGTH",
    "Colour",
    "OfficeHours",
    "Origin",
    "WebchatSettings",
]

DEFAULT_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""The largest file a guest may attach unless the hotel says otherwise (10 MiB)."""

MIN_SECRET_LENGTH = 32
"""The identity secret's least length: an HMAC key a site's visitors cannot guess."""

Origin = Annotated[
    str,
    StringConstraints(
        min_length=8,
        max_length=300,
        pattern=r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$",
    ),
]
"""A web origin as browsers send it: scheme, lower-case host, optional port; no path."""

Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class OfficeHours(BaseModel):
    """One span of the week when staff answer: the days (0 Monday .. 6 Sunday) and times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: Annotated[frozenset[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1)]
    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Self:
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes (split a span that crosses midnight)")
        return self


class WebchatSettings(ChannelSettings):
    """What a hotel configures for its web chat (the admin form is generated from it)."""

    not_secret_destinations: ClassVar[Mapping[str, str]] = {
        "allowed_origins": "the pages allowed to open the widget; no secret is ever sent there",
    }

    allowed_origins: Annotated[list[Origin], Field(max_length=50)] = []
    """Pages of these origins may open the widget (``https://www.hotel.example``);
    every other origin is refused. Empty: the widget works nowhere yet."""
    greeting: Annotated[str, StringConstraints(max_length=500)] = ""
    """The first words the widget shows a guest."""
    primary_colour: Colour = "#1f5f8b"
    """The launcher's and the header's background."""
    text_colour: Colour = "#ffffff"
    """Text on ``primary_colour`` (keep WCAG AA contrast with it)."""
    pre_chat_form: bool = False
    """Ask the guest's name and email before the first message."""
    pre_chat_email_required: bool = False
    """With ``pre_chat_form``: the form asks the email as required, not optional."""
    email_fallback_after_seconds: Annotated[int | None, Field(ge=0, le=604_800)] = None
    """A reply the guest has not read this many seconds after it was sent is also sent
    to the email address they left, through the hotel's email channel (if enabled),
    every one of a chat in one email thread. Empty or 0: never."""
    office_hours: Annotated[list[OfficeHours], Field(max_length=21)] = []
    """When staff answer, in ``time_zone``; empty: always."""
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    offline_message: Annotated[str, StringConstraints(max_length=500)] = ""
    """Shown outside office hours."""
    attachment_types: Annotated[list[GuestUploadType], Field(max_length=5)] = list(
        GUEST_UPLOAD_TYPES
    )
    """The files guests may attach (told by their content, not their name): JPEG, PNG,
    GIF and WebP images and PDF; empty: guests attach nothing."""
    max_attachment_bytes: Annotated[int, Field(ge=1024, le=MAX_GUEST_UPLOAD_BYTES)] = (
        DEFAULT_ATTACHMENT_BYTES
    )
    """The largest file a guest may attach, in bytes (at most 25 MiB)."""
    identity_secret: Annotated[SecretStr | None, Field(min_length=MIN_SECRET_LENGTH)] = None
    """The secret the hotel's site signs a signed-in guest's identifier with
    (HMAC-SHA256, hex), at least 32 characters (a short or empty one would let
    anyone sign any identifier); None: identities claimed by the site are refused."""

    def email_fallback_after(self) -> timedelta | None:
        """``email_fallback_after_seconds`` as a delay; None when the fallback is off."""
        seconds = self.email_fallback_after_seconds
        return timedelta(seconds=seconds) if seconds else None
