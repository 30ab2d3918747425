"""The store's ``Idempotency-Key`` records, on every backend: claim, replay, take over, purge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio
import pytest
from begasist_core import Direction, GuestIdentity, Message, utc_now
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.idempotency import (
    IdempotencyClaim,
    KeyInUse,
    KeyReused,
    StoredResponse,
)
from begasist_suite.store.records import CredentialKind, Hotel
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

LEASE = timedelta(seconds=30)
KEEP = timedelta(hours=24)
ROUTE = "POST /api/v1/hotels/plaza/conversations/c1/messages"
KEY = "3f1c2a9e-retry-me"


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


async def begin(
    store: Store,
    *,
    caller: str = "user-1",
    route: str = ROUTE,
    key: str = KEY,
    fingerprint: str = "body-a",
    now: datetime | None = None,
) -> IdempotencyClaim | StoredResponse:
    return await store.begin_idempotent(
        caller=caller,
        hotel="plaza",
        route=route,
        key=key,
        fingerprint=fingerprint,
        lease=LEASE,
        keep=KEEP,
        now=now,
    )


async def claim(store: Store, **kwargs: Any) -> IdempotencyClaim:
    begun = await begin(store, **kwargs)
    assert isinstance(begun, IdempotencyClaim)
    return begun


ANSWER = StoredResponse(status_code=202, body='{"id":"m1"}')


async def test_the_first_response_is_answered_again(store: Store) -> None:
    first = await claim(store)
    assert not first.resumed
    with pytest.raises(KeyInUse) as busy:
        await begin(store)  # the first is in progress
    assert 1 <= busy.value.retry_after <= 30
    assert await store.finish_idempotent(first, ANSWER)
    assert await begin(store) == ANSWER
    assert await begin(store) == ANSWER


async def test_another_body_with_the_key_is_refused(store: Store) -> None:
    first = await claim(store)
    with pytest.raises(KeyReused):
        await begin(store, fingerprint="body-b")
    await store.finish_idempotent(first, ANSWER)
    with pytest.raises(KeyReused):
        await begin(store, fingerprint="body-b")


async def test_keys_are_scoped_to_the_caller_and_the_route(store: Store) -> None:
    mine = await claim(store)
    theirs = await claim(store, caller="user-2")
    elsewhere = await claim(store, route="POST /api/v1/hotels/plaza/drafts/d1/approve")
    ids = {c.record_id for c in (mine, theirs, elsewhere)}
    assert len(ids) == 3
    assert len({c.derived_id("message") for c in (mine, theirs, elsewhere)}) == 3


async def test_a_released_key_runs_again_with_the_same_derived_ids(store: Store) -> None:
    first = await claim(store)
    await store.release_idempotent(first)
    again = await claim(store)
    assert again.resumed
    assert again.derived_id("message") == first.derived_id("message")
    assert not await store.finish_idempotent(first, ANSWER)  # its claim is gone
    assert await store.finish_idempotent(again, ANSWER)
    assert await begin(store) == ANSWER


async def test_an_attempt_that_died_is_taken_over_once_its_lease_runs_out(store: Store) -> None:
    now = utc_now()
    died = await claim(store, now=now)
    with pytest.raises(KeyInUse):
        await begin(store, now=now + LEASE / 2)
    taken = await claim(store, now=now + LEASE * 2)
    assert taken.resumed
    assert not await store.finish_idempotent(died, ANSWER)
    assert await store.finish_idempotent(taken, ANSWER)


async def test_a_retry_after_a_crash_between_effect_and_record_repairs_it(store: Store) -> None:
    """What makes Astra (no transactions) safe: the effect's id comes from the key."""
    await store.create_hotel(Hotel(slug="plaza", name="Plaza"))
    recorded = await store.record_inbound(
        Message(
            hotel="plaza",
            channel="whatsapp",
            conversation_key="+34600000001",
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="whatsapp", address="+34600000001"),
            text="Hola",
            provider_message_id="in-1",
        )
    )
    conversation = recorded.conversation

    def the_reply(attempt: IdempotencyClaim) -> Message:
        return Message(
            id=attempt.derived_id("message"),
            hotel="plaza",
            channel="whatsapp",
            conversation_key=conversation.key,
            direction=Direction.OUTBOUND,
            guest=conversation.guest,
            text="On our way",
        )

    now = utc_now()
    crashed = await claim(store, now=now)
    assert await store.add_outbound(conversation, the_reply(crashed))
    # ...the process dies before finishing the record. The client retries later:
    retried = await claim(store, now=now + LEASE * 2)
    assert retried.resumed
    assert not await store.add_outbound(conversation, the_reply(retried))
    assert await store.finish_idempotent(retried, ANSWER)
    messages = (await store.list_messages("plaza", conversation.id)).items
    assert [m.text for m in messages] == ["Hola", "On our way"]
    assert (await store.outbox_backlog()).pending == 1


async def test_concurrent_requests_with_one_key_make_one_claim(store: Store) -> None:
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            begun = await begin(store)
        except KeyInUse:
            outcomes.append("in use")
        else:
            outcomes.append("claimed" if isinstance(begun, IdempotencyClaim) else "replayed")

    async with anyio.create_task_group() as requests:
        for _ in range(8):
            requests.start_soon(attempt)
    assert sorted(outcomes) == ["claimed"] + ["in use"] * 7


async def test_keys_are_kept_a_day_then_purged_and_free_again(store: Store) -> None:
    now = utc_now()
    old = await claim(store, now=now)
    await store.finish_idempotent(old, ANSWER)
    kept = await claim(store, key="another-key-1", now=now + timedelta(hours=12))
    await store.finish_idempotent(kept, ANSWER)
    day_later = now + KEEP + timedelta(seconds=1)
    assert await begin(store, now=day_later - timedelta(seconds=2)) == ANSWER
    assert await store.purge_idempotency(now=day_later) == 1
    fresh = await claim(store, fingerprint="body-b", now=day_later)
    assert not fresh.resumed
    assert fresh.derived_id("message") != old.derived_id("message")  # a new request's ids
    assert await begin(store, key="another-key-1", now=day_later) == ANSWER


async def test_an_expired_key_not_yet_purged_is_free(store: Store) -> None:
    now = utc_now()
    await store.finish_idempotent(await claim(store, now=now), ANSWER)
    fresh = await claim(store, fingerprint="body-b", now=now + KEEP + timedelta(seconds=1))
    assert not fresh.resumed


async def test_records_are_no_credentials_and_go_with_their_hotel(store: Store) -> None:
    await store.create_hotel(Hotel(slug="plaza", name="Plaza"))
    await store.finish_idempotent(await claim(store), ANSWER)
    for kind in CredentialKind:
        assert await store.list_credentials(kind, user_id="user-1") == []
        assert await store.list_credentials(kind, hotel="plaza") == []
    await store.delete_hotel("plaza")
    assert isinstance(await begin(store), IdempotencyClaim)
