"""Saving part of a channel's settings: the patch, the API's validation, storage, the bot told."""

from __future__ import annotations

from typing import Any

from begasist_suite.api.channels import save_channel_config
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.services import Services
from begasist_suite.settings_patch import patched_settings
from begasist_suite.store.records import ChannelConfig

__all__ = ["save_channel_changes"]


async def save_channel_changes(
    services: Services, hotel: str, channel: str, changes: dict[str, Any]
) -> ChannelConfig:
    """Apply *changes* (and nothing else) to the stored settings, as the API validates and
    stores a PUT: through the outbox, in the same transaction as the read they patch.

    Raises :class:`~begasist_suite.channel_settings.InvalidSettings` with the field
    errors, and :class:`~begasist_suite.store.store.Conflict` when another hotel's
    settings answer to the same key on the channel's shared webhook URL.
    """
    plugin = services.plugins.channel(channel)

    def update(stored: ChannelConfig | None) -> ChannelConfig:
        return apply_settings_update(
            plugin.Settings,
            hotel,
            channel,
            patched_settings(plugin.Settings, stored, changes),
            stored,
            services.secret_box,
            route_key=plugin.route_key,
        )

    return await save_channel_config(services, hotel, channel, update)
