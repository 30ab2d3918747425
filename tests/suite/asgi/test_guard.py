"""The request guard over real HTTP: header limits, request ids, body deadlines, logged 5xx."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import NoReturn

import anyio
import pytest
from begasist_channel_demo.webhook import sign_body
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import Role
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.suite.api.seed import personal_token
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.ingress.test_webhooks import BODY, SECRET, _entries, _seed

pytestmark = pytest.mark.anyio

READ_TIMEOUT = 1.0
DEADLINE = 15.0
"""How long a test waits for what the server must do (no timing is asserted)."""


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"request_read_timeout_seconds": READ_TIMEOUT})


def repeated(name: str, value: str, count: int) -> list[tuple[str, str]]:
    return [(name, value)] * count


async def test_too_many_headers_on_a_webhook_answer_431_and_enqueue_nothing(
    suite: RunningSuite,
) -> None:
    await _seed(suite, "plaza")
    signature = sign_body(SECRET, BODY)
    headers = [
        ("content-type", "application/json"),
        *repeated("x-demo-signature", signature, 1000),
    ]
    async with suite.client() as client:
        answer = await client.post("/webhooks/plaza/demo", content=BODY, headers=headers)
    assert answer.status_code == 431
    assert await _entries(suite, "plaza") == []


@pytest.mark.parametrize("path", ["/health", "/api/v1/me", "/webhooks/_app/whatsapp"])
async def test_too_many_headers_answer_431_on_every_route(suite: RunningSuite, path: str) -> None:
    limit = suite.settings.max_request_headers
    async with suite.client() as client:
        over = await client.get(path, headers=repeated("x-filler", "1", limit + 1))
    assert over.status_code == 431


async def test_headers_over_the_byte_limit_answer_431(suite: RunningSuite) -> None:
    size = 4096
    count = suite.settings.max_header_bytes // size + 1
    headers = [(f"x-filler-{n}", "v" * size) for n in range(count)]
    async with suite.client() as client:
        over = await client.get("/health", headers=headers)
        under = await client.get("/health", headers=headers[: count // 2])
    assert (over.status_code, under.status_code) == (431, 200)


async def test_a_websocket_with_too_many_headers_is_refused(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.AGENT)
    url = suite.url.replace("http://", "ws://") + "/api/v1/hotels/plaza/live"
    filler = repeated("x-filler", "1", suite.settings.max_request_headers + 1)
    with pytest.raises(InvalidStatus):
        async with connect(url, additional_headers=filler):
            pass


async def test_every_answer_carries_a_request_id(suite: RunningSuite) -> None:
    async with suite.client() as client:
        first = await client.get("/health")
        second = await client.get("/webhooks/nowhere/demo")
        from_proxy = await client.get("/health", headers={"x-request-id": "edge-4f2a.9"})
        forged = await client.get("/health", headers={"x-request-id": "a b\tc"})
    generated = [first, second, forged]
    ids = [answer.headers["x-request-id"] for answer in generated]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)
    assert from_proxy.headers["x-request-id"] == "edge-4f2a.9"


async def test_a_failing_api_route_answers_500_and_logs_its_traceback_with_the_id(
    suite: RunningSuite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.AGENT)

    async def store_down(*_: object, **__: object) -> NoReturn:
        raise RuntimeError("the store is down")

    async with suite.client() as client:
        await suite.login(client, "ana@plaza.test")
        monkeypatch.setattr(suite.store, "list_memberships", store_down)
        with caplog.at_level(logging.INFO, logger="begasist.requests"):
            answer = await client.get("/api/v1/me")
    assert answer.status_code == 500
    request_id = answer.headers["x-request-id"]
    assert answer.json()["request_id"] == request_id
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "the store is down" in str(record.exc_info[1])


async def test_a_failing_webhook_answers_500_and_logs_its_traceback_with_the_id(
    suite: RunningSuite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(suite, "plaza")

    async def broken(*_: object, **__: object) -> NoReturn:
        raise RuntimeError("a bug in the ingress")

    monkeypatch.setattr(suite.app.state.ingress_batcher, "publish", broken)
    signed = {"x-demo-signature": sign_body(SECRET, BODY)}
    async with suite.client() as client:
        with caplog.at_level(logging.INFO, logger="begasist.requests"):
            answer = await client.post("/webhooks/plaza/demo", content=BODY, headers=signed)
    assert answer.status_code == 500
    request_id = answer.headers["x-request-id"]
    assert answer.json()["request_id"] == request_id
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None
    assert "a bug in the ingress" in str(record.exc_info[1])


async def test_a_503_is_logged_with_its_request_id(
    suite: RunningSuite, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(suite, "plaza")
    await suite.redis.set(suite.names.ingress("plaza"), "not a stream")  # XADD fails
    signed = {"x-demo-signature": sign_body(SECRET, BODY)}
    async with suite.client() as client:
        with caplog.at_level(logging.INFO, logger="begasist.requests"):
            answer = await client.post("/webhooks/plaza/demo", content=BODY, headers=signed)
    assert answer.status_code == 503
    request_id = answer.headers["x-request-id"]
    assert any(request_id in r.getMessage() and "503" in r.getMessage() for r in caplog.records)


async def half_a_request(suite: RunningSuite, path: str) -> anyio.abc.SocketStream:
    """A connection that sent its headers and half its declared body, then stalls."""
    host, port = suite.url.removeprefix("http://").split(":")
    stream = await anyio.connect_tcp(host, int(port))
    await stream.send(
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        "content-length: 100\r\n\r\n".encode()
        + b"{" * 50
    )
    return stream


async def read_until_closed(stream: anyio.abc.SocketStream) -> bytes:
    received = b""
    with anyio.fail_after(DEADLINE):
        while True:
            try:
                received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return received


@pytest.mark.parametrize("path", ["/webhooks/plaza/demo", "/api/v1/auth/login"])
async def test_a_stalled_body_is_cut_off_while_others_are_served(
    suite: RunningSuite, path: str
) -> None:
    await _seed(suite, "plaza")
    stream = await half_a_request(suite, path)
    async with stream:
        async with suite.client() as client:
            meanwhile = await client.get("/health")
        answer = await read_until_closed(stream)
    assert meanwhile.status_code == 200
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert await _entries(suite, "plaza") == []
    async with suite.client() as client:
        assert (await client.get("/health")).status_code == 200


async def test_a_body_that_arrives_in_pieces_in_time_is_taken(suite: RunningSuite) -> None:
    await _seed(suite, "plaza")

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), 16):
            yield BODY[start : start + 16]

    signed = {"x-demo-signature": sign_body(SECRET, BODY)}
    async with suite.client() as client:
        answer = await client.post("/webhooks/plaza/demo", content=pieces(), headers=signed)
    assert answer.status_code == 200
    assert len(await _entries(suite, "plaza")) == 1


async def test_a_failing_websocket_handler_is_logged_with_the_id(
    suite: RunningSuite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_member(suite.store, "plaza", "ana@plaza.test", Role.AGENT)
    token = await personal_token(suite, "ana@plaza.test")

    def broken(*_: object) -> NoReturn:
        raise RuntimeError("a bug behind the live socket")

    monkeypatch.setattr("begasist_suite.api.live.inbox_channel", broken)
    url = suite.url.replace("http://", "ws://") + "/api/v1/hotels/plaza/live"
    with caplog.at_level(logging.INFO, logger="begasist.requests"):
        async with connect(url, additional_headers={"authorization": f"Bearer {token}"}) as socket:
            assert socket.response is not None
            request_id = socket.response.headers["x-request-id"]
            with anyio.fail_after(DEADLINE):
                await socket.wait_closed()
    assert socket.close_code == 4500
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "a bug behind the live socket" in str(record.exc_info[1])
