"""``Idempotency-Key`` on the creating POSTs, over HTTP, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from begasist_core import decode_event, utc_now
from begasist_core.events.envelope import ChannelCommandEvent, MessageSendEvent
from begasist_suite.api.idempotency import KEEP, LEASE, request_fingerprint
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.idempotency import IdempotencyClaim
from begasist_suite.store.records import Credential, CredentialKind, Role
from begasist_suite.store.store import Store

from tests.suite.api.seed import DEMO, SeededHotel, seed_hotel
from tests.suite.conftest import RunningSuite, outbox_drained

pytestmark = pytest.mark.anyio

PLAZA = "/api/v1/hotels/plaza"
KEY = "0b9f3c1e-7d2a-4e5b-9c8d-1a2b3c4d5e6f"
REPLAYED = "idempotent-replayed"


@pytest.fixture
def suite_store(database: DocumentDatabase) -> Store:
    """The suite on each store: SQLite (one transaction) and Astra (none)."""
    return Store(database)


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


@pytest.fixture
async def manager(suite: RunningSuite, plaza: SeededHotel) -> AsyncIterator[httpx.AsyncClient]:
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        yield client


def keyed(key: str = KEY) -> dict[str, str]:
    return {"idempotency-key": key}


async def sent_ids(suite: RunningSuite) -> list[str]:
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.outbound("plaza"))
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    return [e.data.message.id for e in events if isinstance(e, MessageSendEvent)]


async def replies(suite: RunningSuite, plaza: SeededHotel) -> list[str]:
    page = await suite.store.list_messages("plaza", plaza.conversation.id)
    return [m.id for m in page.items if m.direction == "outbound"]


def messages_path(plaza: SeededHotel) -> str:
    return f"{PLAZA}/conversations/{plaza.conversation.id}/messages"


async def test_a_retried_reply_answers_the_first_response_and_sends_once(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = messages_path(plaza)
    first = await manager.post(path, json={"text": "See you at 8"}, headers=keyed())
    assert first.status_code == 202, first.text
    assert REPLAYED not in first.headers
    again = await manager.post(path, json={"text": "See you at 8"}, headers=keyed())
    assert (again.status_code, again.json()) == (202, first.json())
    assert again.headers[REPLAYED] == "true"
    # JSON spaced or ordered otherwise is the same body.
    respaced = await manager.post(
        path,
        content=b'{ "text" : "See you at 8" }',
        headers=keyed() | {"content-type": "application/json"},
    )
    assert respaced.json() == first.json()
    assert await replies(suite, plaza) == [first.json()["id"]]
    assert await sent_ids(suite) == [first.json()["id"]]


async def test_the_key_with_another_body_answers_422_and_changes_nothing(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = messages_path(plaza)
    first = await manager.post(path, json={"text": "See you at 8"}, headers=keyed())
    other = await manager.post(path, json={"text": "See you at 9"}, headers=keyed())
    assert other.status_code == 422, other.text
    assert "another request body" in other.json()["detail"]
    assert await replies(suite, plaza) == [first.json()["id"]]


async def test_a_request_in_progress_with_the_key_answers_409_with_retry_after(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = messages_path(plaza)
    body = b'{"text":"See you at 8"}'
    # Another replica holds the key for this very request right now.
    await suite.store.begin_idempotent(
        caller=plaza.members[Role.MANAGER].id,
        hotel="plaza",
        route=f"POST {path}",
        key=KEY,
        fingerprint=request_fingerprint(body, ""),
        lease=LEASE,
        keep=KEEP,
    )
    busy = await manager.post(
        path, content=body, headers=keyed() | {"content-type": "application/json"}
    )
    assert busy.status_code == 409, busy.text
    assert 1 <= int(busy.headers["retry-after"]) <= LEASE.total_seconds()
    assert await replies(suite, plaza) == []


async def test_concurrent_requests_with_one_key_store_one_reply(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    answers: list[httpx.Response] = []

    async def send() -> None:
        answers.append(
            await manager.post(messages_path(plaza), json={"text": "Hi"}, headers=keyed())
        )

    async with anyio.create_task_group() as clients:
        for _ in range(6):
            clients.start_soon(send)
    assert {a.status_code for a in answers} <= {202, 409}
    accepted = [a.json() for a in answers if a.status_code == 202]
    assert accepted
    assert all(body == accepted[0] for body in accepted)
    assert await replies(suite, plaza) == [accepted[0]["id"]]
    assert await sent_ids(suite) == [accepted[0]["id"]]


async def test_another_users_same_key_is_another_key(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = messages_path(plaza)
    mine = await manager.post(path, json={"text": "Hi"}, headers=keyed())
    async with suite.client() as agent:
        await suite.login(agent, "agent@plaza.test")
        theirs = await agent.post(path, json={"text": "Hi"}, headers=keyed())
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert REPLAYED not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert sorted(await replies(suite, plaza)) == sorted([mine.json()["id"], theirs.json()["id"]])


async def test_a_retried_approval_answers_its_first_response_not_409(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    approve = f"{PLAZA}/drafts/{plaza.draft.id}/approve"
    first = await manager.post(approve, json={"text": "Yes, 7 to 10."}, headers=keyed())
    again = await manager.post(approve, json={"text": "Yes, 7 to 10."}, headers=keyed())
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    assert await sent_ids(suite) == [first.json()["sent_message_id"]]
    # Without the key, a second approval is a second decision: refused.
    assert (await manager.post(approve, json={"text": "Yes, 7 to 10."})).status_code == 409


async def test_a_retried_rejection_answers_its_first_response(
    plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    reject = f"{PLAZA}/drafts/{plaza.draft.id}/reject"
    first = await manager.post(reject, headers=keyed())
    again = await manager.post(reject, headers=keyed())
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()


async def test_a_retried_command_is_queued_once(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/channels/{DEMO}/commands"
    first = await manager.post(path, json={"command": "restart"}, headers=keyed())
    again = await manager.post(path, json={"command": "restart"}, headers=keyed())
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.control("plaza"))
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    commands = [e.id for e in events if isinstance(e, ChannelCommandEvent)]
    assert commands == [first.json()["event_id"]]


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/api/v1/me/tokens", {"name": "script"}, CredentialKind.API_TOKEN),
        (f"{PLAZA}/bot-tokens", {"name": "bot 2"}, CredentialKind.BOT_TOKEN),
    ],
)
async def test_a_retried_token_creation_shows_the_same_token_kept_encrypted(
    suite: RunningSuite,
    plaza: SeededHotel,
    path: str,
    body: dict[str, Any],
    kind: CredentialKind,
) -> None:
    async with suite.client() as owner:
        await suite.login(owner, "owner@plaza.test")
        first = await owner.post(path, json=body, headers=keyed())
        again = await owner.post(path, json=body, headers=keyed())
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    token = first.json()["token"]
    made = [
        c
        for c in await suite.store.list_credentials(kind)
        if c.id == first.json()["id"] or c.name == body["name"]
    ]
    assert [c.id for c in made] == [first.json()["id"]]
    # The stored response holds the token only encrypted.
    stored = await suite.store.database.collection("credentials").find({"kind": "idempotency"})
    assert len(stored) == 1
    assert token not in str(stored)
    assert stored[0]["encrypted"] is True


async def test_a_token_made_by_an_attempt_that_never_answered_is_named_not_made_twice(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    path = f"{PLAZA}/bot-tokens"
    body = b'{"name":"bot 2"}'
    owner_id = plaza.members[Role.OWNER].id
    # An attempt stored the token (its id from the key) and died before answering.
    crashed = await suite.store.begin_idempotent(
        caller=owner_id,
        hotel="plaza",
        route=f"POST {path}",
        key=KEY,
        fingerprint=request_fingerprint(body, ""),
        lease=LEASE,
        keep=KEEP,
    )
    assert isinstance(crashed, IdempotencyClaim)
    orphan = Credential(
        digest=digest(new_secret("bot_token")),
        id=crashed.derived_id("token"),
        kind=CredentialKind.BOT_TOKEN,
        hotel="plaza",
        name="bot 2",
    )
    await suite.store.add_credential(orphan)
    await suite.store.release_idempotent(crashed)  # as when its lease runs out
    async with suite.client() as owner:
        await suite.login(owner, "owner@plaza.test")
        retried = await owner.post(
            path, content=body, headers=keyed() | {"content-type": "application/json"}
        )
    assert retried.status_code == 409, retried.text
    assert orphan.id in retried.json()["detail"]
    tokens = await suite.store.list_credentials(CredentialKind.BOT_TOKEN, hotel="plaza")
    assert [t.id for t in tokens if t.name == "bot 2"] == [orphan.id]


async def test_expired_keys_are_purged_and_the_key_is_new_again(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = messages_path(plaza)
    first = await manager.post(path, json={"text": "Hi"}, headers=keyed())
    assert await suite.store.purge_idempotency() == 0  # kept a day
    assert await suite.store.purge_idempotency(now=utc_now() + KEEP * 2) == 1
    later = await manager.post(path, json={"text": "Hi"}, headers=keyed())
    assert later.status_code == 202
    assert REPLAYED not in later.headers
    assert later.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("key", ["short", "x" * 256, "has space in it", "ünïcödé-key", "a;b,c=d"])
async def test_a_malformed_key_answers_400_and_acts_not(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient, key: str
) -> None:
    answer = await manager.post(
        messages_path(plaza), json={"text": "Hi"}, headers={"idempotency-key": key.encode()}
    )
    assert answer.status_code == 400, answer.text
    assert "idempotency" in answer.text.lower()
    assert await replies(suite, plaza) == []


async def test_the_openapi_documents_the_header_on_every_creating_post(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    schema = (await manager.get("/schema/openapi.json")).json()
    keyed_operations = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(
            parameter["name"] == "Idempotency-Key" and parameter["in"] == "header"
            for parameter in operation.get("parameters", [])
        )
    }
    hotel = "/api/v1/hotels/{hotel}"
    assert keyed_operations == {
        (f"{hotel}/conversations/{{conversation_id}}/messages", "post"),
        (f"{hotel}/drafts/{{draft_id}}/approve", "post"),
        (f"{hotel}/drafts/{{draft_id}}/reject", "post"),
        (f"{hotel}/channels/{{channel}}/commands", "post"),
        (f"{hotel}/channels/{{channel}}", "patch"),
        (f"{hotel}/bot-tokens", "post"),
        (f"{hotel}/invitations", "post"),
        ("/api/v1/me/tokens", "post"),
        ("/api/v1/hotels", "post"),
    }
