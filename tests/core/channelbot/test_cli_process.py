"""channelbot's command line as a process: the README demo path, Redis outages, signals."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REPO = Path(__file__).parents[3]
DEMO_SETTINGS = REPO / "docs" / "examples" / "demo-settings.toml"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")}
    env.update(extra)
    return env


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


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stop(process: Process) -> int:
    process.send_signal(signal.SIGTERM)
    with anyio.fail_after(20):
        return await process.wait()


async def test_the_readme_demo_runs_on_the_embedded_engine_and_stops_cleanly() -> None:
    command = [
        sys.executable,
        "-m",
        "begasist_core.channelbot.cli",
        "--hotel",
        "plaza",
        "--settings-file",
        str(DEMO_SETTINGS),
        "--embedded-engine",
    ]
    async with await anyio.open_process(command, env=environment()) as process:
        lines = await read_until(process, "ready: hotel plaza", within=30)
        assert any("embedded Valkey engine listening" in line for line in lines)
        assert await stop(process) == 0


async def test_an_unreachable_redis_is_one_log_line_and_retried_with_backoff() -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    command = [
        sys.executable,
        "-m",
        "begasist_core.channelbot.cli",
        "--hotel",
        "plaza",
        "--settings-file",
        str(DEMO_SETTINGS),
        "--redis-url",
        url,
    ]
    async with await anyio.open_process(command, env=environment()) as process:
        lines = await collect_for(process, 3.0)
        assert process.returncode is None, "the bot must keep retrying, not exit"
        outage_lines = [line for line in lines if "Redis unreachable" in line]
        assert len(outage_lines) == 1, lines
        assert "retrying with backoff" in outage_lines[0]
        assert await stop(process) == 0
