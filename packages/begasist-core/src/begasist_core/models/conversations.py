"""A conversation: one guest thread on one channel of one hotel."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from begasist_core.models.ids import new_id
from begasist_core.models.messages import GuestIdentity, utc_now
from begasist_core.models.names import ChannelName, HotelSlug
from begasist_core.models.settings import ReplyMode

__all__ = ["Conversation", "ConversationStatus"]


class ConversationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Conversation(BaseModel):
    """A thread with one guest on one channel, keyed by ``(hotel, channel, key)``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    hotel: HotelSlug
    channel: ChannelName
    key: Annotated[str, Field(min_length=1, max_length=512)]
    guest: GuestIdentity
    status: ConversationStatus = ConversationStatus.OPEN
    assignee: Annotated[str | None, Field(max_length=200)] = None
    mode_override: ReplyMode | None = None
    """A per-conversation override of the channel's reply mode."""
    created_at: AwareDatetime = Field(default_factory=utc_now)
    last_message_at: AwareDatetime | None = None
