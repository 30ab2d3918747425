"""The chaos soak's processes: its own Redis, the suite, the bots; killed and restarted at will.

Every process is started in a session of its own (Ctrl-C reaches the soak,
which stops them) and registered with :class:`Children`, which kills whatever
is still running when the soak ends, however it ends. Everything listens on
127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio
import httpx
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "READY_SECONDS",
    "BotFleet",
    "Children",
    "RedisServer",
    "SuiteServer",
    "free_port",
    "quiet_environment",
]

REDIS_SERVER = "/usr/bin/redis-server"
READY_SECONDS = 60.0
"""How long a (re)started Redis or suite may take to answer."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def quiet_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any ``BEGASIST_*`` of the caller's, plus *settings*."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")}
    return {**kept, **settings}


class Children:
    """Every process the soak started; :meth:`kill_all` leaves none behind."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: dict[str, IO[bytes]] = {}

    def start(self, command: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        """Start *command* with its output appended to ``<log_dir>/<log>``."""
        if log not in self._logs:
            self._logs[log] = (self.log_dir / log).open("ab")
        output = self._logs[log]
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=output, start_new_session=True
        )
        self._processes.append(process)
        return process

    def kill_all(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        for process in self._processes:
            process.wait()
        self._processes.clear()
        for output in self._logs.values():
            output.close()
        self._logs.clear()


def kill_now(process: subprocess.Popen[bytes]) -> None:
    """``kill -9`` and reap it (a zombie would still hold nothing, but keep the table clean)."""
    if process.poll() is None:
        process.kill()
    process.wait()


class RedisServer:
    """``redis-server`` on a fixed port and data dir, so a restart finds its AOF again.

    ``appendfsync always``: every write acknowledged to a client is on disk
    before the answer, so a ``kill -9`` of Redis loses nothing and a loss the
    soak counts is Begasist's, not Redis's ``everysec`` second.
    """

    def __init__(self, children: Children, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._children = children
        self._dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._dir.mkdir(exist_ok=True)
        command = [
            REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self._dir), "--appendonly", "yes", "--appendfsync", "always",
            "--save", "", "--protected-mode", "yes",
        ]  # fmt: skip
        self._process = self._children.start(command, dict(os.environ), "redis.log")

    def kill(self) -> None:
        if self._process is not None:
            kill_now(self._process)

    async def wait_ready(self) -> float:
        """Wait until it answers PING (loading the AOF first); the seconds it took."""
        began = time.monotonic()
        client = redis.asyncio.Redis.from_url(self.url, socket_timeout=1)
        try:
            with anyio.fail_after(READY_SECONDS):
                while True:
                    if self._process is not None and self._process.poll() is not None:
                        raise RuntimeError("redis-server exited; see redis.log")
                    try:
                        await client.ping()
                        return time.monotonic() - began
                    except (RedisConnectionError, RedisTimeoutError, OSError):
                        # BusyLoadingError (the AOF still loading) is a ConnectionError.
                        await anyio.sleep(0.05)
        finally:
            await client.aclose()


class SuiteServer:
    """``begasist serve`` (uvicorn, SQLite) on a fixed port, so a restart keeps its address."""

    def __init__(self, children: Children, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._children = children
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running server's process id (for its memory and CPU), None before a start."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        command = [
            sys.executable, "-m", "begasist_suite.cli", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        self._process = self._children.start(command, self._env, "suite.log")

    def kill(self) -> None:
        if self._process is not None:
            kill_now(self._process)

    async def wait_ready(self) -> float:
        """Wait until ``/health`` answers 200; the seconds it took."""
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            with anyio.fail_after(READY_SECONDS):
                while True:
                    if self._process is not None and self._process.poll() is not None:
                        raise RuntimeError("the suite exited; see suite.log")
                    try:
                        if (await client.get("/health")).status_code == 200:
                            return time.monotonic() - began
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.05)


@dataclass
class Bot:
    hotel: str
    instance: str
    process: subprocess.Popen[bytes]


@dataclass
class BotFleet:
    """``channelbot`` processes, two per hotel (the lease makes one active, one standby)."""

    children: Children
    env: dict[str, str]
    tokens: dict[str, str]
    bots: dict[str, Bot] = field(default_factory=dict)
    """The bots started and not yet seen dead, by instance name."""
    started: int = 0
    killed: int = 0
    exits: list[tuple[str, int]] = field(default_factory=list)
    """(instance, exit code) of bots that exited without being killed by the soak."""

    def spawn(self, hotel: str) -> Bot:
        self.started += 1
        instance = f"{hotel}-bot{self.started:03d}"
        command = [
            sys.executable, "-m", "begasist_core.channelbot.cli",
            "--hotel", hotel, "--instance", instance,
        ]  # fmt: skip
        env = {**self.env, "BEGASIST_BOT_TOKEN": self.tokens[hotel]}
        bot = Bot(hotel, instance, self.children.start(command, env, "bots.log"))
        self.bots[instance] = bot
        return bot

    def kill(self, instance: str) -> bool:
        """``kill -9`` the bot named *instance*; False if it is not one of ours or not running."""
        bot = self.bots.pop(instance, None)
        if bot is None:
            return False
        if bot.process.poll() is not None:
            self.exits.append((instance, int(bot.process.returncode)))
            return False
        kill_now(bot.process)
        self.killed += 1
        return True

    def live(self, hotel: str) -> list[Bot]:
        return [b for b in self.bots.values() if b.hotel == hotel and b.process.poll() is None]

    def replace_exited(self, hotels: list[str], per_hotel: int) -> None:
        """Note bots that exited by themselves and start bots until each hotel has *per_hotel*.

        A bot exits by itself when it starts while the suite is down (it cannot
        fetch its settings: exit 2); an orchestrator would restart it, so the
        soak does too.
        """
        for instance, bot in list(self.bots.items()):
            if bot.process.poll() is not None:
                self.exits.append((instance, int(bot.process.returncode)))
                del self.bots[instance]
        for hotel in hotels:
            for _ in range(per_hotel - len(self.live(hotel))):
                self.spawn(hotel)
