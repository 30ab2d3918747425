"""``begasist backup OUT`` and ``begasist restore IN``: the SQLite store, online.

Astra DB is not backed up here: DataStax backs a database up and restores it
(docs/deploy.md says how to export one too), so both commands say so and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.store.sqlite_backup import BackupError, backup_sqlite, restore_sqlite

__all__ = ["add_backup_commands", "run_backup_command"]

_ASTRA = (
    "BEGASIST_STORE=astra: Astra DB is backed up by DataStax (its console's backups and "
    "restores); to keep a copy of your own, export the collections as docs/deploy.md shows"
)


def add_backup_commands(commands: Any) -> None:
    """Add ``backup`` and ``restore`` to *commands*."""
    backup = commands.add_parser(
        "backup", help="copy the SQLite store to a new file, also while the suite runs"
    )
    backup.add_argument("out", metavar="OUT", type=Path, help="the backup file (must not exist)")
    restore = commands.add_parser(
        "restore", help="replace the SQLite store with a backup (the old one is kept aside)"
    )
    restore.add_argument("backup", metavar="IN", type=Path, help="a file `begasist backup` wrote")
    restore.add_argument(
        "--force",
        action="store_true",
        help="restore even while another process (a running suite) has the store open",
    )


def run_backup_command(args: argparse.Namespace, settings: SuiteSettings) -> int:
    """Run ``backup`` or ``restore`` on the store *settings* name."""
    if settings.store != "sqlite":
        raise UsageError(_ASTRA)
    store = settings.sqlite_path.absolute()
    try:
        if args.command == "backup":
            size = backup_sqlite(store, args.out)
            print(f"begasist: backed up {store} to {args.out} ({size} bytes)", file=sys.stderr)
            return 0
        restored = restore_sqlite(args.backup, store, force=args.force)
    except BackupError as problem:
        raise UsageError(str(problem)) from None
    aside = f"; the previous store is kept at {restored.kept_aside}" if restored.kept_aside else ""
    print(f"begasist: restored {store} from {args.backup}{aside}", file=sys.stderr)
    return 0
