"""Bus throughput: publish + consume + ack, one producer process and one consumer process.

The producer builds each ``message.received`` envelope as pydantic models
(``make_event``) and publishes them with ``Publisher.publish_many`` in
pipelined chunks; the consumer is a ``StreamConsumer`` that decodes and
validates every entry and hands it to a no-op handler, acking per batch.
events/s = N / (first publish -> last ack). In the same run, redis-benchmark
XADD against the same server gives the yardstick.

    hatch run python bench/bus_throughput.py [--events 200000] [--event config.changed]

Redis from BEGASIST_REDIS_URL (default redis://127.0.0.1:6379/0). Every key it
writes is under a private prefix and deleted at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shlex
import statistics
import subprocess
import time
import uuid
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import anyio
from begasist_core import (
    ConfigChanged,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
    make_event,
)
from begasist_core.bus import (
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Publisher,
    StreamConsumer,
    redis_from_url,
)
from begasist_core.events import Event, StreamNames
from redis.utils import HIREDIS_AVAILABLE

GROUP = "bench"


def build_event(kind: str, n: int, guest: GuestIdentity) -> Event:
    """Envelope *n* of the run, built and validated as pydantic models."""
    if kind == "config.changed":
        return make_event("plaza", ConfigChanged(version=n))
    message = Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key="+34600000000",
        direction=Direction.INBOUND,
        guest=guest,
        text=f"Is breakfast included? ({n})",
        provider_message_id=f"wamid.{n}",
    )
    return make_event("plaza", MessageReceived(message=message))


def produce(url: str, prefix: str, kind: str, total: int, chunk: int, start: Connection) -> None:
    """Wait for the go, then build and publish *total* events; send back the start time."""

    async def main() -> float:
        redis = redis_from_url(url)
        names = StreamNames(prefix=prefix)
        # Never trim below what is published: trimming would drop unconsumed entries.
        publisher = Publisher(redis, maxlen=total * 2)
        guest = GuestIdentity(channel="whatsapp", address="+34600000000")
        start.recv()
        began = time.monotonic()
        for first in range(0, total, chunk):
            events = [build_event(kind, n, guest) for n in range(first, min(first + chunk, total))]
            await publisher.publish_many(names.events, events)
        await redis.aclose()
        return began

    start.send(anyio.run(main))


def consume(url: str, prefix: str, total: int, batch_size: int, ready: Connection) -> None:
    """Consume until *total* events were handled and acked; send back the end time."""

    async def main() -> float:
        redis = redis_from_url(url)
        names = StreamNames(prefix=prefix)
        handled = 0

        async def handler(event: Event, delivery: Delivery) -> None:
            nonlocal handled
            handled += 1
            if handled == total:
                consumer.stop()  # run() acks this batch, then returns

        consumer = StreamConsumer(
            redis,
            stream=names.events,
            group=GROUP,
            consumer="bench-consumer",
            handler=handler,
            dead_letters=DeadLetters(redis, names),
            options=ConsumerOptions(batch_size=batch_size),
        )
        async with anyio.create_task_group() as group:
            await group.start(consumer.run)
            ready.send("ready")
        finished = time.monotonic()
        await redis.aclose()
        return finished

    ready.send(anyio.run(main))


def bus_rate(url: str, prefix: str, kind: str, total: int, batch_size: int, chunk: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    producer_end, producer_pipe = spawn.Pipe()
    consumer_end, consumer_pipe = spawn.Pipe()
    consumer = spawn.Process(target=consume, args=(url, prefix, total, batch_size, consumer_pipe))
    producer = spawn.Process(target=produce, args=(url, prefix, kind, total, chunk, producer_pipe))
    consumer.start()
    producer.start()
    assert consumer_end.recv() == "ready"
    # CLOCK_MONOTONIC is system-wide on Linux: the two processes' times compare.
    producer_end.send("go")
    began = producer_end.recv()
    finished = consumer_end.recv()
    producer.join()
    consumer.join()
    return total / (finished - began)


def redis_benchmark_rate(url: str, stream: str, total: int, pipeline: int) -> tuple[str, float]:
    parts = urlsplit(url)
    command = [
        "redis-benchmark",
        *("-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)),
        *("-c", "50", "-n", str(total), "-P", str(pipeline), "-q"),
        *("XADD", stream, "*", "f", "v"),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.findall(r"([\d.]+) requests per second", output)
    return shlex.join(command), float(rate[-1])


def clean(url: str, prefix: str, *, expected: int | None = None) -> None:
    """Delete the run's keys; with *expected*, first check every event was acked."""

    async def main() -> None:
        redis = redis_from_url(url)
        names = StreamNames(prefix=prefix)
        try:
            if expected is not None:
                length = await redis.xlen(names.events)
                pending = (await redis.xpending(names.events, GROUP))["pending"]
                dead = await redis.xlen(names.dead)
                if (length, pending, dead) != (expected, 0, 0):
                    raise SystemExit(f"broken run: {length=} {pending=} {dead=}")
        finally:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()

    anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--event",
        choices=("message.received", "config.changed"),
        default="message.received",
        help="what to publish: a guest message (~600 B of JSON) or a tiny config.changed",
    )
    parser.add_argument("--batch-size", type=int, default=200, help="consumer XREADGROUP COUNT")
    parser.add_argument("--chunk", type=int, default=500, help="events per publish_many call")
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    url = os.environ.get("BEGASIST_REDIS_URL", "redis://127.0.0.1:6379/0")
    total = arguments.events

    print(
        f"bus: {total:,} {arguments.event} events, consumer batch {arguments.batch_size}, "
        f"publish chunk {arguments.chunk}, hiredis parser: {HIREDIS_AVAILABLE}"
    )
    rates = []
    for run in range(arguments.runs):
        prefix = f"bench-{uuid.uuid4().hex[:12]}"
        try:
            rate = bus_rate(
                url, prefix, arguments.event, total, arguments.batch_size, arguments.chunk
            )
        finally:
            clean(url, prefix, expected=total)
        rates.append(rate)
        print(f"  run {run + 1}: {rate:,.0f} events/s (publish + consume + ack)")

    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        yardsticks = [redis_benchmark_rate(url, f"{prefix}:xadd", total, p) for p in (1, 16)]
    finally:
        clean(url, prefix)
    for command, rate in yardsticks:
        print(f"redis-benchmark: {rate:,.0f} XADD/s   {command}")
    (_, plain), (_, piped) = yardsticks
    print(
        f"bus / redis-benchmark: {statistics.median(rates) / plain:.2f} (median run vs -P 1), "
        f"{statistics.median(rates) / piped:.2f} (vs -P 16)"
    )


if __name__ == "__main__":
    main()
