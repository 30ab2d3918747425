"""A consumer process for the kill -9 test: applies effects once each, then hangs mid-batch.

Run as ``python consumer_child.py URL PREFIX STREAM GROUP NAME HANG_AFTER BATCH``. After
HANG_AFTER effects it sets ``PREFIX:child-hung`` and blocks, so the test can
SIGKILL it with a batch half handled and nothing of it acked.
"""

from __future__ import annotations

import sys

import anyio
from begasist_core.bus import (
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Idempotency,
    StreamConsumer,
    redis_from_url,
)
from begasist_core.events import Event, StreamNames


async def main(
    url: str, prefix: str, stream: str, group: str, name: str, hang_after: str, batch: str
) -> None:
    redis = redis_from_url(url)
    names = StreamNames(prefix=prefix)
    idempotency = Idempotency(redis, names, namespace="effects")
    effects = names.key("effects")
    applied = 0

    async def handler(event: Event, delivery: Delivery) -> None:
        nonlocal applied
        if applied == int(hang_after):
            await redis.set(names.key("child-hung"), applied)
            await anyio.sleep_forever()
        await idempotency.once(event.key, lambda pipe: pipe.hincrby(effects, event.key, 1))
        applied += 1

    consumer = StreamConsumer(
        redis,
        stream=stream,
        group=group,
        consumer=name,
        handler=handler,
        dead_letters=DeadLetters(redis, names),
        options=ConsumerOptions(batch_size=int(batch)),
    )
    await consumer.run()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:])
