"""A TCP proxy in front of Redis that the test can cut and restore: a Redis outage on demand.

Clients connect to :attr:`RedisCut.url`. :meth:`RedisCut.cut` closes every
open connection and closes each new one as soon as it is accepted, so the
client sees what it sees when the server goes away (a reset, then refused
work); :meth:`RedisCut.restore` lets connections through again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ByteStream, SocketAttribute, SocketStream

__all__ = ["RedisCut", "redis_cut"]


class RedisCut:
    """The running proxy to ``upstream``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.is_cut = False
        self._links: set[anyio.CancelScope] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut(self) -> None:
        """Drop every connection and refuse new ones until :meth:`restore`."""
        self.is_cut = True
        for link in list(self._links):
            link.cancel()

    def restore(self) -> None:
        self.is_cut = False

    async def serve_client(self, client: SocketStream) -> None:
        if self.is_cut:
            await client.aclose()
            return
        with anyio.CancelScope() as link:
            self._links.add(link)
            try:
                async with (
                    client,
                    await anyio.connect_tcp(*self.upstream) as server,
                    anyio.create_task_group() as pipes,
                ):
                    pipes.start_soon(_pipe, client, server, pipes.cancel_scope)
                    pipes.start_soon(_pipe, server, client, pipes.cancel_scope)
            finally:
                self._links.discard(link)


async def _pipe(source: ByteStream, sink: ByteStream, both: anyio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
        pass
    both.cancel()  # one side went: close the other


@asynccontextmanager
async def redis_cut(upstream_host: str, upstream_port: int) -> AsyncIterator[RedisCut]:
    """Serve a :class:`RedisCut` on 127.0.0.1 and a free port for the block's duration."""
    proxy = RedisCut(upstream_host, upstream_port)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    proxy.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, proxy.serve_client)
        try:
            yield proxy
        finally:
            tasks.cancel_scope.cancel()
