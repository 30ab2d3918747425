"""Validated names: hotel slugs and channel names, safe inside Redis keys and URLs."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError

__all__ = [
    "ChannelName",
    "HotelSlug",
    "InvalidName",
    "validate_channel_name",
    "validate_hotel_slug",
]

HOTEL_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
CHANNEL_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"

HotelSlug = Annotated[
    str,
    StringConstraints(pattern=HOTEL_SLUG_PATTERN, min_length=1, max_length=40),
]
"""A hotel's slug: 1-40 of ``a-z 0-9 -``, not starting or ending with ``-``.

It appears in stream names (``begasist:hotel:{hotel}:control``) and URLs, so it
never holds ``:`` or ``/``.
"""

ChannelName = Annotated[
    str,
    StringConstraints(pattern=CHANNEL_NAME_PATTERN, min_length=1, max_length=32),
]
"""A channel's name, also its entry-point name: ``whatsapp``, ``email``, ``web_chat``."""


class InvalidName(ValueError):
    """A hotel slug or channel name does not match its pattern."""


_hotel_adapter: TypeAdapter[str] = TypeAdapter(HotelSlug)
_channel_adapter: TypeAdapter[str] = TypeAdapter(ChannelName)


def validate_hotel_slug(value: str) -> str:
    """Return *value* if it is a valid hotel slug, else raise :class:`InvalidName`."""
    try:
        return _hotel_adapter.validate_python(value)
    except ValidationError:
        raise InvalidName(
            f"invalid hotel slug {value!r}: use 1-40 of a-z, 0-9 and '-', "
            "not starting or ending with '-'"
        ) from None


def validate_channel_name(value: str) -> str:
    """Return *value* if it is a valid channel name, else raise :class:`InvalidName`."""
    try:
        return _channel_adapter.validate_python(value)
    except ValidationError:
        raise InvalidName(
            f"invalid channel name {value!r}: "
            "use a lowercase letter, then up to 31 of a-z, 0-9 and '_'"
        ) from None
