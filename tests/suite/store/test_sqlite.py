"""SQLite specifics: migrations from every earlier schema version, and index use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from begasist_suite.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteDatabase

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
async def test_a_database_at_any_earlier_version_migrates_and_keeps_its_data(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        for step in MIGRATIONS[:start]:
            step(connection)
        connection.execute(f"PRAGMA user_version = {start}")
        if start:
            connection.execute(
                "INSERT INTO hotels (_id, doc) VALUES ('plaza', '{\"_id\": \"plaza\"}')"
            )
    database = SqliteDatabase(path)
    await database.migrate()
    try:
        if start:
            assert await database.collection("hotels").find_one({"_id": "plaza"}) == {
                "_id": "plaza"
            }
        version = await database.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        assert version == SCHEMA_VERSION
    finally:
        await database.aclose()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    database = SqliteDatabase(path)
    with pytest.raises(RuntimeError, match="upgrade begasist-suite"):
        await database.migrate()
    await database.aclose()


async def test_the_hot_lookups_use_an_index(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "plan.sqlite3")
    await database.migrate()
    try:
        for sql in (
            "SELECT doc FROM messages WHERE json_extract(doc, '$.hotel') = 'h'"
            " AND json_extract(doc, '$.id') = 'x'",
            "SELECT doc FROM messages WHERE json_extract(doc, '$.conversation_id') = 'c'"
            " ORDER BY json_extract(doc, '$.sort_key')",
            "SELECT doc FROM conversations WHERE json_extract(doc, '$.hotel') = 'h'"
            " ORDER BY json_extract(doc, '$.sort_key') DESC",
        ):
            plan = await database.read(
                lambda c, sql=sql: " ".join(
                    str(row) for row in c.execute("EXPLAIN QUERY PLAN " + sql)
                )
            )
            assert "USING INDEX" in plan, (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)
    finally:
        await database.aclose()
