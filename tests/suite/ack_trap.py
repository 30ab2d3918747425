"""A TCP proxy in front of Redis that swallows the first XACK on a chosen stream.

The end-to-end test runs a real bot through it to kill the bot at one exact
point: after its send went out and was recorded, before Redis learned the
entry was done. The proxy reads the client's RESP commands (arrays of bulk
strings, which is all redis-py sends), forwards everything else unchanged,
and when it sees ``XACK <stream containing marker>`` it holds that command and
everything after it on that connection, and sets :attr:`trapped`. The test
then kills the bot; its entry is still pending, as after a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import SocketStream

__all__ = ["AckTrap", "ack_trap"]


class AckTrap:
    """The running proxy: clients connect to ``port``; :attr:`trapped` is set on the XACK."""

    def __init__(self, upstream_host: str, upstream_port: int, marker: bytes) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.marker = marker
        self.trapped = anyio.Event()
        self.port = 0

    async def serve_client(self, client: SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp(*self.upstream) as server,
            anyio.create_task_group() as pipes,
        ):
            pipes.start_soon(self._replies, server, client)
            await self._commands(client, server)
            pipes.cancel_scope.cancel()

    async def _replies(self, server: SocketStream, client: SocketStream) -> None:
        try:
            async for chunk in server:
                await client.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async def _commands(self, client: SocketStream, server: SocketStream) -> None:
        buffer = bytearray()
        try:
            async for chunk in client:
                buffer += chunk
                while (parsed := _one_command(buffer)) is not None:
                    args, size = parsed
                    if self._is_the_ack(args):
                        self.trapped.set()
                        await anyio.sleep_forever()  # hold it and all that follows
                    await server.send(bytes(buffer[:size]))
                    del buffer[:size]
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            pass

    def _is_the_ack(self, args: list[bytes]) -> bool:
        return (
            not self.trapped.is_set()
            and len(args) > 1
            and args[0].upper() == b"XACK"
            and self.marker in args[1]
        )


def _one_command(buffer: bytearray) -> tuple[list[bytes], int] | None:
    """The first complete RESP array in *buffer* and its length, or None if incomplete."""
    if not buffer:
        return None
    if buffer[:1] != b"*":
        raise ValueError(f"the proxy reads RESP arrays only, got {bytes(buffer[:20])!r}")
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    count = int(buffer[1:end])
    position = end + 2
    args: list[bytes] = []
    for _ in range(count):
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        length = int(buffer[position + 1 : end])
        start = end + 2
        if len(buffer) < start + length + 2:
            return None
        args.append(bytes(buffer[start : start + length]))
        position = start + length + 2
    return args, position


@asynccontextmanager
async def ack_trap(upstream_host: str, upstream_port: int, marker: bytes) -> AsyncIterator[AckTrap]:
    """Serve an :class:`AckTrap` on 127.0.0.1 and a free port for the block's duration."""
    trap = AckTrap(upstream_host, upstream_port, marker)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    trap.port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, trap.serve_client)
        try:
            yield trap
        finally:
            tasks.cancel_scope.cancel()
