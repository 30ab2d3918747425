"""Fixtures for the suite: a store, and the whole suite served by uvicorn on a free port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from begasist_core import StreamNames
from begasist_suite.app import create_app
from begasist_suite.auth.credentials import hash_password
from begasist_suite.config import SuiteSettings
from begasist_suite.server import server_config
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import Hotel, Membership, Role, User
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from litestar import Litestar
from redis.asyncio import Redis

TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
PASSWORD = "correct horse battery staple"


@dataclass
class RunningSuite:
    """A suite answering HTTP at ``url``, with handles on what it stores in."""

    url: str
    app: Litestar
    store: Store
    redis: Redis
    names: StreamNames
    settings: SuiteSettings

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10.0, **kwargs)  # type: ignore[arg-type]

    async def login(self, client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
        """Log *client* in (cookie kept by the client); return the CSRF token."""
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        response.raise_for_status()
        csrf: str = response.json()["csrf_token"]
        client.headers["x-csrf-token"] = csrf
        return csrf


BACKENDS = ("sqlite", "astra")


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DocumentDatabase]:
    """Every document backend, fresh and migrated per test (Astra: the stand-in, or the
    real database ``tests/suite/store/astra_fixture.py`` names)."""
    if request.param == "sqlite":
        sqlite = SqliteDatabase(tmp_path / "store.sqlite3")
        await sqlite.migrate()
        try:
            yield sqlite
        finally:
            await sqlite.aclose()
        return
    from tests.suite.store.astra_fixture import astra_database

    async with astra_database(request.node.nodeid) as astra:
        yield astra


@pytest.fixture
async def suite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(SqliteDatabase(tmp_path / "suite.sqlite3"))
    await store.migrate()
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture
def suite_settings(
    begasist_redis_url: str, begasist_names: StreamNames, tmp_path: Path
) -> SuiteSettings:
    return SuiteSettings(
        media_dir=tmp_path / "media",
        redis_url=begasist_redis_url,
        prefix=begasist_names.prefix,
        secret_key=TEST_SECRET_KEY,
        cookie_secure=False,
        claim_idle_seconds=1.0,
        webhook_max_body_bytes=65_536,
    )


def listening_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, for :func:`serving` (its URL known first)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without, small frames wait for delayed ACKs (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def bound_url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving(
    app: Litestar, settings: SuiteSettings, sock: socket.socket | None = None
) -> AsyncIterator[str]:
    """*app* under uvicorn on *sock* (else 127.0.0.1 and a free port), lifespan run: its URL.

    The production server config (serve's), access log aside: what tests see is what runs.
    """
    config = server_config(app, settings, host="127.0.0.1", port=0, access_log=False)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve, None if sock is None else [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
                await anyio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@pytest.fixture
async def suite(
    suite_settings: SuiteSettings,
    suite_store: Store,
    begasist_redis: Redis,
    begasist_names: StreamNames,
) -> AsyncIterator[RunningSuite]:
    """The app under uvicorn on 127.0.0.1 and a free port, consumer running; its
    ``public_url`` is that address unless the test's settings name one (as an operator's
    ``BEGASIST_PUBLIC_URL`` would: the web chat's framed page needs it)."""
    with listening_socket() as sock:
        settings = suite_settings
        if settings.public_url is None:
            settings = settings.model_copy(update={"public_url": bound_url(sock)})
        app = create_app(settings, store=suite_store)
        async with serving(app, settings, sock) as url:
            yield RunningSuite(
                url=url,
                app=app,
                store=suite_store,
                redis=begasist_redis,
                names=begasist_names,
                settings=settings,
            )


async def outbox_drained(suite: RunningSuite, hotel: str | None = None) -> None:
    """Wait until the suite's relay has published every outbox entry (of *hotel*)."""
    with anyio.fail_after(10):
        while (await suite.store.outbox_backlog(hotel)).pending:  # noqa: ASYNC110 (a store has no events)
            await anyio.sleep(0.02)


async def add_member(
    store: Store, hotel: str, email: str, role: Role | None, *, platform_admin: bool = False
) -> User:
    """A user with :data:`PASSWORD`, member of *hotel* with *role* (None: no membership)."""
    if await store.get_hotel(hotel) is None:
        await store.create_hotel(Hotel(slug=hotel, name=hotel.title()))
    user = await store.create_user(
        User(email=email, password_hash=hash_password(PASSWORD), platform_admin=platform_admin)
    )
    if role is not None:
        await store.set_membership(Membership(hotel=hotel, user_id=user.id, role=role))
    return user
