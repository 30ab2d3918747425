"""``begasist init`` / ``fleet`` as an operator runs them: subprocesses in a fresh directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from begasist_suite.store.records import CredentialKind, Hotel
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store

from tests.suite.test_cli import clean_environment

BEGASIST = Path(sys.executable).parent / "begasist"
ADMIN = "admin@example.com"
ADMIN_PASSWORD = "a long and quiet hotel corridor"

Begasist = Callable[..., subprocess.CompletedProcess[str]]
T = TypeVar("T")


@pytest.fixture
def begasist(tmp_path: Path) -> Begasist:
    """Run ``begasist`` in *tmp_path* with no BEGASIST_* setting but *environment*'s."""

    def run(
        *arguments: str,
        stdin: str | None = None,
        code: int = 0,
        environment: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BEGASIST), *arguments],
            env=clean_environment(**(environment or {})),
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == code, f"{arguments}: {result.stdout}\n{result.stderr}"
        return result

    return run


@pytest.fixture
def initialised(begasist: Begasist) -> Begasist:
    """*begasist* after a first ``begasist init`` with an admin."""
    begasist("init", "--admin-email", ADMIN, "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    return begasist


def on_store(begasist: Begasist, *arguments: str, code: int = 0) -> str:
    """An admin command on the store ``init`` made (``./data/begasist.sqlite3``)."""
    environment = {"BEGASIST_SQLITE_PATH": "data/begasist.sqlite3"}
    return begasist(*arguments, environment=environment, code=code).stdout


def with_store(directory: Path, action: Callable[[Store], Awaitable[T]]) -> T:
    """Run *action* on the store ``init`` made in *directory*, in this process (what the
    operator does in the web admin; quicker than a ``begasist`` process each time)."""

    async def run() -> T:
        store = Store(SqliteDatabase(directory / "data" / "begasist.sqlite3"))
        try:
            return await action(store)
        finally:
            await store.aclose()

    return anyio.run(run)


def create_hotels(directory: Path, *slugs: str) -> None:
    async def create(store: Store) -> None:
        for slug in slugs:
            await store.create_hotel(Hotel(slug=slug, name=slug.title()))

    with_store(directory, create)


def delete_hotel(directory: Path, slug: str) -> None:
    async def delete(store: Store) -> None:
        await store.delete_hotel(slug)

    with_store(directory, delete)


def bot_token_owners(directory: Path) -> list[str]:
    """The hotels of the live bot tokens in the store, sorted."""

    async def owners(store: Store) -> list[str]:
        listed = await store.list_credentials(CredentialKind.BOT_TOKEN)
        return sorted(c.hotel or "" for c in listed)

    return with_store(directory, owners)
