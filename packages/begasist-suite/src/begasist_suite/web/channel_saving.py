"""Saving part of a channel's settings from a form: the API's PATCH, nothing of its own."""

from __future__ import annotations

from typing import Any

from begasist_suite.api.channels import patch_channel_config
from begasist_suite.services import Services
from begasist_suite.store.records import ChannelConfig

__all__ = ["save_channel_changes"]


async def save_channel_changes(
    services: Services, hotel: str, channel: str, changes: dict[str, Any]
) -> ChannelConfig:
    """Apply *changes* (and nothing else) to the stored settings, exactly as
    ``PATCH /api/v1/hotels/{hotel}/channels/{channel}`` does
    (:func:`~begasist_suite.api.channels.patch_channel_config`), so the forms and the
    API cannot drift apart.

    Raises :class:`~begasist_suite.channel_settings.InvalidSettings` with the field
    errors, and :class:`~begasist_suite.store.store.Conflict` when another hotel's
    settings answer to the same key on the channel's shared webhook URL.
    """
    return await patch_channel_config(services, hotel, channel, changes)
