"""What the API accepts while Redis is down is answered, kept, and published once it is back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import anyio
import pytest
from begasist_core import Event, decode_event
from begasist_core.events.envelope import (
    ChannelCommandEvent,
    ConfigChangedEvent,
    MessageSendEvent,
)
from begasist_suite.config import SuiteSettings

from tests.suite.api.seed import DEMO, json_of, seed_hotel
from tests.suite.conftest import RunningSuite, outbox_drained
from tests.suite.redis_cut import RedisCut, redis_cut

pytestmark = pytest.mark.anyio

PLAZA = "/api/v1/hotels/plaza"
RELAY_LOGGER = "begasist_suite.inbox.relay"


@pytest.fixture
async def cut(begasist_redis_url: str) -> AsyncIterator[RedisCut]:
    target = urlsplit(begasist_redis_url)
    async with redis_cut(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        yield proxy


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings, cut: RedisCut) -> SuiteSettings:
    """The suite reaches Redis through the proxy; the test reads Redis directly."""
    return suite_settings.model_copy(update={"redis_url": cut.url})


async def stream(suite: RunningSuite, name: str) -> list[Event]:
    return [decode_event(fields[b"e"]) for _, fields in await suite.redis.xrange(name)]


async def test_replies_commands_and_settings_taken_while_redis_is_down_go_out_once_it_is_back(
    suite: RunningSuite, cut: RedisCut, caplog: pytest.LogCaptureFixture
) -> None:
    plaza = await seed_hotel(suite, "plaza")
    messages = f"{PLAZA}/conversations/{plaza.conversation.id}/messages"
    settings = f"{PLAZA}/channels/{DEMO}"
    async with suite.client() as manager:
        await suite.login(manager, "manager@plaza.test")  # the login limiter needs Redis
        caplog.set_level(logging.INFO, logger=RELAY_LOGGER)
        cut.cut()

        replies = [await manager.post(messages, json={"text": f"reply {n}"}) for n in range(3)]
        assert [r.status_code for r in replies] == [202, 202, 202], replies[0].text
        assert {r.json()["status"] for r in replies} == {"queued"}
        changed = json_of(await manager.put(settings, json={"webhook_secret": "s" * 24}))
        command = await manager.post(f"{settings}/commands", json={"command": "restart"})
        assert command.status_code == 202, command.text

        # Stored and answered; nothing reached Redis.
        for reply in replies:
            stored = await suite.store.get_message("plaza", reply.json()["id"])
            assert stored is not None
            assert stored.status == "queued"
        backlog = await suite.store.outbox_backlog("plaza")
        assert backlog.pending == 5
        assert backlog.oldest_age_seconds is not None
        assert await stream(suite, suite.names.outbound("plaza")) == []
        assert await stream(suite, suite.names.control("plaza")) == []

        async def outage_logged() -> bool:
            return any(
                r.name == RELAY_LOGGER and "unreachable" in r.message for r in caplog.records
            )

        with anyio.fail_after(10):
            while not await outage_logged():  # noqa: ASYNC110 (the log has no event to wait on)
                await anyio.sleep(0.02)
        cut.restore()
        await outbox_drained(suite)
        status = json_of(await manager.get(f"{PLAZA}/status"))
        assert status["outbox"] == {
            "pending": 0,
            "pending_capped": False,
            "oldest_age_seconds": None,
        }

    sent = await stream(suite, suite.names.outbound("plaza"))
    assert all(isinstance(event, MessageSendEvent) for event in sent)
    assert sorted(e.data.message.id for e in sent if isinstance(e, MessageSendEvent)) == sorted(
        r.json()["id"] for r in replies
    )
    control = await stream(suite, suite.names.control("plaza"))
    versions = [e.data.version for e in control if isinstance(e, ConfigChangedEvent)]
    commands = [e for e in control if isinstance(e, ChannelCommandEvent)]
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    assert versions == [hotel.config_version]
    assert [c.id for c in commands] == [command.json()["event_id"]]
    assert changed["channel"] == DEMO
    # One warning for the whole outage, however often the relay tried.
    outage_lines = [
        r for r in caplog.records if r.name == RELAY_LOGGER and r.levelno >= logging.WARNING
    ]
    assert len(outage_lines) == 1, [r.message for r in outage_lines]
