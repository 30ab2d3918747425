"""An :class:`AstraDatabase` for one test: real Astra when configured, else the local stand-in.

With ``ASTRA_DB_API_ENDPOINT`` and ``ASTRA_DB_APPLICATION_TOKEN`` set (and
``ASTRA_DB_KEYSPACE``, default ``default_keyspace``), tests use that database's
collections named ``t_<collection>``, emptied before each test (and dropped and
made again when :data:`COLLECTIONS` changes their indexing): point them at a
database kept for tests, with room for ten collections, and run them one
process at a time. Otherwise every test gets a keyspace of its own on one stand-in per session.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

import anyio
from astrapy import DataAPIClient
from begasist_suite.store.astra import AstraDatabase
from begasist_suite.store.documents import COLLECTIONS

from tests.suite.store.data_api_standin import running_data_api_standin

__all__ = [
    "ON_REAL_ASTRA",
    "STANDIN_TOKEN",
    "astra_database",
    "real_astra",
    "standin_endpoint",
    "standin_keyspace",
    "token",
]

STANDIN_TOKEN = "AstraCS:standin-token"
REAL_ASTRA_PREFIX = "t_"

_standin_lock = threading.Lock()
_standin: list[str] = []  # the session's stand-in endpoint, once started


ON_REAL_ASTRA = bool(
    os.environ.get("ASTRA_DB_API_ENDPOINT") and os.environ.get("ASTRA_DB_APPLICATION_TOKEN")
)
"""Whether the Astra tests run against the real Astra database the environment names."""


def token() -> str:
    """The token that opens the database :func:`astra_database` yields."""
    return os.environ["ASTRA_DB_APPLICATION_TOKEN"] if ON_REAL_ASTRA else STANDIN_TOKEN


def real_astra(*, collection_prefix: str = REAL_ASTRA_PREFIX) -> AstraDatabase | None:
    """The configured real Astra database, or None when the variables are unset."""
    return AstraDatabase.from_environment(collection_prefix=collection_prefix)


def _start_standin() -> str:
    with _standin_lock:
        if not _standin:
            # Stopped at interpreter exit (its thread is a daemon, so exit does not wait for it).
            stack = ExitStack()
            _standin.append(stack.enter_context(running_data_api_standin(STANDIN_TOKEN)))
            atexit.register(stack.close)
        return _standin[0]


async def standin_endpoint() -> str:
    """The API endpoint of this session's stand-in, started on first use."""
    return await anyio.to_thread.run_sync(_start_standin)


def standin_keyspace(test_id: str) -> str:
    """A keyspace name no other test uses, readable after the test it belongs to."""
    readable = re.sub(r"[^a-z0-9]+", "_", test_id.lower()).strip("_")[-30:]
    return f"k{uuid.uuid4().hex[:12]}_{readable}"


async def _drop_test_collections(database: AstraDatabase) -> None:
    async with DataAPIClient().get_async_database(
        database.api_endpoint, token=token(), keyspace=database.keyspace
    ) as astrapy_database:
        for name in await astrapy_database.list_collection_names():
            if name.startswith(REAL_ASTRA_PREFIX):
                await astrapy_database.drop_collection(name)


@asynccontextmanager
async def astra_database(test_id: str) -> AsyncIterator[AstraDatabase]:
    """A migrated, empty :class:`AstraDatabase` for the test *test_id*, closed afterwards."""
    database = real_astra()
    shared = database is not None  # real Astra's t_ collections outlive the test
    if database is None:
        database = AstraDatabase(
            await standin_endpoint(), STANDIN_TOKEN, keyspace=standin_keyspace(test_id)
        )
    try:
        try:
            await database.migrate()
        except RuntimeError:
            if not shared:
                raise
            # COLLECTIONS changed since the t_ collections were made: they hold only test data.
            await _drop_test_collections(database)
            await database.migrate()
        if shared:
            for name in COLLECTIONS:
                await database.collection(name).delete_many({})
        yield database
    finally:
        await database.aclose()
