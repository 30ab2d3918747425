"""Begasist core: the public API channel plugins and the suite code against.

A channel package imports only what this module exports.
"""

from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_from_url
from begasist_core.bus.consumer import ConsumerOptions, Delivery, Handler, StreamConsumer
from begasist_core.bus.dead_letters import DeadLetter, DeadLetters, UnknownDeadLetter
from begasist_core.bus.idempotency import Idempotency, InFlight
from begasist_core.bus.publisher import Publisher
from begasist_core.events import (
    ChannelCommand,
    ChannelState,
    ChannelStateChanged,
    ConfigChanged,
    Event,
    EventDecodeError,
    MessageReceived,
    MessageSend,
    MessageStatusChanged,
    StreamNames,
    WebhookReceived,
    decode_event,
    encode_event,
    make_event,
)
from begasist_core.hookspecs import ENTRY_POINT_GROUP
from begasist_core.models import (
    Attachment,
    AttachmentKind,
    ChannelName,
    ChannelSettings,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    HotelSlug,
    InvalidName,
    Message,
    ReplyMode,
    new_id,
    utc_now,
)
from begasist_core.plugins.channel import (
    Capabilities,
    Channel,
    InboundPayload,
    SendReceipt,
    TextOverflow,
    WebhookRequest,
    WebhookResponse,
)
from begasist_core.plugins.context import ChannelContext, ChannelKeys, SentLedger
from begasist_core.plugins.errors import (
    ChannelError,
    MessageTooLong,
    ParseError,
    PermanentSendError,
    PluginLoadError,
    UnsupportedCommand,
    WebhookNotSupported,
    WebhookRejected,
    WebhookSignatureError,
)
from begasist_core.plugins.manager import PluginInfo, PluginManager, PluginStatus, UnknownChannel
from begasist_core.plugins.markers import hookimpl
from begasist_core.plugins.responder import ReplyDraft, ReplyRequest, Responder

__version__ = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "REDIS_UNAVAILABLE",
    "Attachment",
    "AttachmentKind",
    "Capabilities",
    "Channel",
    "ChannelCommand",
    "ChannelContext",
    "ChannelError",
    "ChannelKeys",
    "ChannelName",
    "ChannelSettings",
    "ChannelState",
    "ChannelStateChanged",
    "ConfigChanged",
    "ConsumerOptions",
    "Conversation",
    "ConversationStatus",
    "DeadLetter",
    "DeadLetters",
    "Delivery",
    "DeliveryStatus",
    "Direction",
    "Event",
    "EventDecodeError",
    "GuestIdentity",
    "Handler",
    "HotelSlug",
    "Idempotency",
    "InFlight",
    "InboundPayload",
    "InvalidName",
    "Message",
    "MessageReceived",
    "MessageSend",
    "MessageStatusChanged",
    "MessageTooLong",
    "ParseError",
    "PermanentSendError",
    "PluginInfo",
    "PluginLoadError",
    "PluginManager",
    "PluginStatus",
    "Publisher",
    "RedisOutage",
    "ReplyDraft",
    "ReplyMode",
    "ReplyRequest",
    "Responder",
    "SendReceipt",
    "SentLedger",
    "StreamConsumer",
    "StreamNames",
    "TextOverflow",
    "UnknownChannel",
    "UnknownDeadLetter",
    "UnsupportedCommand",
    "WebhookNotSupported",
    "WebhookReceived",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookResponse",
    "WebhookSignatureError",
    "__version__",
    "decode_event",
    "encode_event",
    "hookimpl",
    "make_event",
    "new_id",
    "redis_from_url",
    "utc_now",
]
