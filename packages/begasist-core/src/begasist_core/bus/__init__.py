"""The Redis Streams bus: publish, consume with consumer groups, dead letters, idempotency."""

from begasist_core.bus.connection import (
    REDIS_UNAVAILABLE,
    RedisOutage,
    redis_from_url,
    redis_label,
)
from begasist_core.bus.consumer import (
    BatchScope,
    ConsumerOptions,
    Delivery,
    Handler,
    RejectedEvent,
    StreamConsumer,
)
from begasist_core.bus.dead_letters import DeadLetter, DeadLetters, UnknownDeadLetter
from begasist_core.bus.idempotency import Idempotency, InFlight
from begasist_core.bus.publisher import DEFAULT_MAXLEN, ENTRY_FIELD, Publisher
from begasist_core.bus.trimming import StreamTrimmer

__all__ = [
    "DEFAULT_MAXLEN",
    "ENTRY_FIELD",
    "REDIS_UNAVAILABLE",
    "BatchScope",
    "ConsumerOptions",
    "DeadLetter",
    "DeadLetters",
    "Delivery",
    "Handler",
    "Idempotency",
    "InFlight",
    "Publisher",
    "RedisOutage",
    "RejectedEvent",
    "StreamConsumer",
    "StreamTrimmer",
    "UnknownDeadLetter",
    "redis_from_url",
    "redis_label",
]
