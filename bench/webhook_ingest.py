"""Signed webhook ingest against a Litestar hello-world on the same uvicorn settings.

Starts two uvicorn subprocesses with identical settings (httptools, uvloop, one
worker, no access log): (a) a Litestar hello-world, (b) the suite with a seeded
SQLite store in a temp dir, real Redis at ``--redis-url``, a unique prefix and
the consumer off. A load generator in its own process (raw keep-alive HTTP/1.1
over asyncio protocols on uvloop; ``wrk``/``oha`` are not installed here) then
measures, for each server, the closed-loop maximum (``--connections`` for
``--seconds``), and for the webhook the latency at a fixed open-loop rate.

    hatch run python bench/webhook_ingest.py [--runs 3] [--rate 300]

The load generator is also used by ``bench/inbound_e2e.py``
(``python bench/webhook_ingest.py loadgen --help``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import redis

HELLO_APP = """
from litestar import Litestar, get

@get("/", media_type="text/plain")
async def hello() -> str:
    return "Hello, world!"

app = Litestar(route_handlers=[hello])
"""
SECRET_KEY = "bench-secret-key-" + "x" * 32
WEBHOOK_SECRET = "bench-webhook-secret"
UVICORN_FLAGS = [
    "--http", "httptools", "--loop", "uvloop", "--workers", "1",
    "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1",
]  # fmt: skip


# -- the load generator (runs in its own process) ------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: send a request, await its status."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        start = head.find(b"content-length:")
        stop = head.find(b"\r\n", start)
        length = int(head[start + 15 : stop if stop >= 0 else None]) if start >= 0 else 0
        if len(self._buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self._buffer[: end + 4 + length]
        assert self._waiter is not None
        self._waiter.set_result(status)

    async def request(self, raw: bytes) -> int:
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        status: int = await self._waiter
        return status


async def _connect(host: str, port: int) -> _Connection:
    _, connection = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    connection.transport.get_extra_info("socket").setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
    )
    return connection


def request_factory(kind: str, host: str, port: int, hotels: list[str]) -> Callable[[], bytes]:
    """Raw requests: ``hello`` (GET /) or signed demo webhooks (``webhook``: one fixed body;
    ``message``: a fresh message per request, its send time in the text, hotels in turn)."""
    from begasist_channel_demo.webhook import sign_body

    def raw(method: str, path: str, body: bytes = b"", headers: str = "") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    if kind == "hello":
        fixed = raw("GET", "/")
        return lambda: fixed
    if kind == "webhook":
        body = b'{"messages":[{"id":"m1","from":"+34600000001","text":"Hello"}]}'
        signature = sign_body(WEBHOOK_SECRET, body)
        headers = f"Content-Type: application/json\r\nX-Demo-Signature: {signature}\r\n"
        fixed = raw("POST", f"/webhooks/{hotels[0]}/demo", body, headers)
        return lambda: fixed
    counter = iter(range(10**12))
    run = uuid.uuid4().hex[:8]

    def message() -> bytes:
        n = next(counter)
        hotel = hotels[n % len(hotels)]
        item = {"id": f"{run}-{n}", "from": f"+3460{n % 1000:07d}", "text": f"t={time.time()!r}"}
        body = json.dumps({"messages": [item]}, separators=(",", ":")).encode()
        headers = (
            "Content-Type: application/json\r\n"
            f"X-Demo-Signature: {sign_body(WEBHOOK_SECRET, body)}\r\n"
        )
        return raw("POST", f"/webhooks/{hotel}/demo", body, headers)

    return message


async def closed_loop(
    host: str, port: int, make: Callable[[], bytes], connections: int, seconds: float
) -> dict[str, Any]:
    """Each connection sends its next request when the previous answer is in."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pool = [await _connect(host, port) for _ in range(connections)]
    deadline = time.perf_counter() + seconds

    async def drive(connection: _Connection) -> None:
        while (sent := time.perf_counter()) < deadline:
            status = await connection.request(make())
            latencies.append(time.perf_counter() - sent)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        for connection in pool:
            tasks.start_soon(drive, connection)
    elapsed = time.perf_counter() - started
    for connection in pool:
        connection.transport.close()
    return _summary(latencies, statuses, elapsed)


