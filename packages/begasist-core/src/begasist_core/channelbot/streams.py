"""How a bot consumes one hotel's streams: its consumer group, partitions and takeover."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.asyncio import Redis

from begasist_core.bus.consumer import ConsumerOptions, Handler, StreamConsumer
from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.channelbot.config import BotConfig
from begasist_core.events.envelope import Event, MessageSendEvent

__all__ = ["CONSUMER_GROUP", "conversation_of", "event_id_of", "hotel_consumer"]

CONSUMER_GROUP = "channelbot"

IDLE_READ_SECONDS = 5.0
"""How long a hotel's consumer blocks in XREADGROUP when its stream is idle.

An entry that arrives wakes the read at once, so this costs no latency; the
consumer wakes anyway for its upkeep (reclaim every 5 s) and a stop or a lost
lease cancels the read. It is what an idle hotel costs: at the bus's 1 s
default, three re-issued reads per hotel per second made one bot with 250
idle hotels spend a quarter of a core (bench/fleet_1000.py)."""


def hotel_consumer(
    redis: Redis,
    *,
    stream: str,
    instance: str,
    handler: Handler,
    dead_letters: DeadLetters,
    config: BotConfig,
    guard: Callable[[], None],
    concurrency: int = 1,
    partition: Callable[[Event], str] | None = None,
    logger: logging.Logger,
) -> StreamConsumer:
    """A consumer for a bot that has just taken the hotel's lease.

    It takes over at once every entry the group's other consumers left
    pending: the lease proves they stopped (the previous holder counted its
    lease valid for one TTL from its last renewal, and the key expired
    before this bot could take it), so waiting ``claim_idle_seconds`` would
    only delay the dead bot's sends. *guard* (the lease check) runs before
    every read, reclaim and entry, so this never happens without the lease.
    """
    return StreamConsumer(
        redis,
        stream=stream,
        group=CONSUMER_GROUP,
        consumer=instance,
        handler=handler,
        dead_letters=dead_letters,
        options=ConsumerOptions(
            block_seconds=IDLE_READ_SECONDS,
            claim_idle_seconds=config.claim_idle_seconds,
            max_deliveries=config.max_deliveries,
            concurrency=concurrency,
        ),
        logger=logger,
        guard=guard,
        partition=partition,
        take_over=True,
    )


def conversation_of(event: Event) -> str:
    """Outbound messages of one conversation are sent in order; others side by side."""
    if isinstance(event, MessageSendEvent):
        message = event.data.message
        return f"{message.channel}:{message.conversation_key}"
    return event.id


def event_id_of(event: Event) -> str:
    """Webhooks are independent of each other (a slow media download holds up only its own)."""
    return event.id
