"""Fixtures for a real Redis: the test server, a private key prefix per test, a client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from begasist_core.engine import EmbeddedEngine
from begasist_core.events.streams import StreamNames

__all__ = ["anyio_backend", "begasist_names", "begasist_redis", "begasist_redis_url"]

TEST_REDIS_URL_VARIABLE = "BEGASIST_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """redis-py's asyncio client pins the tests to anyio's asyncio backend."""
    return "asyncio"


@pytest.fixture(scope="session")
def begasist_redis_url() -> Iterator[str]:
    """``BEGASIST_TEST_REDIS_URL`` if set, else a private embedded engine for the session."""
    configured = os.environ.get(TEST_REDIS_URL_VARIABLE)
    if configured:
        yield configured
        return
    with EmbeddedEngine() as engine:
        yield engine.url


@pytest.fixture
def begasist_names() -> StreamNames:
    """Stream and key names under a prefix no other test (or run) shares."""
    return StreamNames(prefix=f"begasist-test-{uuid4().hex[:12]}")


@pytest.fixture
async def begasist_redis(
    anyio_backend: str, begasist_redis_url: str, begasist_names: StreamNames
) -> AsyncIterator[Redis]:
    """A client of the test server; the test's keys are deleted afterwards.

    It asks for ``anyio_backend`` so that anyio runs it for any test, also
    one not marked ``anyio``: otherwise one unmarked test breaks the fixture
    for the rest of the session.
    """
    client = Redis.from_url(begasist_redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{begasist_names.prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
