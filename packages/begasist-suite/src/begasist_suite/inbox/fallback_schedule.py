"""When a new reply is due for the email fallback (``inbox/email_fallback.py``), if ever."""

from __future__ import annotations

from datetime import datetime

from begasist_core import Channel, ChannelSettings, UnknownChannel, utc_now
from pydantic import ValidationError

from begasist_suite.channel_settings import bot_settings
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord

__all__ = ["channel_settings", "email_fallback_at"]


async def email_fallback_at(
    services: Services, conversation: ConversationRecord, *, now: datetime | None = None
) -> datetime | None:
    """When a reply queued now in *conversation* is due for the fallback; None: never."""
    try:
        channel_class = services.plugins.channel(conversation.channel)
    except UnknownChannel:
        return None
    if _inherited(channel_class):
        return None  # the channel never asks: spare the settings read
    settings = await channel_settings(services, conversation.hotel, channel_class)
    if settings is None or not settings.enabled:
        return None
    delay = channel_class.unseen_reply_email_after(settings)
    return None if delay is None else (now or utc_now()) + delay


def _inherited(channel_class: type[Channel[ChannelSettings]]) -> bool:
    own = getattr(channel_class.unseen_reply_email_after, "__func__", None)
    return own is getattr(Channel.unseen_reply_email_after, "__func__", None)


async def channel_settings(
    services: Services, hotel: str, channel_class: type[Channel[ChannelSettings]]
) -> ChannelSettings | None:
    """*hotel*'s validated settings of *channel_class*; None when it has none usable."""
    config = await services.store.get_channel_config(hotel, channel_class.name)
    if config is None:
        return None
    try:
        return channel_class.Settings.model_validate(bot_settings(config, services.secret_box))
    except (ValidationError, UndecryptableSecret):
        return None  # settings the plugin no longer takes: as if the channel were off
