"""The embedded SQLite backend of the document layer: one file, migrations, WAL.

Each collection is a table ``(_id TEXT PRIMARY KEY, doc TEXT)`` holding JSON,
with an expression index on every field the store queries.

The statements run on the event loop's thread, not in a worker thread. That
is a measured choice: a point read or write on an indexed table takes tens of
microseconds, while a hop to a worker thread and back costs several hundred
on a busy two-core host; running inline took the event consumer from about
490 to about 1,250 stored messages per second (``bench/consumer_apply.py``,
docs/benchmarks.md). The price is that a slow statement (a WAL checkpoint, a
lock held by another process up to ``busy_timeout``) holds up the loop for
that long.

A write (an update's read, change and write) is one transaction, so every
method is atomic. :meth:`SqliteDatabase.unit_of_work` widens that to many
operations: the event consumer applies a whole batch of events in one
transaction (one commit instead of two or three per event: the commits are
what a write costs here), each event in a savepoint so a failing one undoes
only itself. Reads outside a unit use a second connection and see the last
committed state; writes of other tasks wait for the unit to end.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio
import anyio.lowlevel

from begasist_suite.store.documents import (
    COLLECTIONS,
    DuplicateDocument,
    Filter,
    Sort,
    Update,
)
from begasist_suite.store.sqlite_migrations import MIGRATIONS, SCHEMA_VERSION
from begasist_suite.store.updates import UnsupportedQuery, apply_update, document_for_upsert

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteDatabase"]

T = TypeVar("T")

log = logging.getLogger(__name__)

_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]*$")
_COMPARISONS: Final = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


class SqliteDatabase:
    """A SQLite file (or ``:memory:``) holding the store's collections."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._connection: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        # Held by each write transaction and by a unit of work for its whole span,
        # so no task ever issues a statement inside another task's transaction.
        self._lock = anyio.Lock()
        self._unit_task: int | None = None
        self._after_commit: list[Callable[[], None]] = []
        """The task whose unit of work is open. A task, not a context variable:
        a task started inside the unit inherits the unit's context but is not in it."""
        self._savepoints = 0

    def collection(self, name: str) -> SqliteCollection:
        if name not in COLLECTIONS:
            raise KeyError(f"no collection {name!r}")
        return SqliteCollection(self, name)

    async def migrate(self) -> None:
        """Open the file (creating it) and apply the migrations it has not had."""
        await self.run(_migrate)

    async def aclose(self) -> None:
        for connection in (self._reader, self._connection):
            if connection is not None:
                connection.close()
        self._reader = self._connection = None

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[None]:
        """One transaction around everything this task does inside; commit on a clean exit.

        Other tasks' writes wait for it, tasks it starts included (so a task
        inside must not wait for one it started that writes); their reads see
        the last committed state. A unit inside a unit is part of the outer one.
        """
        if self._in_unit():
            yield
            return
        async with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            self._unit_task = anyio.get_current_task().id
            try:
                yield
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            else:
                for action in self._after_commit:
                    _run_after_commit(action)
            finally:
                self._unit_task = None
                self._after_commit.clear()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run *action* once what this task wrote is committed: now outside a unit of
        work, after its commit inside one (and never if it, or the savepoint, rolls back)."""
        if self._in_unit():
            self._after_commit.append(action)
        else:
            _run_after_commit(action)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside a unit of work: undo what this block wrote if it raises. Else nothing."""
        if not self._in_unit():
            yield
            return
        connection = self._connect()
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        connection.execute(f"SAVEPOINT {name}")
        pending_actions = len(self._after_commit)
        try:
            yield
        except BaseException:
            del self._after_commit[pending_actions:]
            # After some errors (disk full, I/O) SQLite has rolled back the whole
            # transaction itself: there is no savepoint left, and the unit fails.
            if connection.in_transaction:
                connection.execute(f"ROLLBACK TO {name}")
                connection.execute(f"RELEASE {name}")
            raise
        connection.execute(f"RELEASE {name}")

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read-only *query*, outside any transaction (see the module docstring)."""
        await anyio.lowlevel.checkpoint()
        if self._in_unit():
            return query(self._connect())  # sees what this unit wrote so far
        if self.path == ":memory:":  # a second connection would open another database
            async with self._lock:
                return query(self._connect())
        return query(self._read_connection())

    async def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run *operation* inside one write transaction (see the module docstring)."""
        await anyio.lowlevel.checkpoint()
        if self._in_unit():
            return operation(self._connect())  # inside the unit's transaction
        async with self._lock:
            connection = self._connect()
            with connection:  # commits on success, rolls back on an exception
                connection.execute("BEGIN IMMEDIATE")
                return operation(connection)

    def _in_unit(self) -> bool:
        return self._unit_task is not None and self._unit_task == anyio.get_current_task().id

    def _read_connection(self) -> sqlite3.Connection:
        if self._reader is None:
            self._connect()  # the writer creates the file and turns WAL on first
            reader = sqlite3.connect(self.path, isolation_level=None)
            reader.execute("PRAGMA busy_timeout=2000")
            reader.execute("PRAGMA query_only=ON")
            self._reader = reader
        return self._reader

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE above.
            connection = sqlite3.connect(self.path, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL loses at most the last transactions on power loss, never corrupts (WAL).
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA cache_size=-32000")  # 32 MB of page cache
            # Another process (the admin CLI) may hold the write lock briefly.
            connection.execute("PRAGMA busy_timeout=2000")
            self._connection = connection
        return self._connection


def _run_after_commit(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:  # what follows a commit must not undo it, nor stop the others
        log.warning("an after-commit action failed", exc_info=True)


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database is at schema version {version}, newer than this suite's "
            f"{SCHEMA_VERSION}: upgrade begasist-suite"
        )
    for step in MIGRATIONS[version:]:
        step(connection)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class SqliteCollection:
    """One table of :class:`SqliteDatabase` (see ``documents.Collection``)."""

    def __init__(self, database: SqliteDatabase, name: str) -> None:
        self._database = database
        self._name = name
        self._fields = frozenset(COLLECTIONS[name]) | {"_id"}

    async def insert(self, document: Mapping[str, Any]) -> None:
        if "_id" not in document:
            raise UnsupportedQuery("a document needs an _id")
        text = json.dumps(document, separators=(",", ":"))

        def insert(connection: sqlite3.Connection) -> None:
            try:
                connection.execute(
                    f'INSERT INTO "{self._name}" (_id, doc) VALUES (?, ?)',
                    (document["_id"], text),
                )
            except sqlite3.IntegrityError:
                raise DuplicateDocument(f"{self._name}: _id {document['_id']!r} exists") from None

        await self._database.run(insert)

    async def find_one(self, filter: Filter) -> dict[str, Any] | None:
        found = await self.find(filter, limit=1)
        return found[0] if found else None

    async def find(
        self, filter: Filter, *, sort: Sort | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql, parameters = self._select(filter, sort, limit)

        def find(connection: sqlite3.Connection) -> list[dict[str, Any]]:
            return [json.loads(row[0]) for row in connection.execute(sql, parameters)]

        return await self._database.read(find)

    async def update_one(
        self, filter: Filter, update: Update, *, upsert: bool = False
    ) -> dict[str, Any] | None:
        sql, parameters = self._select(filter, None, 1, with_id=True)

        def update_one(connection: sqlite3.Connection) -> dict[str, Any] | None:
            row = connection.execute(sql, parameters).fetchone()
            if row is None:
                if not upsert:
                    return None
                document = document_for_upsert(filter, update)
                try:
                    connection.execute(
                        f'INSERT INTO "{self._name}" (_id, doc) VALUES (?, ?)',
                        (document["_id"], json.dumps(document, separators=(",", ":"))),
                    )
                except sqlite3.IntegrityError:
                    # The _id is taken by a document the rest of the filter did not match.
                    taken = document["_id"]
                    raise DuplicateDocument(f"{self._name}: _id {taken!r} exists") from None
                return document
            document = apply_update(json.loads(row[0]), update, inserting=False)
            connection.execute(
                f'UPDATE "{self._name}" SET doc = ? WHERE _id = ?',
                (json.dumps(document, separators=(",", ":")), row[1]),
            )
            return document

        return await self._database.run(update_one)

    async def delete_many(self, filter: Filter) -> int:
        where, parameters = self._where(filter)

        def delete_many(connection: sqlite3.Connection) -> int:
            return connection.execute(f'DELETE FROM "{self._name}"{where}', parameters).rowcount

        return await self._database.run(delete_many)

    async def count(self, filter: Filter) -> int:
        where, parameters = self._where(filter)

        def count(connection: sqlite3.Connection) -> int:
            row = connection.execute(f'SELECT count(*) FROM "{self._name}"{where}', parameters)
            return int(row.fetchone()[0])

        return await self._database.read(count)

    def _select(
        self, filter: Filter, sort: Sort | None, limit: int | None, *, with_id: bool = False
    ) -> tuple[str, list[Any]]:
        where, parameters = self._where(filter)
        columns = "doc, _id" if with_id else "doc"
        sql = f'SELECT {columns} FROM "{self._name}"{where}'
        if sort is not None:
            field, direction = sort
            if field == "_id":
                raise UnsupportedQuery("_id cannot be sorted on (Astra does not index it)")
            sql += f" ORDER BY {self._column(field)} {'ASC' if direction == 1 else 'DESC'}"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(int(limit))
        return sql, parameters

    def _where(self, filter: Filter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        parameters: list[Any] = []
        for field, condition in filter.items():
            column = self._column(field)
            if not isinstance(condition, Mapping):
                if condition is None:
                    clauses.append(f"{column} IS NULL")
                else:
                    clauses.append(f"{column} = ?")
                    parameters.append(_sql_value(condition))
                continue
            for operator, operand in condition.items():
                if operator == "$all":
                    if not isinstance(operand, list | tuple) or not operand:
                        raise UnsupportedQuery("$all takes a list of at least one value")
                    for value in operand:
                        # Array elements have no expression index: the other fields'
                        # indexes narrow the rows first (a hotel's conversations).
                        clauses.append(
                            f"EXISTS (SELECT 1 FROM json_each(doc, '$.{field}') WHERE value = ?)"
                        )
                        parameters.append(_sql_value(value))
                    continue
                if operator == "$in":
                    if not isinstance(operand, list | tuple):
                        raise UnsupportedQuery("$in takes a list")
                    if not operand:
                        clauses.append("0")
                        continue
                    clauses.append(f"{column} IN ({', '.join('?' * len(operand))})")
                    parameters.extend(_sql_value(value) for value in operand)
                elif field == "_id":
                    raise UnsupportedQuery("_id takes only equality and $in (as on Astra)")
                elif operator == "$nin":
                    if not isinstance(operand, list | tuple) or not operand:
                        raise UnsupportedQuery("$nin takes a list of at least one value")
                    # SQL's NOT IN is unknown for NULL; the Data API's $nin matches it.
                    marks = ", ".join("?" * len(operand))
                    clauses.append(f"({column} IS NULL OR {column} NOT IN ({marks}))")
                    parameters.extend(_sql_value(value) for value in operand)
                elif operator == "$ne":
                    clauses.append(f"{column} IS NOT ?")
                    parameters.append(_sql_value(operand))
                elif operator in _COMPARISONS:
                    clauses.append(f"{column} {_COMPARISONS[operator]} ?")
                    parameters.append(_sql_value(operand))
                else:
                    raise UnsupportedQuery(f"unsupported filter operator {operator!r}")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters

    def _column(self, field: str) -> str:
        if field not in self._fields or not _NAME.match(field):
            # Astra indexes only the declared fields; refusing here keeps SQLite honest.
            raise UnsupportedQuery(f"{self._name}: {field!r} is not an indexed field")
        return "_id" if field == "_id" else f"json_extract(doc, '$.{field}')"


def _sql_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise UnsupportedQuery(f"filters compare scalars, not {type(value).__name__}")
