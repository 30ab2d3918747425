"""The web app's forms go through the outbox as the API does: answered while Redis is down,
published by the relay once it is back, never by the form itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from begasist_core import Event, decode_event
from begasist_core.events.envelope import (
    ChannelCommandEvent,
    ConfigChangedEvent,
    MessageSendEvent,
)
from begasist_suite.config import SuiteSettings

from tests.suite.api.seed import seed_hotel
from tests.suite.conftest import RunningSuite, outbox_drained
from tests.suite.redis_cut import RedisCut, redis_cut
from tests.suite.web.conftest import form_token, sign_in

pytestmark = pytest.mark.anyio


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


async def test_forms_taken_while_redis_is_down_go_out_through_the_outbox_once_it_is_back(
    suite: RunningSuite, cut: RedisCut
) -> None:
    plaza = await seed_hotel(suite, "plaza")
    conversation = f"/hotels/plaza/conversations/{plaza.conversation.id}"
    outbound = suite.names.outbound("plaza")
    control = suite.names.control("plaza")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")  # the login limiter needs Redis
        token = form_token(await client.get(conversation))
        await outbox_drained(suite)
        outbound_before = await stream(suite, outbound)
        control_before = await stream(suite, control)
        cut.cut()

        answers = [
            await client.post(
                f"{conversation}/reply", data={"form_token": token, "text": "We open at 7"}
            ),
            await client.post(
                f"/hotels/plaza/drafts/{plaza.draft.id}/approve",
                data={"form_token": token, "action": "approve"},
            ),
            await client.post(
                "/hotels/plaza/channels/demo/commands",
                data={"form_token": token, "command": "restart"},
            ),
            await client.post(
                "/hotels/plaza/assistant/mode",
                data={"form_token": token, "channel": "demo", "mode": "manual"},
            ),
        ]
        assert [a.status_code for a in answers] == [303] * 4, answers[0].text

        # Stored with their events; nothing reached Redis.
        assert (await suite.store.outbox_backlog("plaza")).pending == 4
        assert await stream(suite, outbound) == outbound_before
        assert await stream(suite, control) == control_before
        config = await suite.store.get_channel_config("plaza", "demo")
        assert config is not None
        assert config.settings["mode"] == "manual"

        cut.restore()
        await outbox_drained(suite)

    sent = (await stream(suite, outbound))[len(outbound_before) :]
    messages = (await suite.store.list_messages("plaza", plaza.conversation.id)).items
    reply = next(m for m in messages if m.text == "We open at 7")
    assert sorted(e.data.message.id for e in sent if isinstance(e, MessageSendEvent)) == sorted(
        [reply.id, f"{plaza.draft.id}-sent"]
    )
    told = (await stream(suite, control))[len(control_before) :]
    commands = [e for e in told if isinstance(e, ChannelCommandEvent)]
    assert [(c.data.channel, c.data.command) for c in commands] == [("demo", "restart")]
    hotel = await suite.store.get_hotel("plaza")
    assert hotel is not None
    changes = [e.data.version for e in told if isinstance(e, ConfigChangedEvent)]
    assert changes == [hotel.config_version]


async def test_pages_and_routes_that_read_redis_answer_503_while_it_is_down(
    suite: RunningSuite, cut: RedisCut
) -> None:
    """Status, presence and dead letters live in Redis: while it is down they answer 503
    with Retry-After (a page in the person's language, or JSON), never a 500, and work
    again once it is back."""
    await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        cut.cut()
        status = await client.get("/api/v1/hotels/plaza/status")
        assert status.status_code == 503, status.text
        assert status.headers["retry-after"] == "1"
        assert status.json()["detail"] == "Redis is unavailable for a moment: retry"
        page = await client.get("/hotels/plaza/operations")
        assert page.status_code == 503, page.text
        assert page.headers["retry-after"] == "1"
        assert "Not available for a moment" in page.text
        cut.restore()
        assert (await client.get("/api/v1/hotels/plaza/status")).status_code == 200
        assert (await client.get("/hotels/plaza/operations")).status_code == 200
