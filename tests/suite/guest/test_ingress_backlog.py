"""Guests cannot push out ingress entries the bot has not read (attacker review, issue 12, M1).

A hotel's ingress stream is trimmed to a length whatever its bot has read, so
while the bot is down a guest flood would evict webhooks answered 200 and other
guests' accepted messages. Guest frames are refused (1013) once the hotel's
backlog reaches ``guest_ingress_backlog`` and past the hotel's frame budget;
both tests failed before (every frame was enqueued).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from begasist_core import GUEST_CLOSE_UNAVAILABLE, StreamNames
from begasist_suite.config import SuiteSettings
from begasist_suite.ingress.backlog import IngressBacklog
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello, ingress_entries, next_frame
from tests.suite.guest.test_socket import closed_with

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

BACKLOG = 3
GROUP = "channelbot"


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={"guest_ingress_backlog": BACKLOG, "guest_hotel_frames": 4}
    )


async def unread_webhooks(redis: Redis, stream: str, count: int) -> None:
    """Entries the bot has not read yet, as webhooks answered 200 leave them."""
    for number in range(count):
        await redis.xadd(stream, {b"e": f"webhook {number}".encode()})


async def test_guest_frames_wait_while_the_bot_is_behind_and_flow_once_it_caught_up(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    stream = suite.names.ingress(HOTEL)
    await unread_webhooks(suite.redis, stream, BACKLOG)
    async with guest(suite) as socket:
        session = await hello(socket)
        await next_frame(socket)
        await socket.send(json.dumps({"type": "message", "id": "client-0001", "text": "Hola"}))
        assert await closed_with(socket) == (GUEST_CLOSE_UNAVAILABLE, "busy: try again later")
    assert await ingress_entries(suite) == BACKLOG  # nothing of the guest's
    # The bot comes back and handles every entry: the guest's message goes in.
    await suite.redis.xgroup_create(stream, GROUP, id="0")
    read = await suite.redis.xreadgroup(GROUP, "bot", {stream: ">"})
    await suite.redis.xack(stream, GROUP, *[entry_id for entry_id, _ in read[0][1]])
    with anyio.fail_after(20):  # a guard, not a timing assertion: the backlog is cached ~1 s
        while True:
            async with guest(suite) as socket:
                await hello(socket, visitor=session["visitor"], token=session["token"])
                await next_frame(socket)
                frame = {"type": "message", "id": "client-0001", "text": "Hola"}
                await socket.send(json.dumps(frame))
                if (await closed_or_answer(socket)) == {"type": "accepted", "id": "client-0001"}:
                    break
            await anyio.sleep(0.2)
    assert await ingress_entries(suite) == BACKLOG + 1


async def test_a_hotel_takes_only_so_many_guest_frames_a_window(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as ana, guest(suite) as ben:
        for socket in (ana, ben):
            await hello(socket)
            await next_frame(socket)
        for number in range(2):
            for socket in (ana, ben):
                frame = {"type": "message", "id": f"client-{number:04d}", "text": "Hola"}
                await socket.send(json.dumps(frame))
                assert (await next_frame(socket))["type"] == "accepted"
        await ana.send(json.dumps({"type": "message", "id": "client-0009", "text": "Hola"}))
        assert await closed_with(ana) == (GUEST_CLOSE_UNAVAILABLE, "busy: try again later")
    assert await ingress_entries(suite) == 4


async def closed_or_answer(socket: ClientConnection) -> dict[str, Any] | None:
    """The next frame, or None when the suite closed the socket instead."""
    try:
        return await next_frame(socket)
    except ConnectionClosed:
        return None


async def test_the_backlog_is_what_the_most_lagging_group_has_not_finished(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    backlog = IngressBacklog(begasist_redis, begasist_names, seconds=0.0)
    stream = begasist_names.ingress(HOTEL)
    assert await backlog.entries(HOTEL) == 0  # no stream yet
    await unread_webhooks(begasist_redis, stream, 5)
    assert await backlog.entries(HOTEL) == 5  # no group: no bot ever read any
    await begasist_redis.xgroup_create(stream, GROUP, id="0")
    assert await backlog.entries(HOTEL) == 5
    read = await begasist_redis.xreadgroup(GROUP, "bot", {stream: ">"}, count=2)
    assert await backlog.entries(HOTEL) == 5  # read, not yet acknowledged: still at risk
    await begasist_redis.xack(stream, GROUP, *[entry_id for entry_id, _ in read[0][1]])
    assert await backlog.entries(HOTEL) == 3
    await begasist_redis.xgroup_create(stream, "another", id="$")
    assert await backlog.entries(HOTEL) == 3  # the most lagging group counts
    read = await begasist_redis.xreadgroup(GROUP, "bot", {stream: ">"})
    await begasist_redis.xack(stream, GROUP, *[entry_id for entry_id, _ in read[0][1]])
    assert await backlog.entries(HOTEL) == 0


async def test_entries_trimmed_unread_do_not_count_once_the_bot_caught_up(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    """Redis keeps counting entries trimmed before the group read them in its ``lag``: a
    bot that caught up after such a loss must not keep its hotel's guests out for ever."""
    backlog = IngressBacklog(begasist_redis, begasist_names, seconds=0.0)
    stream = begasist_names.ingress(HOTEL)
    await begasist_redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    for number in range(50):
        await begasist_redis.xadd(stream, {b"e": b"%d" % number}, maxlen=10, approximate=False)
    await begasist_redis.xreadgroup(GROUP, "bot", {stream: ">"}, count=5)
    for number in range(50):
        await begasist_redis.xadd(stream, {b"e": b"%d" % number}, maxlen=10, approximate=False)
    read = await begasist_redis.xreadgroup(GROUP, "bot", {stream: ">"})
    pending = await begasist_redis.xpending_range(stream, GROUP, min="-", max="+", count=100)
    await begasist_redis.xack(stream, GROUP, *[entry["message_id"] for entry in pending])
    assert read  # the bot read what was left
    [info] = await begasist_redis.xinfo_groups(stream)
    assert info["lag"] is None or info["lag"] > 0  # what Redis reports after the loss
    assert await backlog.entries(HOTEL) == 0
