"""A guest socket that reads nothing is cut off, and a replica holds only so many sockets
(attacker review, issue 12, M3; both tests failed before: the session waited for ever)."""

from __future__ import annotations

import contextlib
import json
import socket as socketlib

import anyio
import httpx
import psutil
import pytest
from begasist_core import GUEST_CLOSE_UNAVAILABLE, GuestOutbox
from begasist_suite.config import SuiteSettings
from begasist_suite.guest.hub import GuestHub
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import ALLOWED_ORIGIN, HOTEL, guest, hello, next_frame, socket_url
from tests.suite.guest.test_socket import closed_with

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

FRAME_BYTES = 256 * 1024
FRAMES = 60
"""15 MiB of pushes: more than the kernel's socket buffers on both ends hold."""


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={"guest_send_timeout_seconds": 1.0, "guest_open_sockets": 2}
    )


async def test_a_socket_that_reads_nothing_is_cut_off(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as first:
        session = await hello(first)
    hub: GuestHub = suite.app.state.guest_hub
    host, port = suite.url.removeprefix("http://").split(":")
    raw = socketlib.socket()
    raw.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    async with connect(
        socket_url(suite),
        origin=Origin(ALLOWED_ORIGIN),
        sock=raw,
        max_queue=1,
        max_size=None,
        ping_interval=None,
    ) as stalled:
        await stalled.send(
            json.dumps({"type": "hello", "visitor": session["visitor"], "token": session["token"]})
        )
        # Guards against a regression hanging the run, not timing assertions.
        with anyio.fail_after(20):
            while hub.sockets() == 0:  # noqa: ASYNC110 (the hub has no event to wait on)
                await anyio.sleep(0.05)
        outbox = GuestOutbox(suite.redis, suite.names, HOTEL, "webchat")
        reply = json.dumps({"type": "message", "text": "x" * FRAME_BYTES}).encode()
        for _ in range(FRAMES):
            await outbox.deliver(session["visitor"], reply)
        # The stalled send ends the session ...
        with anyio.fail_after(30):
            while hub.sockets() > 0:  # noqa: ASYNC110
                await anyio.sleep(0.1)
        # ... and the server lets go of the connection at once rather than wait for the
        # guest to read what it holds (the server runs in this very process).
        with anyio.fail_after(30):
            while server_holds(int(port), raw.getsockname()[1]):  # noqa: ASYNC110 (nor the kernel)
                await anyio.sleep(0.1)
        with contextlib.suppress(ConnectionClosed, OSError):
            await stalled.close()


def server_holds(server_port: int, client_port: int) -> bool:
    """Whether this process has a socket of the server's end of that connection."""
    ends = (server_port, client_port)
    return any(
        held.laddr and held.raddr and (held.laddr.port, held.raddr.port) == ends
        for held in psutil.Process().net_connections(kind="tcp")
    )


async def test_a_replica_holds_only_so_many_guest_sockets(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as first, guest(suite) as second:
        for socket in (first, second):
            await hello(socket)
            await next_frame(socket)
        async with guest(suite) as third:
            with contextlib.suppress(ConnectionClosed):  # it may be closed before the hello
                await third.send(json.dumps({"type": "hello"}))
            assert await closed_with(third) == (
                GUEST_CLOSE_UNAVAILABLE,
                "too many connections here",
            )
