"""The outbox relay with BEGASIST_REDIS_WAIT_REPLICAS: done only once a replica has the entry."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from begasist_core.bus.redis_settings import RedisSettings, redis_client
from begasist_core.bus.replication import NotReplicated
from begasist_core.events.envelope import MessageSendEvent
from begasist_suite.config import SuiteSettings
from begasist_suite.inbox.relay import OutboxRelay
from begasist_suite.store.store import Store

from tests.core.sentinel_servers import replicated_redis
from tests.suite.conftest import TEST_SECRET_KEY
from tests.suite.inbox.test_relay import HOTEL, a_conversation, events, queue_replies, services_for

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


async def test_without_a_replica_the_entries_stay_in_the_outbox(
    tmp_path: Path, suite_store: Store
) -> None:
    async with replicated_redis(tmp_path, sentinels=0) as servers:
        master, replica = servers.ports
        settings = SuiteSettings(
            redis_url=servers.url(master),
            prefix="relay-wait",
            secret_key=TEST_SECRET_KEY,
            redis_wait_replicas=1,
            redis_wait_timeout_ms=300,
        )
        redis = redis_client(RedisSettings(redis_url=settings.redis_url))
        try:
            services = services_for(suite_store, redis, settings)
            relay = OutboxRelay(services)
            ids = await queue_replies(suite_store, await a_conversation(suite_store), 2)

            await servers.kill(replica)
            with pytest.raises(NotReplicated):
                await relay.relay_once()
            # Given back, due at once: not marked done on the strength of the master alone.
            assert (await suite_store.outbox_backlog()).pending == 2

            await servers.start_server(replica, replica_of=master)
            with anyio.fail_after(30):
                await servers.wait_until_replicated(master)
            assert await relay.relay_once() == 2
            assert (await suite_store.outbox_backlog()).pending == 0
            sent = await events(redis, services.names.outbound(HOTEL))
            # The first attempt's entries stayed on the master: delivered twice, sent once
            # (the bot sends once per message id).
            assert {e.data.message.id for e in sent if isinstance(e, MessageSendEvent)} == set(ids)
        finally:
            await redis.aclose()
