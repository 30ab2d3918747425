"""Server time and store queries of the inbox pages, over a large SQLite store.

Seeds a fresh SQLite store (the suite's embedded default) through the store's
public API (``bench/_inbox_seed.py``): one hotel with ``--conversations`` and
``--messages`` (one thread of ``--long-thread`` messages, one of 3), and a
second hotel with a fifth of that, interleaved in time, so every query's
tenancy filter has rows to skip. Then serves the suite's app (``create_app``,
the server's factory) under uvicorn with the server's config on a throwaway
port, consumer off, signs in as an agent through the sign-in form (its
form token included) and requests each page in turn, round-robin, one
request at a time:

- server time: from the ASGI call into the app to its last body chunk, taken
  by a middleware wrapped around the app (the guard and Litestar inside it);
- client time: the round trip seen by httpx in the same process;
- store statements per page: every statement SQLite runs on the store's two
  connections (``set_trace_callback``), for one request of each page, grouped
  by shape, with the query plan and the time of each shape run alone.

The baselines go through the same path: ``/health`` and the JSON API's
conversation list (the inbox's first page as JSON).

    hatch run python bench/inbox_pages.py                  # 10,000 / 100,000, 200 requests a page
    hatch run python bench/inbox_pages.py --quick          # 1,000 / 10,000, 30 requests a page
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import redis
import uvicorn
from _inbox_parts import time_parts
from _inbox_seed import PASSWORD, SeededHotel, add_members, seed_hotel
from begasist_core import ConversationStatus
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.server import server_config
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from pydantic import SecretStr

SECRET_KEY = "bench-secret-key-" + "x" * 32
TARGET_P95_MS = 50.0
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]*)"')
LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")

Asgi = Callable[[Any, Any, Any], Awaitable[None]]


class ServerTimer:
    """ASGI middleware: the time from the call into *app* to its last body chunk.

    Also the CPU time of this thread over that span: the server's own work,
    which other jobs on a shared host slow down less than the wall clock (the
    client waits meanwhile; its share is whatever the loop ran in between).
    """

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.last_ms = 0.0
        self.last_cpu_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, started_cpu = time.perf_counter(), time.thread_time()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - started) * 1000
                self.last_cpu_ms = (time.thread_time() - started_cpu) * 1000
            await send(message)

        await self.app(scope, receive, timed_send)


@dataclass
class StatementLog:
    """Every statement SQLite runs on the connections it is attached to."""

    enabled: bool = False
    statements: list[str] = field(default_factory=list)

    def attach(self, connection: sqlite3.Connection) -> None:
        connection.set_trace_callback(self._trace)

    def _trace(self, sql: str) -> None:
        if self.enabled:
            self.statements.append(sql)


def shape(sql: str) -> str:
    """*sql* with its literals replaced by ``?``: statements that differ only in values."""
    return " ".join(LITERAL.sub("?", sql).split())


def kind(sql: str) -> str:
    verb = sql.lstrip().split(None, 1)[0].upper()
    return {"SELECT": "reads", "INSERT": "writes", "UPDATE": "writes", "DELETE": "writes"}.get(
        verb, "other"
    )


@dataclass
class PageResult:
    name: str
    path: str
    server_ms: list[float] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)


@dataclass
class Measured:
    profiles: dict[str, tuple[Counter[str], Counter[str]]] = field(default_factory=dict)
    """Page -> own time (ms a request) by area and by function, under cProfile."""
    parts: list[tuple[str, float]] = field(default_factory=list)
    """The pages' store calls and view builders alone: (what, CPU ms)."""
    added_members: int = 0
    with_more_members: list[str] = field(default_factory=list)
    """The inbox's first page's statements once the members were added."""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return (
        f"{cpu}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load {os.getloadavg()[0]:.2f}"
    )


