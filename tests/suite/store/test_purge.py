"""The running suite deletes expired credentials from the store by itself."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_core import utc_now
from begasist_suite.auth.credentials import digest
from begasist_suite.config import SuiteSettings
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import Credential, CredentialKind
from begasist_suite.store.store import Store

from tests.suite.conftest import RunningSuite

pytestmark = pytest.mark.anyio


@pytest.fixture
async def suite_store(database: DocumentDatabase) -> Store:
    """The suite on every backend (the store is the database's; the fixture closes it)."""
    store = Store(database)
    await store.migrate()
    return store


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"purge_seconds": 0.1})


async def test_expired_sessions_are_purged_while_the_suite_runs(
    suite: RunningSuite, database: DocumentDatabase
) -> None:
    """Reads already ignore an expired session; the purge removes its document (the
    collection would otherwise grow with every sign-in), and leaves the live one."""
    now = utc_now()
    for secret, expires_at in (
        ("old", now - timedelta(minutes=1)),
        ("live", now + timedelta(hours=1)),
    ):
        await suite.store.add_credential(
            Credential(
                digest=digest(secret),
                kind=CredentialKind.SESSION,
                user_id="u1",
                expires_at=expires_at,
            )
        )
    credentials = database.collection("credentials")
    with anyio.fail_after(10):
        while await credentials.find_one({"_id": digest("old")}) is not None:  # noqa: ASYNC110 (a store has no events)
            await anyio.sleep(0.05)
    assert await credentials.find_one({"_id": digest("live")}) is not None
