"""Fixtures for the bus tests: the test's dead letters and publisher on the real server."""

from __future__ import annotations

import pytest
from begasist_core.bus import DeadLetters, Publisher
from begasist_core.events import StreamNames
from redis.asyncio import Redis


@pytest.fixture
def dead_letters(begasist_redis: Redis, begasist_names: StreamNames) -> DeadLetters:
    return DeadLetters(begasist_redis, begasist_names)


@pytest.fixture
def publisher(begasist_redis: Redis) -> Publisher:
    return Publisher(begasist_redis)