def database_bytes(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal"))


async def build_store(path: Path, args: argparse.Namespace) -> tuple[Store, SeededHotel]:
    store = Store(SqliteDatabase(path))
    await store.migrate()
    started = time.perf_counter()
    plaza = await seed_hotel(
        store,
        "plaza",
        conversations=args.conversations,
        messages=args.messages,
        long_thread=args.long_thread,
        members=args.members,
        seed=1,
    )
    other = await seed_hotel(
        store,
        "sol",
        conversations=max(3, args.conversations // 5),
        messages=max(args.long_thread + 10, args.messages // 5),
        long_thread=args.long_thread,
        members=args.members,
        seed=2,
    )
    elapsed = time.perf_counter() - started
    size = database_bytes(path)
    print(f"seeded in {elapsed:.1f} s through the store's API ({size / 1e6:.0f} MB with the WAL)")
    print(f"  plaza: {plaza.counts}")
    print(f"  sol:   {other.counts}")
    return store, plaza


async def later_cursor(store: Store, hotel: str, pages: int) -> str:
    """The cursor of the inbox's page *pages* + 1 (the default tab: open conversations)."""
    cursor = None
    for _ in range(pages):
        page = await store.list_conversations(
            hotel, status=ConversationStatus.OPEN, limit=50, cursor=cursor
        )
        assert page.next_cursor is not None, "too few open conversations for the later page"
        cursor = page.next_cursor
    assert cursor is not None
    return cursor


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    """Through the sign-in form, with the form token its page carries."""
    page = await client.get("/login")
    found = FORM_TOKEN.search(page.text)
    assert found is not None, page.text[:300]
    answer = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "form_token": found[1]}
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])


async def check_draft_badges(
    client: httpx.AsyncClient, store: Store, plaza: SeededHotel, path: str
) -> None:
    """Print whether the first page marks every one of its conversations that has a
    pending draft (what the page shows, not how fast)."""
    rows = await store.list_conversations(plaza.slug, status=ConversationStatus.OPEN, limit=50)
    expected = sum(row.id in plaza.pending_drafts for row in rows.items)
    shown = (await client.get(path)).text.count('class="badge draft"')
    print(
        f"\nfirst page: {shown} 'draft to approve' badges shown, {expected} of its"
        f" conversations have a pending draft ({len(plaza.pending_drafts)} in the hotel)"
    )


async def request(client: httpx.AsyncClient, timer: ServerTimer, path: str) -> tuple[float, float]:
    """GET *path* (200 or raise): the server's time and the client's round trip, in ms."""
    started = time.perf_counter()
    answer = await client.get(path)
    client_ms = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    return timer.last_ms, client_ms


async def count_statements(
    client: httpx.AsyncClient, timer: ServerTimer, log: StatementLog, path: str
) -> list[str]:
    log.statements.clear()
    log.enabled = True
    try:
        await request(client, timer, path)
    finally:
        log.enabled = False
    return list(log.statements)


AREAS = (
    ("sqlite3", "store: SQLite"),
    ("json", "json"),
    ("pydantic", "pydantic"),
    ("jinja2", "jinja2"),
    ("babel", "babel"),
    ("begasist_suite/web", "suite: web"),
    ("begasist_suite/store", "suite: store"),
    ("begasist_suite", "suite: other"),
    ("litestar", "litestar"),
    ("uvicorn", "uvicorn"),
    ("httpx", "client"),
    ("httpcore", "client"),
)


