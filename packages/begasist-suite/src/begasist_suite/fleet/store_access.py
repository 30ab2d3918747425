"""Which store ``init`` and ``fleet`` work on, and opening it.

A compose deployment's suite keeps its SQLite file in a directory of this machine
mounted into its container, so these commands default to ``./data/begasist.sqlite3``
(not ``serve``'s ``./begasist.sqlite3``) unless ``BEGASIST_SQLITE_PATH`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from begasist_suite.cli_admin import describe_store
from begasist_suite.cli_errors import UsageError
from begasist_suite.config import SuiteSettings
from begasist_suite.store.factory import StoreConfigError, open_store
from begasist_suite.store.store import Store

__all__ = ["DEFAULT_SQLITE_PATH", "fleet_settings", "opened_store"]

DEFAULT_SQLITE_PATH: Final = Path("data") / "begasist.sqlite3"


def fleet_settings(settings: SuiteSettings) -> SuiteSettings:
    """*settings* with the SQLite file under ``./data`` unless the environment names one."""
    if settings.store != "sqlite":
        raise UsageError(
            "begasist init and fleet compose set up the one-machine deployment, whose store "
            "is SQLite; with BEGASIST_STORE=astra, create the admin with `begasist users "
            "create --admin` and the bot tokens with `begasist tokens create-bot`"
        )
    if any(name.upper() == "BEGASIST_SQLITE_PATH" for name in os.environ):
        return settings
    return settings.model_copy(update={"sqlite_path": DEFAULT_SQLITE_PATH})


@asynccontextmanager
async def opened_store(settings: SuiteSettings, *, create: bool) -> AsyncIterator[Store]:
    """The migrated store of *settings*, named on stderr first; a SQLite file that does not
    exist yet is made only when *create* (else exit 2, pointing at ``begasist init``)."""
    print(f"begasist: {describe_store(settings)}", file=sys.stderr)
    path = settings.sqlite_path.absolute()
    if not path.exists():
        if not create:
            raise UsageError(
                f"no SQLite store at {path}: run `begasist init` first, here, or set "
                "BEGASIST_SQLITE_PATH to the store's file"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        store = open_store(settings)
    except StoreConfigError as problem:
        raise UsageError(str(problem)) from None
    try:
        await store.migrate()
        yield store
    finally:
        await store.aclose()
