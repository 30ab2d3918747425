"""``begasist backup`` / ``restore``: consistent while written, restored, corruption refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from begasist_suite.cli import main
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.sqlite_backup import (
    BackupError,
    backup_sqlite,
    check_backup,
    restore_sqlite,
    store_in_use,
)

ROWS_PER_COMMIT = 2


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A migrated Begasist SQLite store (WAL mode, as the suite keeps it) with a table of ours."""
    path = tmp_path / "begasist.sqlite3"

    async def migrate() -> None:
        database = SqliteDatabase(path)
        await database.migrate()
        await database.aclose()

    anyio.run(migrate)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE backup_probe (id INTEGER PRIMARY KEY, batch INTEGER)")
    return path


def _rows(path: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT id, batch FROM backup_probe ORDER BY id").fetchall()


def _insert(path: Path, batch: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO backup_probe (batch) VALUES (?)", [(batch,)] * ROWS_PER_COMMIT
        )


@pytest.fixture
def writer(store: Path) -> Iterator[threading.Event]:
    """A thread committing two rows at a time into *store* until the test ends."""
    stop = threading.Event()
    wrote = threading.Event()

    def write() -> None:
        connection = sqlite3.connect(store, timeout=30)
        batch = 0
        while not stop.is_set():
            batch += 1
            with connection:
                connection.executemany(
                    "INSERT INTO backup_probe (batch) VALUES (?)", [(batch,)] * ROWS_PER_COMMIT
                )
            if batch >= 50:
                wrote.set()
        connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        wrote.wait(60)
        yield stop
    finally:
        stop.set()
        thread.join()


def test_a_backup_taken_while_a_writer_commits_is_one_consistent_snapshot(
    store: Path, writer: threading.Event, tmp_path: Path
) -> None:
    counts = []
    for number in range(5):
        out = tmp_path / f"backup-{number}.sqlite3"
        backup_sqlite(store, out)
        assert check_backup(out) >= 1
        rows = _rows(out)
        # Whole commits only, none missing in between: the store as of one commit.
        assert len(rows) % ROWS_PER_COMMIT == 0
        assert [row_id for row_id, _ in rows] == list(range(1, len(rows) + 1))
        assert sorted({batch for _, batch in rows}) == list(range(1, len(rows) // 2 + 1))
        assert not out.with_name(out.name + "-wal").exists()
        counts.append(len(rows))
    writer.set()
    assert counts[0] > 0
    assert counts == sorted(counts)


def test_restore_brings_back_the_backup_and_keeps_the_old_store_aside(
    store: Path, tmp_path: Path
) -> None:
    _insert(store, 1)
    backup = tmp_path / "backup.sqlite3"
    backup_sqlite(store, backup)
    _insert(store, 2)
    assert len(_rows(store)) == 4

    restored = restore_sqlite(backup, store)

    assert _rows(store) == [(1, 1), (2, 1)]
    assert restored.kept_aside is not None
    assert [batch for _, batch in _rows(restored.kept_aside)] == [1, 1, 2, 2]
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_corrupt_backup_is_refused_and_the_store_left_alone(store: Path, tmp_path: Path) -> None:
    for batch in range(200):  # several pages of rows
        _insert(store, batch)
    backup = tmp_path / "backup.sqlite3"
    backup_sqlite(store, backup)
    data = bytearray(backup.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 2 : page_size * 3] = b"\xa5" * page_size  # one page scrambled
    backup.write_bytes(bytes(data))
    before = _rows(store)

    with pytest.raises(BackupError, match=r"integrity check|not a usable"):
        restore_sqlite(backup, store)

    assert _rows(store) == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_a_file_that_is_no_store_is_refused(store: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, but long enough to look like a header" * 20)
    with pytest.raises(BackupError):
        restore_sqlite(text, store)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    with pytest.raises(BackupError, match="not a Begasist store"):
        restore_sqlite(empty, store)


def test_restore_refuses_a_store_another_process_has_open_unless_forced(
    store: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.sqlite3"
    backup_sqlite(store, backup)
    _insert(store, 7)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(store)!r})\n"
            "c.execute('SELECT count(*) FROM backup_probe').fetchall()\n"
            "print('open', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        assert store_in_use(store)
        with pytest.raises(BackupError, match="open in another process"):
            restore_sqlite(backup, store)
        assert len(_rows(store)) == 2

        restore_sqlite(backup, store, force=True)
        assert _rows(store) == []
    finally:
        holder.communicate("")
    assert not store_in_use(store)


def test_the_commands(
    store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BEGASIST_SQLITE_PATH", str(store))
    _insert(store, 1)
    backup = tmp_path / "nightly.sqlite3"
    assert main(["backup", str(backup)]) == 0
    assert main(["backup", str(backup)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    _insert(store, 2)
    assert main(["restore", str(backup)]) == 0
    assert "previous store is kept at" in capsys.readouterr().err
    assert len(_rows(store)) == 2

    monkeypatch.setenv("BEGASIST_STORE", "astra")
    assert main(["backup", str(tmp_path / "astra.sqlite3")]) == 2
    assert "backed up by DataStax" in capsys.readouterr().err
