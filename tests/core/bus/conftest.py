"""Fixtures for the bus tests: the test's dead letters and publisher on the real server."""

from __future__ import annotations

import pytest
from begasist_core.bus import DeadLetter, DeadLetters, Publisher
from begasist_core.events import StreamNames
from redis.asyncio import Redis


@pytest.fixture
def dead_letters(begasist_redis: Redis, begasist_names: StreamNames) -> DeadLetters:
    return DeadLetters(begasist_redis, begasist_names)


@pytest.fixture
def publisher(begasist_redis: Redis) -> Publisher:
    return Publisher(begasist_redis)


async def every_dead_letter(dead_letters: DeadLetters, hotel: str = "plaza") -> list[DeadLetter]:
    """The dead letters of no hotel and of *hotel* (the tests' events are plaza's), newest
    first: where the bus buries depends on what the entry says of its hotel."""
    found = [*await dead_letters.list(), *await dead_letters.list(hotel=hotel)]
    # Two streams' ids can be equal (same millisecond): the burial time orders them.
    return sorted(found, key=lambda d: d.failed_at, reverse=True)
