"""SQLite specifics: migrations from every earlier schema version, and index use."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest
from anyio.abc import TaskGroup
from begasist_suite.store.search import query_tokens
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


async def test_conversations_from_before_search_are_found_after_the_upgrade(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.sqlite3"
    guest = {"channel": "whatsapp", "address": "+34 600 123 456", "display_name": "María López"}
    with sqlite3.connect(path) as connection:
        for step in MIGRATIONS[:4]:
            step(connection)
        connection.execute("PRAGMA user_version = 4")
        connection.execute(
            "INSERT INTO conversations (_id, doc) VALUES ('c1', ?)",
            (json.dumps({"_id": "c1", "hotel": "plaza", "guest": guest}),),
        )
        connection.execute(
            "INSERT INTO conversations (_id, doc) VALUES ('c2', ?)",
            (json.dumps({"_id": "c2", "hotel": "plaza", "guest": {"not": "a guest"}}),),
        )
    database = SqliteDatabase(path)
    await database.migrate()
    try:
        conversations = database.collection("conversations")
        for query in ("mar lop", "600 12"):
            found = await conversations.find({"search": {"$all": query_tokens(query)}})
            assert [d["_id"] for d in found] == ["c1"], query
        unreadable = await conversations.find_one({"_id": "c2"})
        assert unreadable is not None
        # Left as it was by the search step (the mode filter's step adds its nulls).
        added = ("guest_mode", "mode_override")
        assert {k: v for k, v in unreadable.items() if k not in added} == {
            "_id": "c2",
            "hotel": "plaza",
            "guest": {"not": "a guest"},
        }
    finally:
        await database.aclose()


async def test_conversations_from_before_the_mode_filter_get_their_guests_mode(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.sqlite3"
    with sqlite3.connect(path) as connection:
        for step in MIGRATIONS[:5]:
            step(connection)
        connection.execute("PRAGMA user_version = 5")
        for key, doc in (
            ("g1", {"_id": "g1", "hotel": "plaza", "type": "guest", "mode_override": "manual"}),
            ("g2", {"_id": "g2", "hotel": "plaza", "type": "guest", "mode_override": None}),
        ):
            connection.execute(
                "INSERT INTO guests (_id, doc) VALUES (?, ?)", (key, json.dumps(doc))
            )
        for key, guest, own in (("c1", "g1", None), ("c2", "g2", "automatic"), ("c3", None, None)):
            doc = {"_id": key, "hotel": "plaza", "guest_id": guest, "sort_key": key}
            if own is not None:
                doc["mode_override"] = own
            connection.execute(
                "INSERT INTO conversations (_id, doc) VALUES (?, ?)", (key, json.dumps(doc))
            )
    database = SqliteDatabase(path)
    await database.migrate()
    try:
        conversations = database.collection("conversations")
        stored = {d["_id"]: d for d in await conversations.find({"hotel": "plaza"})}
        assert stored["c1"]["guest_mode"] == "manual"
        assert stored["c2"]["guest_mode"] is None
        assert stored["c3"]["guest_mode"] is None
        # Explicit nulls, as the store writes them (Astra matches null only when written).
        assert {"guest_mode", "mode_override"} <= stored["c3"].keys()
        assert stored["c2"]["mode_override"] == "automatic"
        manual = await conversations.find({"mode_override": None, "guest_mode": "manual"})
        assert [d["_id"] for d in manual] == ["c1"]
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
            # The inbox's filters read only the conversations they show.
            *(
                "SELECT doc FROM conversations WHERE json_extract(doc, '$.hotel') = 'h'"
                f" AND json_extract(doc, '$.{field}') = 'x'"
                " ORDER BY json_extract(doc, '$.sort_key') DESC"
                for field in ("status", "assignee", "channel", "mode_override", "guest_mode")
            ),
            # The relay's scan and the backlog count read the outbox's partial indexes.
            "SELECT doc FROM messages WHERE json_extract(doc, '$.outbox_due') <= 't'"
            " ORDER BY json_extract(doc, '$.outbox_due') LIMIT 100",
            "SELECT count(*) FROM messages WHERE json_extract(doc, '$.hotel') = 'h'"
            " AND json_extract(doc, '$.outbox_due') > ''",
        ):
            plan = await database.read(
                lambda c, sql=sql: " ".join(
                    str(row) for row in c.execute("EXPLAIN QUERY PLAN " + sql)
                )
            )
            assert "USING INDEX" in plan, (sql, plan)
            assert "outbox_due" in plan or "outbox_due" not in sql, (sql, plan)
            assert "TEMP B-TREE" not in plan, (sql, plan)
            for field in ("status", "assignee", "channel", "mode_override", "guest_mode"):
                assert f"'$.{field}') = 'x'" not in sql or f"_{field}_sort_key" in plan, plan
    finally:
        await database.aclose()


async def test_a_unit_of_work_commits_once_and_a_failing_savepoint_undoes_only_itself(
    tmp_path: Path,
) -> None:
    database = SqliteDatabase(tmp_path / "unit.sqlite3")
    await database.migrate()
    hotels = database.collection("hotels")

    async def failing_event() -> None:
        async with database.savepoint():
            await hotels.insert({"_id": "sol"})
            raise RuntimeError("this event fails")

    try:
        async with database.unit_of_work():
            async with database.savepoint():
                await hotels.insert({"_id": "plaza"})
            with pytest.raises(RuntimeError):
                await failing_event()
            # Inside the unit, its own writes are visible; other readers see none yet.
            assert await hotels.count({}) == 1
            assert await _count_in_another_task(database) == 0
        assert sorted(d["_id"] for d in await hotels.find({})) == ["plaza"]
    finally:
        await database.aclose()


async def test_a_unit_of_work_that_raises_leaves_nothing(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "rollback.sqlite3")
    await database.migrate()
    hotels = database.collection("hotels")

    async def failing_batch() -> None:
        async with database.unit_of_work():
            await hotels.insert({"_id": "plaza"})
            raise RuntimeError("the batch failed")

    try:
        with pytest.raises(RuntimeError):
            await failing_batch()
        assert await hotels.count({}) == 0
        await hotels.insert({"_id": "sol"})  # the connection is usable again
        assert await hotels.count({}) == 1
    finally:
        await database.aclose()


async def test_another_tasks_write_waits_for_the_unit_and_lands_outside_it(
    tmp_path: Path,
) -> None:
    database = SqliteDatabase(tmp_path / "wait.sqlite3")
    await database.migrate()
    hotels = database.collection("hotels")
    order: list[str] = []

    async def other_writer() -> None:
        await hotels.insert({"_id": "sol"})
        order.append("other wrote")

    async def unit_rolled_back(tasks: TaskGroup) -> None:
        async with database.unit_of_work():
            tasks.start_soon(other_writer)
            await anyio.sleep(0.05)  # the other task runs, and must wait
            order.append("unit still open")
            await hotels.insert({"_id": "plaza"})
            raise RuntimeError("roll the unit back")

    try:
        async with anyio.create_task_group() as tasks:
            with pytest.raises(RuntimeError):
                await unit_rolled_back(tasks)
        # The unit's write is gone; the other task's, made after it, stays.
        assert order == ["unit still open", "other wrote"]
        assert [d["_id"] for d in await hotels.find({})] == ["sol"]
    finally:
        await database.aclose()


async def _count_in_another_task(database: SqliteDatabase) -> int:
    result: list[int] = []

    async def count() -> None:
        result.append(await database.collection("hotels").count({}))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(count)
    return result[0]


async def test_after_commit_actions_wait_for_the_commit_and_die_with_a_rollback(
    tmp_path: Path,
) -> None:
    database = SqliteDatabase(tmp_path / "after.sqlite3")
    await database.migrate()
    ran: list[str] = []

    async def failing_event() -> None:
        async with database.savepoint():
            database.after_commit(lambda: ran.append("rolled back event"))
            raise RuntimeError("this event fails")

    async def failing_batch() -> None:
        async with database.unit_of_work():
            database.after_commit(lambda: ran.append("rolled back batch"))
            raise RuntimeError("the batch failed")

    try:
        database.after_commit(lambda: ran.append("outside a unit"))
        assert ran == ["outside a unit"]
        async with database.unit_of_work():
            database.after_commit(lambda: ran.append("committed"))
            with pytest.raises(RuntimeError):
                await failing_event()
            assert ran == ["outside a unit"]  # not before the commit
        with pytest.raises(RuntimeError):
            await failing_batch()
        assert ran == ["outside a unit", "committed"]
    finally:
        await database.aclose()
