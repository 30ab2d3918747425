"""Begasist's shared data models: names, settings, messages, conversations."""

from begasist_core.models.changes import (
    MessageChange,
    MessageChanges,
    MessageDeletion,
    MessageEdit,
    MessageReaction,
    Reaction,
    TextVersion,
)
from begasist_core.models.context import (
    BookingContext,
    InteractiveAnswer,
    InteractiveContent,
    MessageContext,
)
from begasist_core.models.conversations import Conversation, ConversationStatus
from begasist_core.models.ids import new_id
from begasist_core.models.messages import (
    Attachment,
    AttachmentKind,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageTemplate,
    utc_now,
)
from begasist_core.models.names import (
    ChannelName,
    HotelSlug,
    InvalidName,
    validate_channel_name,
    validate_hotel_slug,
)
from begasist_core.models.settings import ChannelSettings, ReplyMode
from begasist_core.models.translations import FieldTranslation

__all__ = [
    "Attachment",
    "AttachmentKind",
    "BookingContext",
    "ChannelName",
    "ChannelSettings",
    "Conversation",
    "ConversationStatus",
    "DeliveryStatus",
    "Direction",
    "FieldTranslation",
    "GuestIdentity",
    "HotelSlug",
    "InteractiveAnswer",
    "InteractiveContent",
    "InvalidName",
    "Message",
    "MessageChange",
    "MessageChanges",
    "MessageContext",
    "MessageDeletion",
    "MessageEdit",
    "MessageReaction",
    "MessageTemplate",
    "Reaction",
    "ReplyMode",
    "TextVersion",
    "new_id",
    "utc_now",
    "validate_channel_name",
    "validate_hotel_slug",
]
