"""Backing up and restoring the SQLite store with SQLite's online backup API.

:func:`backup_sqlite` copies the store while the suite runs and writes: the
copy is one read transaction of the source (``sqlite3.Connection.backup`` in
one step), so it is the store as of one commit, WAL content included, and
writers are not blocked (WAL mode). :func:`restore_sqlite` checks a backup's
integrity first, refuses while another process has the store open unless
forced, keeps the current store aside (itself copied by the backup API), and
then copies the backup in through SQLite, so the ``-wal`` file of the old
store cannot resurrect its pages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

__all__ = [
    "BackupError",
    "Restored",
    "backup_sqlite",
    "check_backup",
    "restore_sqlite",
    "store_in_use",
]

# SQLite's WAL-index "DMS" lock: every connection that has the store open in WAL
# mode holds a shared POSIX lock on this byte of the -shm file (WALINDEX_LOCK_OFFSET
# 120 + SQLITE_SHM_NLOCK 8, in SQLite's os_unix.c). SQLite itself tests it to learn
# whether it is the first connection.
_SHM_DMS_BYTE: Final = 128


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Restored:
    """What :func:`restore_sqlite` did."""

    store: Path
    kept_aside: Path | None
    """The store as it was before the restore (None: there was none)."""


def backup_sqlite(store: Path, out: Path) -> int:
    """Copy the live *store* to *out* (a new file); return its size in bytes.

    The copy is checked (``PRAGMA integrity_check``) and self-contained
    (rollback journal mode: no ``-wal`` beside it). It is written to a
    temporary name and renamed, so *out* is never half a backup.
    """
    if not store.is_file():
        raise BackupError(f"no SQLite store at {store} (BEGASIST_SQLITE_PATH)")
    if out.exists():
        raise BackupError(f"{out} already exists: give a new file name")
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(store, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            # One step (pages=-1): one read transaction, hence one consistent snapshot.
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            _require_intact(target, partial)
        finally:
            target.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    _fsync(partial)
    partial.replace(out)
    return out.stat().st_size


def check_backup(backup: Path) -> int:
    """Raise :class:`BackupError` unless *backup* is an intact Begasist SQLite store;
    return its schema version (``PRAGMA user_version``)."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    try:
        connection = sqlite3.connect(f"{backup.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"{backup} cannot be opened: {error}") from None
    try:
        _require_intact(connection, backup)
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{backup} is not a usable SQLite database: {error}") from None
    finally:
        connection.close()
    if version < 1:
        raise BackupError(f"{backup} is an SQLite file but not a Begasist store (no schema)")
    return version


def store_in_use(store: Path) -> bool:
    """Whether another process has *store* open (a running suite, an admin command)."""
    shm = store.with_name(store.name + "-shm")
    try:
        descriptor = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False  # the last connection to close removes it
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return False
    finally:
        os.close(descriptor)


def restore_sqlite(backup: Path, store: Path, *, force: bool = False) -> Restored:
    """Replace *store*'s content with *backup*'s, keeping the current store aside.

    Refuses (:class:`BackupError`) a backup that fails its integrity check, and
    a store another process has open unless *force* (that process then reads
    the restored content: stop the suite and the admin commands first).
    """
    check_backup(backup)
    if store.exists() and store_in_use(store) and not force:
        raise BackupError(
            f"{store} is open in another process (a running suite?): stop it first, "
            "or pass --force to restore under it"
        )
    kept_aside: Path | None = None
    if store.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept_aside = store.with_name(f"{store.name}.before-restore-{stamp}")
        backup_sqlite(store, kept_aside)
    source = sqlite3.connect(f"{backup.absolute().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(store, timeout=30)
        try:
            source.backup(target)
            _require_intact(target, store)
        finally:
            target.close()
    finally:
        source.close()
    return Restored(store=store, kept_aside=kept_aside)


def _require_intact(connection: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise BackupError(f"{path} failed its integrity check: {'; '.join(problems[:5])}")


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError), path.open("rb") as file:
        os.fsync(file.fileno())
