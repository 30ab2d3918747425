"""The server's bounds on request heads: slow, silent or endless ones are cut off."""

from __future__ import annotations

import json

import anyio
import pytest
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import Role
from websockets.asyncio.client import connect

from tests.suite.api.seed import personal_token
from tests.suite.conftest import RunningSuite, add_member

pytestmark = pytest.mark.anyio

DEADLINE = 15.0
"""How long a test waits for the server to close (no timing is asserted)."""


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"request_read_timeout_seconds": 1.0})


async def closed_by_server(suite: RunningSuite, sent: bytes) -> bytes:
    """Open a connection, send *sent*, stall; what the server sent before closing it."""
    host, port = suite.url.removeprefix("http://").split(":")
    received = b""
    async with await anyio.connect_tcp(host, int(port)) as stream:
        if sent:
            await stream.send(sent)
        async with suite.client() as client:
            assert (await client.get("/health")).status_code == 200  # others are served
        with anyio.fail_after(DEADLINE):
            while True:
                try:
                    received += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return received


async def test_headers_that_never_end_are_cut_off(suite: RunningSuite) -> None:
    assert await closed_by_server(suite, b"GET /health HTTP/1.1\r\nhost: suite\r\nx-slow: ") == b""


async def test_a_connection_that_sends_nothing_is_closed(suite: RunningSuite) -> None:
    assert await closed_by_server(suite, b"") == b""


async def test_a_websocket_outlives_the_header_deadline(suite: RunningSuite) -> None:
    """The upgrade hands the connection over: the deadline must not close it later."""
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.AGENT)
    token = await personal_token(suite, "ana@plaza.test")
    url = suite.url.replace("http://", "ws://") + "/api/v1/hotels/plaza/live"
    headers = {"authorization": f"Bearer {token}"}
    async with connect(url, additional_headers=headers) as socket:
        await anyio.sleep(3 * suite.settings.request_read_timeout_seconds)
        await socket.send("ping")
        with anyio.fail_after(DEADLINE):
            assert json.loads(await socket.recv()) == {"kind": "pong"}


async def test_an_endless_header_block_is_refused_before_it_is_gathered(
    suite: RunningSuite,
) -> None:
    line = b"x-filler: " + b"f" * 1000 + b"\r\n"
    lines = suite.settings.max_header_bytes // len(line) + 64
    answer = await closed_by_server(
        suite, b"GET /health HTTP/1.1\r\nhost: suite\r\n" + line * lines
    )
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_body_left_unread_is_not_taken_for_the_next_head(suite: RunningSuite) -> None:
    """A 404 answered before the upload ended: its body still streams in, then a request."""
    body = b"x" * (4 * suite.settings.max_header_bytes)
    async with suite.client() as client:
        refused = await client.post("/webhooks/nowhere/demo", content=body)
        after = await client.get("/health")  # the same kept-alive connection
    assert (refused.status_code, after.status_code) == (404, 200)
