"""A master, a replica and three Sentinels of the test's own: Debian's ``redis-server``
and ``redis-sentinel`` (or ``redis-server --sentinel`` where that package is missing)
as our children on throwaway ports, with a short down-after so a failover takes seconds.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from begasist_core.bus.redis_settings import RedisSettings
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.core.redis_server import free_port

__all__ = ["MASTER_NAME", "ReplicatedRedis", "replicated_redis", "require_redis_server"]

MASTER_NAME = "begasist-test"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
START_SECONDS = 30


def require_redis_server() -> str:
    """The ``redis-server`` executable; the test fails (never skips) without it."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server redis-sentinel)")
    return executable


def _sentinel_command(config: Path) -> list[str]:
    sentinel = shutil.which("redis-sentinel")
    if sentinel is not None:
        return [sentinel, str(config)]
    # Debian's redis-sentinel package is the same binary started in Sentinel mode.
    return [require_redis_server(), str(config), "--sentinel"]


class PortTaken(Exception):
    """Our server exited at once: something else took its port after we picked it."""


@dataclass
class ReplicatedRedis:
    """Our servers: ports, processes, and what to kill or start again."""

    directory: Path
    ports: list[int]
    """The data servers' ports: the first starts as master, the second as its replica."""
    sentinel_ports: list[int]
    processes: dict[int, Process] = field(default_factory=dict)

    @property
    def sentinels(self) -> str:
        """``BEGASIST_REDIS_SENTINELS``' value for these Sentinels."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def settings(self) -> RedisSettings:
        return RedisSettings(
            redis_sentinels=self.sentinels,  # type: ignore[arg-type]  # parsed by the model
            redis_sentinel_master=MASTER_NAME,
        )

    def url(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    async def start_server(self, port: int, *, replica_of: int | None = None) -> None:
        arguments = [
            require_redis_server(),
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(self.directory), "--dbfilename", f"dump-{port}.rdb"),
        ]
        if replica_of is not None:
            arguments += ["--replicaof", "127.0.0.1", str(replica_of)]
        await self._spawn(port, arguments)

    async def start_sentinel(self, port: int, master_port: int) -> None:
        config = self.directory / f"sentinel-{port}.conf"
        config.write_text(
            f"port {port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n",
            encoding="utf-8",
        )
        await self._spawn(port, _sentinel_command(config))

    async def _spawn(self, port: int, arguments: list[str]) -> None:
        process = await anyio.open_process(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes[port] = process
        with anyio.fail_after(START_SECONDS):
            # Ours answering, not another test's server that took the port first.
            while process.returncode is None:
                try:
                    async with Redis(port=port, socket_connect_timeout=1) as probe:
                        answering = int((await probe.info("server"))["process_id"])
                except (RedisError, OSError):
                    answering = None
                if answering == process.pid:
                    return
                await anyio.sleep(0.02)
        del self.processes[port]
        raise PortTaken(port)

    async def kill(self, port: int) -> None:
        """SIGKILL the server on *port*: a crash, nothing flushed, no goodbye."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def master_port(self) -> int:
        """The master's port as the Sentinels have it now."""
        async with Redis(port=self.sentinel_ports[0]) as sentinel:
            _, port = await sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
        return int(port)

    async def wait_until_replicated(self, master_port: int) -> None:
        """Until *master_port* has a replica in sync (``slave0`` online)."""
        async with Redis(port=master_port) as master:
            while True:
                info = await master.info("replication")
                replica = info.get("slave0")
                if (
                    info.get("role") == "master"
                    and isinstance(replica, dict)
                    and replica.get("state") == "online"
                ):
                    return
                await anyio.sleep(0.05)

    async def wait_until_sentinels_agree(self, master_port: int) -> None:
        """Until every Sentinel names *master_port* and knows the replica and the others."""
        for port in self.sentinel_ports:
            async with Redis(port=port, decode_responses=True) as sentinel:
                while True:
                    state = await sentinel.sentinel_master(MASTER_NAME)
                    if (
                        int(state["port"]) == master_port
                        and int(state["num-slaves"]) >= 1
                        and int(state["num-other-sentinels"]) >= len(self.sentinel_ports) - 1
                        and not state.get("is_sdown")
                        and not state.get("is_odown")
                    ):
                        break
                    await anyio.sleep(0.1)

    async def wait_for_failover(self, old_master: int) -> int:
        """Until the Sentinels name another master than *old_master*; its port."""
        while True:
            port = await self.master_port()
            if port != old_master:
                return port
            await anyio.sleep(0.1)


@asynccontextmanager
async def replicated_redis(
    directory: Path, *, sentinels: int = 3
) -> AsyncIterator[ReplicatedRedis]:
    """A master with one replica in sync, and *sentinels* Sentinels (0: none) agreeing on it."""
    for _ in range(5):
        servers = ReplicatedRedis(
            directory=directory,
            ports=[free_port(), free_port()],
            sentinel_ports=[free_port() for _ in range(sentinels)],
        )
        if len({*servers.ports, *servers.sentinel_ports}) < 2 + sentinels:
            continue
        async with AsyncExitStack() as stack:
            stack.push_async_callback(_kill_all, servers)
            try:
                await _start(servers)
            except PortTaken:
                continue  # other tests start servers on free ports too: pick others
            yield servers
            return
    pytest.fail("could not start the test's Redis servers on free ports")


async def _start(servers: ReplicatedRedis) -> None:
    master, replica = servers.ports
    await servers.start_server(master)
    await servers.start_server(replica, replica_of=master)
    with anyio.fail_after(START_SECONDS):
        await servers.wait_until_replicated(master)
    for port in servers.sentinel_ports:
        await servers.start_sentinel(port, master)
    if servers.sentinel_ports:
        with anyio.fail_after(START_SECONDS):
            await servers.wait_until_sentinels_agree(master)


async def _kill_all(servers: ReplicatedRedis) -> None:
    with anyio.CancelScope(shield=True):
        for port in list(servers.processes):
            await servers.kill(port)