async def profile(
    client: httpx.AsyncClient, timer: ServerTimer, path: str, requests: int
) -> tuple[Counter[str], Counter[str]]:
    """Own time (ms a request) by area and by function, over *requests* requests of
    *path* (the client's share included: it runs in this process)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        await request(client, timer, path)
    profiler.disable()
    areas: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    # (file, line, name) -> (calls, primitive calls, own time, cumulative, callers)
    stats: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, own, _, _) in stats.items():
        where = filename if filename != "~" else name
        area = next((label for marker, label in AREAS if marker in where), "other")
        areas[area] += own * 1000 / requests
        functions[f"{Path(filename).name}:{name}"] += own * 1000 / requests
    return areas, functions


def explain(path: Path, statements: list[str]) -> list[tuple[str, int, float, str]]:
    """Each read shape of *statements*: (shape, times run, median ms alone, query plan)."""
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    reads = [s for s in statements if kind(s) == "reads"]
    by_shape: dict[str, list[str]] = {}
    for sql in reads:
        by_shape.setdefault(shape(sql), []).append(sql)
    found = []
    for key, examples in by_shape.items():
        sample = examples[0]
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            reader.execute(sample).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        plan = "; ".join(row[3] for row in reader.execute(f"EXPLAIN QUERY PLAN {sample}"))
        found.append((key, len(examples), statistics.median(timings), plan))
    reader.close()
    return found


def print_statements(name: str, path: Path, statements: list[str]) -> None:
    kinds = Counter(kind(s) for s in statements)
    print(f"\n{name}: {kinds['reads']} reads, {kinds['writes']} writes, {kinds['other']} other")
    for key, times, ms, plan in sorted(explain(path, statements), key=lambda x: -x[1] * x[2]):
        flag = " FULL SCAN" if re.search(r"\bSCAN\b", plan) else ""
        flag += " SORT" if "TEMP B-TREE" in plan else ""
        print(f"  {times:3d} x {ms:7.3f} ms{flag}: {key[:150]}")
        print(f"        plan: {plan[:200]}")


@asynccontextmanager
async def serving(app: Asgi, settings: SuiteSettings) -> AsyncIterator[str]:
    """*app* under uvicorn with the server's config on a free port (lifespan run): its URL."""
    config = server_config(app, settings, host="127.0.0.1", port=0, access_log=False)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        finally:
            server.should_exit = True


def pages_of(plaza: SeededHotel, cursor: str, args: argparse.Namespace) -> list[PageResult]:
    inbox = f"/hotels/{plaza.slug}/inbox"
    conversation = f"/hotels/{plaza.slug}/conversations/"
    return [
        PageResult("baseline: /health", "/health"),
        PageResult("baseline: JSON conversation list", f"/api/v1/hotels/{plaza.slug}/conversations"),  # noqa: E501
        PageResult("inbox, first page", inbox),
        PageResult(f"inbox, page {args.later_page} (cursor)", f"{inbox}?cursor={cursor}"),
        PageResult("inbox, mine", f"{inbox}?view=mine"),
        PageResult("inbox, unassigned", f"{inbox}?view=unassigned"),
        PageResult("inbox, resolved", f"{inbox}?status=resolved"),
        PageResult("inbox, channel email", f"{inbox}?channel=email"),
        PageResult("inbox, mine+resolved+demo", f"{inbox}?view=mine&status=resolved&channel=demo"),
        # The mode filter: three queries merged (store/reply_modes.py); supervised is
        # every channel's default here, manual is set nowhere.
        PageResult("inbox, mode supervised", f"{inbox}?mode=supervised"),
        PageResult("inbox, mode manual (none match)", f"{inbox}?mode=manual"),
        PageResult("conversation, 3 messages", conversation + plaza.short_thread),
        PageResult(f"conversation, {args.long_thread} messages", conversation + plaza.long_thread),
    ]  # fmt: skip


async def measure(
    client: httpx.AsyncClient,
    timer: ServerTimer,
    store: Store,
    plaza: SeededHotel,
    pages: list[PageResult],
    args: argparse.Namespace,
) -> Measured:
    """Warm up, count each page's statements, time them round-robin, profile, add members."""
    await sign_in(client, plaza.staff.email)
    await check_draft_badges(client, store, plaza, pages[2].path)
    for _ in range(args.warmup):
        for page in pages:
            await request(client, timer, page.path)
    database = store.database
    assert isinstance(database, SqliteDatabase)
    log = StatementLog()
    # Private attributes, read by the bench alone: both connections exist after the warm-up.
    for connection in (database._connection, database._reader):
        assert connection is not None
        log.attach(connection)
    for page in pages:
        page.statements = await count_statements(client, timer, log, page.path)
    print(
        f"\nmeasuring {args.requests} requests a page, round-robin, after {args.warmup} unmeasured"
    )
    for _ in range(args.requests):
        for page in pages:
            server_ms, client_ms = await request(client, timer, page.path)
            page.server_ms.append(server_ms)
            page.client_ms.append(client_ms)
            page.server_cpu_ms.append(timer.last_cpu_ms)
    measured = Measured()
    if args.profile:
        for page in pages[2:]:
            measured.profiles[page.name] = await profile(client, timer, page.path, args.profile)
    measured.parts = await time_parts(store, plaza)
    more = await add_members(store, plaza.slug, 10, start=args.members)
    measured.added_members = len(more)
    measured.with_more_members = await count_statements(client, timer, log, pages[2].path)
    return measured


