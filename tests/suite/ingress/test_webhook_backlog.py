"""A hotel's webhooks wait in its ingress stream while its bot is down, up to a bound.

Nothing unread is trimmed from an ingress stream, so the bound is what keeps a bot that
stays down from growing Redis without end: past ``ingress_backlog_limit`` unread
entries, webhooks answer 503 (the provider retries later) and nothing is written.
"""

from __future__ import annotations

import anyio
import pytest
from begasist_suite.config import SuiteSettings
from begasist_suite.ingress.backlog import BACKLOG_SECONDS

from tests.suite.conftest import RunningSuite
from tests.suite.ingress.test_webhooks import BODY, _entries, _seed, _signed

pytestmark = pytest.mark.anyio

LIMIT = 3


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(update={"ingress_backlog_limit": LIMIT})


async def test_webhooks_answer_503_once_the_bot_is_that_far_behind_then_flow_again(
    suite: RunningSuite,
) -> None:
    await _seed(suite, "plaza")
    await _seed(suite, "sol")
    async with suite.client() as client:
        for _ in range(LIMIT):
            response = await client.post(
                "/webhooks/plaza/demo", content=BODY, headers=_signed(BODY)
            )
            assert response.status_code == 200
        await anyio.sleep(BACKLOG_SECONDS)  # the figure a replica reuses is measured again
        refused = await client.post("/webhooks/plaza/demo", content=BODY, headers=_signed(BODY))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert len(await _entries(suite, "plaza")) == LIMIT
        # Another hotel is not held back by plaza's bot.
        other = await client.post("/webhooks/sol/demo", content=BODY, headers=_signed(BODY))
        assert other.status_code == 200

        # The bot comes back and acknowledges everything: webhooks flow again.
        stream = suite.names.ingress("plaza")
        await suite.redis.xgroup_create(stream, "channelbot", id="0")
        read = await suite.redis.xreadgroup("channelbot", "bot", {stream: ">"})
        await suite.redis.xack(stream, "channelbot", *[i for i, _ in read[0][1]])
        await anyio.sleep(BACKLOG_SECONDS)
        again = await client.post("/webhooks/plaza/demo", content=BODY, headers=_signed(BODY))
        assert again.status_code == 200
    assert len(await _entries(suite, "plaza")) == LIMIT + 1
