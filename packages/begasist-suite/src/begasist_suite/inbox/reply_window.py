"""Whether free text may go to a conversation's guest now: the channel's reply window.

A channel that declares ``capabilities.reply_window`` (WhatsApp: 24 hours) accepts
free text only that long after the guest's last message in the conversation;
after that, or before the guest ever wrote, only a template may go. The staff
app's reply box and the JSON API's reply route both ask here, so what the page
offers and what the API accepts are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from begasist_core import Capabilities, UnknownChannel

from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord

__all__ = ["WindowState", "channel_capabilities", "window_state"]


@dataclass(frozen=True)
class WindowState:
    """The window of one conversation at one moment."""

    closed: bool
    closed_at: datetime | None = None
    """When it closed; None while open, and when the guest never wrote (never opened)."""
    sends_templates: bool = False
    """The channel can send templates, the only thing that goes while it is closed."""


def channel_capabilities(services: Services, channel: str) -> Capabilities | None:
    """The installed channel's capabilities; None for a channel not installed here."""
    try:
        return services.plugins.channel(channel).capabilities
    except UnknownChannel:
        return None


async def window_state(
    services: Services, conversation: ConversationRecord, *, now: datetime | None = None
) -> WindowState:
    """The conversation's reply window *now* (open for a channel without one)."""
    capabilities = channel_capabilities(services, conversation.channel)
    if capabilities is None or capabilities.reply_window is None:
        return WindowState(closed=False)
    now = now or datetime.now(UTC)
    last = await services.store.last_inbound_at(conversation.hotel, conversation.id)
    if last is not None and now < last + capabilities.reply_window:
        return WindowState(closed=False)
    return WindowState(
        closed=True,
        closed_at=None if last is None else last + capabilities.reply_window,
        sends_templates=capabilities.templates,
    )