async def open_loop(
    host: str, port: int, make: Callable[[], bytes], rate: float, seconds: float
) -> dict[str, Any]:
    """Requests at fixed times, whether earlier ones answered or not (no coordinated
    omission: latency counts from the scheduled time); a new connection when none is idle."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    idle = [await _connect(host, port) for _ in range(8)]
    opened = len(idle)

    async def one(scheduled: float) -> None:
        nonlocal opened
        while idle and idle[-1].transport.is_closing():
            idle.pop()  # uvicorn closes connections idle for 5 s
        if idle:
            connection = idle.pop()
        else:
            opened += 1
            connection = await _connect(host, port)
        status = await connection.request(make())
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        idle.append(connection)

    count = int(rate * seconds)
    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        for i in range(count):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
            tasks.start_soon(one, scheduled)
    elapsed = time.perf_counter() - started
    for connection in idle:
        connection.transport.close()
    return {**_summary(latencies, statuses, elapsed), "connections": opened}


def _summary(latencies: list[float], statuses: dict[int, int], elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "requests": len(ordered),
        "rps": len(ordered) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000 if ordered else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def loadgen_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="webhook_ingest.py loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=["hello", "webhook", "message"], required=True)
    parser.add_argument("--hotel", action="append", default=[])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, help="open loop at this rate (else closed loop)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    make = request_factory(args.kind, "127.0.0.1", args.port, args.hotel or ["bench"])
    if args.rate:
        job = open_loop("127.0.0.1", args.port, make, args.rate, args.seconds)
    else:
        job = closed_loop("127.0.0.1", args.port, make, args.connections, args.seconds)
    result = anyio.run(lambda: job, backend_options={"use_uvloop": True})
    print(json.dumps(result))


def run_loadgen(*args: str) -> dict[str, Any]:
    """The load generator in a fresh process; its JSON summary."""
    done = subprocess.run(
        [sys.executable, __file__, "loadgen", *args], capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the servers ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_server(target: str, env: dict[str, str], *, factory: bool = False) -> Iterator[int]:
    """``python -m uvicorn`` on a free port with :data:`UVICORN_FLAGS`; yields the port."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *UVICORN_FLAGS, "--port", str(port)]
    process = subprocess.Popen([*command, *(["--factory"] if factory else []), target], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


async def seed(sqlite_path: Path, hotels: list[str], *, mode: str = "supervised") -> None:
    """The hotels with the demo channel enabled (webhook secret, no simulated guests)."""
    from begasist_channel_demo.settings import DemoSettings
    from begasist_suite.channel_settings import apply_settings_update
    from begasist_suite.secret_box import SecretBox
    from begasist_suite.store.records import Hotel
    from begasist_suite.store.sqlite import SqliteDatabase
    from begasist_suite.store.store import Store

    store = Store(SqliteDatabase(sqlite_path))
    await store.migrate()
    box = SecretBox(SECRET_KEY)
    body = {"webhook_secret": WEBHOOK_SECRET, "simulated_guest_interval_seconds": 0, "mode": mode}
    try:
        for hotel in hotels:
            await store.create_hotel(Hotel(slug=hotel, name=hotel.title()))
            config = apply_settings_update(DemoSettings, hotel, "demo", body, None, box)
            await store.put_channel_config(config)
    finally:
        await store.aclose()


def suite_environment(
    workdir: Path, redis_url: str, prefix: str, *, consumer: bool
) -> dict[str, str]:
    return {
        **os.environ,
        "BEGASIST_REDIS_URL": redis_url,
        "BEGASIST_PREFIX": prefix,
        "BEGASIST_SECRET_KEY": SECRET_KEY,
        "BEGASIST_SQLITE_PATH": str(workdir / "suite.sqlite3"),
        "BEGASIST_CONSUMER": "true" if consumer else "false",
        "BEGASIST_LOG_LEVEL": "WARNING",
    }


def delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0)
    args = parser.parse_args()
    prefix = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    closed = ["--connections", str(args.connections), "--seconds", str(args.seconds)]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "bench_hello.py").write_text(HELLO_APP, encoding="utf-8")
        anyio.run(seed, workdir / "suite.sqlite3", ["bench"])
        hello_env = {**os.environ, "PYTHONPATH": str(workdir)}
        suite_env = suite_environment(workdir, args.redis_url, prefix, consumer=False)
        ratios = []
        try:
            with (
                uvicorn_server("bench_hello:app", hello_env) as hello_port,
                uvicorn_server("begasist_suite.app:create_app", suite_env, factory=True) as port,
            ):
                for run in range(1, args.runs + 1):
                    hello = run_loadgen("--port", str(hello_port), "--kind", "hello", *closed)
                    hook = run_loadgen("--port", str(port), "--kind", "webhook", *closed)
                    ratio = hook["rps"] / hello["rps"]
                    ratios.append(ratio)
                    print(f"run {run}: hello-world {_line(hello)}")
                    print(f"run {run}: webhook     {_line(hook)}  ratio {ratio:.2f}")
                fixed = run_loadgen(
                    "--port", str(port), "--kind", "webhook",
                    "--rate", str(args.rate), "--seconds", str(args.seconds),
                )  # fmt: skip
                print(f"webhook at {args.rate:.0f} req/s open loop: {_line(fixed)}")
                print(f"ratio median {statistics.median(ratios):.2f} (target >= 0.6)")
        finally:
            delete_keys(args.redis_url, prefix)


def _line(result: dict[str, Any]) -> str:
    return (
        f"{result['rps']:8,.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
        f"p99 {result['p99_ms']:6.2f} ms  max {result['max_ms']:7.2f} ms  {result['statuses']}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["loadgen"]:
        loadgen_main(sys.argv[2:])
    else:
        main()
