"""Changing only what is sent: a channel's settings with some fields changed, the others kept.

:func:`~begasist_suite.channel_settings.apply_settings_update` replaces a
channel's plain settings with the body (a PUT): a body holding only a secret
would reset every other field to its default, the hotel's reply mode included.
``PATCH /api/v1/hotels/{hotel}/channels/{channel}`` and the web app's forms
(one per concern: the settings, enable / disable, the reply mode) change part
of the settings, so they build their body here
(:func:`~begasist_suite.api.channels.patch_channel_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from begasist_suite.channel_settings import secret_fields
from begasist_suite.store.records import ChannelConfig

__all__ = ["patched_settings"]


def patched_settings(
    model: type[BaseModel], stored: ChannelConfig | None, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The body for ``apply_settings_update`` that changes *changes* and nothing else.

    Plain fields absent from *changes* keep their stored values (a stored field
    the plugin's model no longer declares is dropped, so an upgrade that removed
    it does not make every save fail). Secret fields absent from *changes* are
    left out, which keeps them; in *changes* a string replaces one and None
    clears it, as in a PUT.
    """
    declared = set(model.model_fields) - secret_fields(model)
    kept = {} if stored is None else stored.settings
    return {
        **{name: value for name, value in kept.items() if name in declared},
        **changes,
    }
