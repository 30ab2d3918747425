"""The store's contract for the guest's last message of a conversation, on every backend."""

from __future__ import annotations

import pytest
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.store import Store

from tests.suite.store.test_store_inbox import ANA, PLAZA, SOL, _at, _inbound, _outbound

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


async def test_the_guests_newest_message_past_many_of_ours(store: Store) -> None:
    await store.record_inbound(_inbound("wamid.1", minute=0))
    recorded = await store.record_inbound(_inbound("wamid.2", minute=5))
    conversation = recorded.conversation
    for n in range(120):  # more than one batch of ours after the guest's message
        await store.add_outbound(conversation, _outbound(conversation, minute=10 + n))

    assert await store.last_inbound_at(PLAZA, conversation.id) == _at(5)


async def test_no_guest_message_and_other_hotels_and_conversations(store: Store) -> None:
    recorded = await store.record_inbound(_inbound("wamid.1", minute=0))
    conversation = recorded.conversation
    await store.record_inbound(_inbound("wamid.other", key="+34600000002", minute=30))
    await store.record_inbound(_inbound("wamid.sol", hotel=SOL, key=ANA, minute=40))

    assert await store.last_inbound_at(PLAZA, conversation.id) == _at(0)
    assert await store.last_inbound_at(SOL, conversation.id) is None
    assert await store.last_inbound_at(PLAZA, "no-such-conversation") is None
