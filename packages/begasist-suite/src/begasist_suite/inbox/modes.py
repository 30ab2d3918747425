"""Which reply mode applies to a conversation, and where it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from begasist_core import ReplyMode

from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord, Guest
from begasist_suite.store.reply_modes import channel_mode

__all__ = ["EffectiveMode", "ModeSource", "effective_mode"]


class ModeSource(StrEnum):
    CONVERSATION = "conversation"
    GUEST = "guest"
    CHANNEL = "channel"


@dataclass(frozen=True)
class EffectiveMode:
    """The mode that applies and each level's setting (None: not set there)."""

    mode: ReplyMode
    source: ModeSource
    conversation: ReplyMode | None
    guest: ReplyMode | None
    channel: ReplyMode


async def effective_mode(
    services: Services, conversation: ConversationRecord, guest: Guest | None = None
) -> EffectiveMode:
    """The conversation's override, else the guest's, else the channel's mode.

    The most specific wins: a manager who sets one conversation to manual means
    that conversation, whatever the guest's own mode. *guest* is the
    conversation's guest when the caller has it already (else its mode is read).
    """
    if guest is not None:
        guest_mode = guest.mode_override
    elif conversation.guest_id is not None:
        guest_mode = await services.store.guest_mode(conversation.hotel, conversation.guest_id)
    else:
        guest_mode = None
    config = await services.store.get_channel_config(conversation.hotel, conversation.channel)
    channel = channel_mode(None if config is None else config.settings)
    if conversation.mode_override is not None:
        mode, source = conversation.mode_override, ModeSource.CONVERSATION
    elif guest_mode is not None:
        mode, source = guest_mode, ModeSource.GUEST
    else:
        mode, source = channel, ModeSource.CHANNEL
    return EffectiveMode(mode, source, conversation.mode_override, guest_mode, channel)