async def run(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    prefix = f"bench-inbox-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as workdir:
        db_path = Path(workdir) / "inbox.sqlite3"
        store, plaza = await build_store(db_path, args)
        pages = pages_of(plaza, await later_cursor(store, plaza.slug, args.later_page - 1), args)
        settings = SuiteSettings(
            redis_url=args.redis_url,
            secret_key=SecretStr(SECRET_KEY),
            prefix=prefix,
            cookie_secure=False,
            consumer=False,
            media_dir=Path(workdir) / "media",
        )
        timer = ServerTimer(create_app(settings, store=store))
        try:
            async with (
                serving(timer, settings) as url,
                httpx.AsyncClient(base_url=url, timeout=30) as client,
            ):
                measured = await measure(client, timer, store, plaza, pages, args)
            report(pages, measured, db_path)
        finally:
            await store.aclose()
            keys = redis.Redis.from_url(args.redis_url)
            for key in keys.scan_iter(f"{prefix}:*"):
                keys.delete(key)
            keys.close()
    print(f"\nmachine after: load {os.getloadavg()[0]:.2f}")


def report(pages: list[PageResult], measured: Measured, db: Path) -> None:
    print(
        f"\n{'ms':35} {'server p50':>10} {'p95':>6} {'max':>6} {'cpu p50':>7} {'p95':>6}"
        f" {'client p50':>10} {'p95':>6} {'reads':>5} {'writes':>6}  p95 <= {TARGET_P95_MS:.0f} ms"
    )
    for page in pages:
        kinds = Counter(kind(s) for s in page.statements)
        p95 = percentile(page.server_ms, 0.95)
        print(
            f"{page.name:35} {statistics.median(page.server_ms):10.1f} {p95:6.1f}"
            f" {max(page.server_ms):6.1f} {statistics.median(page.server_cpu_ms):7.1f}"
            f" {percentile(page.server_cpu_ms, 0.95):6.1f}"
            f" {statistics.median(page.client_ms):10.1f} {percentile(page.client_ms, 0.95):6.1f}"
            f" {kinds['reads']:5d} {kinds['writes']:6d}"
            f"  {'met' if p95 <= TARGET_P95_MS else 'NOT MET'}"
        )
    first = next(p for p in pages if p.name == "inbox, first page")
    before = Counter(kind(s) for s in first.statements)["reads"]
    after = Counter(kind(s) for s in measured.with_more_members)["reads"]
    print(
        f"\ninbox first page with {measured.added_members} more members in the hotel:"
        f" {after} reads (was {before}: {after - before:+d})"
    )
    print("\nthe pages' parts alone (CPU ms, median; bench/_inbox_parts.py):")
    for name, ms in measured.parts:
        print(f"  {ms:7.2f}  {name}")
    for page in pages:
        print_statements(page.name, db, page.statements)
    for name, (areas, functions) in measured.profiles.items():
        total = sum(areas.values())
        parts = ", ".join(f"{area} {ms:.1f}" for area, ms in areas.most_common(8))
        print(f"\n{name}, under cProfile: {total:.1f} ms a request: {parts}")
        top = ", ".join(f"{function} {ms:.1f}" for function, ms in functions.most_common(8))
        print(f"  functions (own time): {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--long-thread", type=int, default=1_000)
    parser.add_argument("--members", type=int, default=5, help="agents besides the signed-in one")
    parser.add_argument("--requests", type=int, default=200, help="measured requests a page")
    parser.add_argument("--warmup", type=int, default=10, help="requests a page, not measured")
    parser.add_argument("--later-page", type=int, default=21, help="the cursor page measured")
    parser.add_argument(
        "--profile", type=int, default=20, help="requests a page under cProfile (0: none)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 / 10,000, 30 requests a page, page 5"
    )
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.messages, args.requests, args.warmup = 1_000, 10_000, 30, 3
        args.later_page = 5
    anyio.run(run, args)


if __name__ == "__main__":
    main()
