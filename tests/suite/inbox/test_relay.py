"""The outbox relay: each entry published once by many relays, again after a crash, never lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
import pytest
from begasist_core import (
    REDIS_UNAVAILABLE,
    ChannelCommand,
    Direction,
    Event,
    GuestIdentity,
    Message,
    PluginManager,
    decode_event,
    make_event,
    redis_from_url,
    utc_now,
)
from begasist_core.events.envelope import MessageSendEvent
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.inbox.relay import OutboxRelay
from begasist_suite.secret_box import SecretBox
from begasist_suite.services import Services
from begasist_suite.store.astra import AstraDatabase
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import ConversationRecord, Hotel
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from redis.asyncio import Redis

from tests.suite.conftest import TEST_SECRET_KEY, serving
from tests.suite.store.astra_fixture import token

pytestmark = pytest.mark.anyio

HOTEL = "plaza"


def services_for(store: Store, redis: Redis, settings: SuiteSettings) -> Services:
    """The suite's services without an app: no relay but the test's runs."""
    return Services(
        settings=settings,
        store=store,
        redis=redis,
        plugins=PluginManager(),
        secret_box=SecretBox(TEST_SECRET_KEY),
    )


async def a_conversation(store: Store) -> ConversationRecord:
    await store.create_hotel(Hotel(slug=HOTEL, name="Plaza"))
    recorded = await store.record_inbound(
        Message(
            hotel=HOTEL,
            channel="demo",
            conversation_key="+34600000001",
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="demo", address="+34600000001"),
            text="Hello",
            provider_message_id="p1",
        )
    )
    return recorded.conversation


async def queue_replies(store: Store, conversation: ConversationRecord, count: int) -> list[str]:
    ids = []
    for n in range(count):
        message = Message(
            hotel=HOTEL,
            channel="demo",
            conversation_key=conversation.key,
            direction=Direction.OUTBOUND,
            guest=conversation.guest,
            text=f"reply {n}",
        )
        assert await store.add_outbound(conversation, message)
        ids.append(message.id)
    return ids


async def events(redis: Redis, stream: str) -> list[Event]:
    return [decode_event(fields[b"e"]) for _, fields in await redis.xrange(stream)]


async def test_a_crash_between_publish_and_done_publishes_again_with_the_same_event(
    suite_store: Store, begasist_redis: Redis, suite_settings: SuiteSettings
) -> None:
    services = services_for(suite_store, begasist_redis, suite_settings)
    (reply_id,) = await queue_replies(suite_store, await a_conversation(suite_store), 1)
    relay = OutboxRelay(services)
    claimed = await suite_store.claim_outbox(hold=relay.hold, limit=10)
    await relay.publish(claimed, [])
    # The relay dies here: published, not marked done. Its claim runs out...
    assert (await suite_store.outbox_backlog()).pending == 1
    assert await relay.relay_once() == 0  # ...and until then nobody takes the entry
    later = utc_now() + relay.hold + timedelta(seconds=1)
    assert await relay.relay_once(now=later) == 1

    first, again = await events(begasist_redis, services.names.outbound(HOTEL))
    assert isinstance(first, MessageSendEvent)
    assert first.data.message.id == reply_id
    assert (again.id, again.key) == (first.id, first.key) == (first.id, f"send:{reply_id}")
    assert (await suite_store.outbox_backlog()).pending == 0
    assert await suite_store.outbox_done(claimed) == 0  # the dead relay's claim is void
    stored = await suite_store.get_message(HOTEL, reply_id)
    assert stored is not None
    assert stored.text == "reply 0"


async def test_while_redis_is_down_a_pass_gives_its_claims_back(
    suite_store: Store, begasist_redis: Redis, suite_settings: SuiteSettings
) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    unreachable = redis_from_url(f"redis://127.0.0.1:{port}/0")
    try:
        relay = OutboxRelay(services_for(suite_store, unreachable, suite_settings))
        await queue_replies(suite_store, await a_conversation(suite_store), 2)
        with pytest.raises(REDIS_UNAVAILABLE):
            await relay.relay_once()
    finally:
        await unreachable.aclose()
    # Due again at once (not after the claim's hold), for this relay or another.
    working = OutboxRelay(services_for(suite_store, begasist_redis, suite_settings))
    assert await working.relay_once() == 2


@asynccontextmanager
async def second_handle(database: DocumentDatabase) -> AsyncIterator[Store]:
    """Another connection to the same database, as another suite replica has."""
    if isinstance(database, SqliteDatabase):
        # One suite process per SQLite file (docs/suite.md): replicas share its handle.
        yield Store(database)
        return
    assert isinstance(database, AstraDatabase)
    other = AstraDatabase(
        database.api_endpoint,
        token(),
        keyspace=database.keyspace,
        collection_prefix=database.collection_prefix,
    )
    try:
        yield Store(other)
    finally:
        await other.aclose()


async def test_two_suites_on_one_store_publish_each_entry_once(
    database: DocumentDatabase, begasist_redis: Redis, suite_settings: SuiteSettings
) -> None:
    store = Store(database)
    conversation = await a_conversation(store)
    replies = await queue_replies(store, conversation, 40)
    command = make_event(HOTEL, ChannelCommand(channel="demo", command="restart"))
    assert await store.queue_command(command)
    settings = suite_settings.model_copy(update={"consumer": False})
    done = anyio.Event()

    async def replica(each: Store) -> None:
        async with serving(create_app(settings, store=each), settings):
            await done.wait()

    async with second_handle(database) as other, anyio.create_task_group() as replicas:
        # Both start at once with the backlog there: their start-up passes race for it.
        replicas.start_soon(replica, store)
        replicas.start_soon(replica, other)
        with anyio.fail_after(20):
            while (await store.outbox_backlog()).pending:  # noqa: ASYNC110 (a store has no events)
                await anyio.sleep(0.05)
        done.set()

    names = services_for(store, begasist_redis, settings).names
    sent = await events(begasist_redis, names.outbound(HOTEL))
    assert sorted(e.data.message.id for e in sent if isinstance(e, MessageSendEvent)) == sorted(
        replies
    )
    assert [e.id for e in await events(begasist_redis, names.control(HOTEL))] == [command.id]
