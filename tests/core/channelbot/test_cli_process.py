"""channelbot's command line as a process: the README demo path, Redis outages, signals."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from begasist_core.channelbot.settings_source import HotelSettings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REPO = Path(__file__).parents[3]
DEMO_SETTINGS = REPO / "docs" / "examples" / "demo-settings.toml"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")}
    env.update(extra)
    return env


@asynccontextmanager
async def running(command: list[str], env: dict[str, str]) -> AsyncIterator[Process]:
    """The process of *command*, killed on the way out if still running: a failed
    assertion must not leave the test waiting for a bot that never stops."""
    async with await anyio.open_process(command, env=env) as process:
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()


async def read_until(process: Process, needle: str, *, within: float) -> list[str]:
    """stderr lines of *process* up to and including the first containing *needle*."""
    assert process.stderr is not None
    lines: list[str] = []
    buffer = ""
    with anyio.fail_after(within):
        async for chunk in TextReceiveStream(process.stderr):
            buffer += chunk
            *complete, buffer = buffer.split("\n")
            lines.extend(complete)
            if any(needle in line for line in complete):
                return lines
    raise AssertionError(f"{needle!r} never appeared; stderr was:\n" + "\n".join(lines))


async def collect_for(process: Process, seconds: float) -> list[str]:
    assert process.stderr is not None
    text = ""
    with anyio.move_on_after(seconds):
        async for chunk in TextReceiveStream(process.stderr):
            text += chunk
    return text.splitlines()


def bot_command(*options: str) -> list[str]:
    """channelbot for the hotel plaza, as a process of this interpreter."""
    return [sys.executable, "-m", "begasist_core.channelbot.cli", "--hotel", "plaza", *options]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stop(process: Process) -> int:
    process.send_signal(signal.SIGTERM)
    with anyio.fail_after(20):
        return await process.wait()


async def test_the_readme_demo_runs_on_the_embedded_engine_and_stops_cleanly() -> None:
    command = bot_command("--settings-file", str(DEMO_SETTINGS), "--embedded-engine")
    async with running(command, environment()) as process:
        lines = await read_until(process, "ready: hotel plaza", within=30)
        assert any("embedded Valkey engine listening" in line for line in lines)
        assert await stop(process) == 0


async def test_an_unreachable_redis_is_one_log_line_and_retried_with_backoff() -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    command = bot_command("--settings-file", str(DEMO_SETTINGS), "--redis-url", url)
    async with running(command, environment()) as process:
        # Start-up takes its time on a loaded host; then 3 s of retrying say nothing more.
        first = await read_until(process, "Redis unreachable", within=60)
        later = await collect_for(process, 3.0)
        assert process.returncode is None, "the bot must keep retrying, not exit"
        outage_lines = [line for line in [*first, *later] if "Redis unreachable" in line]
        assert len(outage_lines) == 1, [*first, *later]
        assert "retrying with backoff" in outage_lines[0]
        assert await stop(process) == 0


TOKEN = "plaza-bot-token-5f2c"


class JsonStub(BaseHTTPRequestHandler):
    """A quiet stand-in of some of the suite's bot endpoints: subclasses answer ``do_GET``."""

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the bot's log, not the stub's."""


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """*handler* served on a free port of 127.0.0.1 from a thread; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class StubSuite(JsonStub):
    """The suite's bot endpoints for one hotel, answering only with its bot token."""

    settings = HotelSettings(
        hotel="plaza", version=4, channels={"demo": {"webhook_secret": "wh-secret-value"}}
    )

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, b"{}")
        elif self.path == "/api/v1/hotels/plaza/bot/settings":
            self._answer(200, self.settings.model_dump_json().encode())
        elif self.path == "/api/v1/hotels/plaza/bot/settings/version":
            self._answer(200, b'{"version": 4}')
        else:
            self._answer(404, b"{}")


@pytest.fixture
def stub_suite() -> Iterator[str]:
    with serving(StubSuite) as url:
        yield url


async def test_a_bot_runs_on_settings_from_the_suite_and_never_logs_the_secrets(
    stub_suite: str,
) -> None:
    command = bot_command("--suite-url", stub_suite, "--embedded-engine")
    env = environment(BEGASIST_BOT_TOKEN=TOKEN, BEGASIST_LOG_LEVEL="DEBUG")
    async with running(command, env) as process:
        lines = await read_until(process, "ready: hotel plaza", within=30)
        assert any("config v4" in line for line in lines)
        assert await stop(process) == 0
        lines += await collect_for(process, 1.0)
    log = "\n".join(lines)
    assert TOKEN not in log
    assert "wh-secret-value" not in log
