"""The ``database`` fixture: every document backend, fresh and migrated per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.sqlite import SqliteDatabase

BACKENDS = ("sqlite", "astra")


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DocumentDatabase]:
    if request.param == "sqlite":
        sqlite = SqliteDatabase(tmp_path / "store.sqlite3")
        await sqlite.migrate()
        try:
            yield sqlite
        finally:
            await sqlite.aclose()
        return
    from tests.suite.store.astra_fixture import astra_database

    async with astra_database(request.node.nodeid) as astra:
        yield astra
