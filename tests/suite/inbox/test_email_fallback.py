"""The email fallback in the suite: unread web chat replies queued once as emails, in one
email conversation per chat; read replies, guests without an address, hotels without an
email channel: nothing. Time is the fallback's ``now``, never a wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageStatusChanged,
    redis_from_url,
    utc_now,
)
from begasist_suite.inbox.email_fallback import (
    EmailFallback,
    fallback_conversation_key,
    fallback_message_id,
)
from begasist_suite.services import Services
from begasist_suite.store.records import ConversationRecord

from tests.suite.conftest import RunningSuite, add_member

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

HOTEL = "plaza"
API = f"/api/v1/hotels/{HOTEL}"
DELAY = timedelta(seconds=600)
VISITOR = GuestIdentity(channel="webchat", address="visitor-0123456789abcdef", display_name="Ana")
ANA = GuestIdentity(channel="email", address="ana@guest.example", display_name="Ana")
WEBCHAT: dict[str, Any] = {
    "enabled": True,
    "mode": "manual",
    "allowed_origins": ["https://www.plaza.example"],
    "email_fallback_after_seconds": int(DELAY.total_seconds()),
}
EMAIL: dict[str, Any] = {
    "enabled": True,
    "mode": "manual",
    "address": "reservas@plaza.example",
    "display_name": "Hotel Plaza",
    "imap_host": "imap.plaza.example",
    "imap_user": "reservas@plaza.example",
    "imap_password": "imap-password",
    "smtp_host": "smtp.plaza.example",
    "smtp_user": "reservas@plaza.example",
    "smtp_password": "smtp-password",
}


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    """A platform admin's client; the hotel's web chat asks for the fallback after DELAY."""
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        saved = await client.put(f"{API}/channels/webchat", json=WEBCHAT)
        assert saved.status_code == 200, saved.text
        yield client


@pytest.fixture
async def email_channel(admin: httpx.AsyncClient) -> None:
    saved = await admin.put(f"{API}/channels/email", json=EMAIL)
    assert saved.status_code == 200, saved.text


async def chat(suite: RunningSuite, *, contact: bool = True) -> ConversationRecord:
    """A web chat conversation whose guest left ANA's address (as the socket records it)."""
    if contact:
        await suite.store.add_guest_contact(HOTEL, VISITOR, ANA)
    recorded = await suite.store.record_inbound(
        Message(
            hotel=HOTEL,
            channel="webchat",
            conversation_key=VISITOR.address,
            direction=Direction.INBOUND,
            guest=VISITOR,
            text="¿Hay parking?",
            provider_message_id=f"{VISITOR.address}/m1",
        )
    )
    return recorded.conversation


async def staff_reply(admin: httpx.AsyncClient, conversation: ConversationRecord, text: str) -> str:
    sent = await admin.post(f"{API}/conversations/{conversation.id}/messages", json={"text": text})
    assert sent.status_code == 202, sent.text
    reply_id: str = sent.json()["id"]
    return reply_id


def fallback(suite: RunningSuite) -> EmailFallback:
    services: Services = suite.app.state.services
    return EmailFallback(services)


async def emails(suite: RunningSuite) -> list[Message]:
    found = await suite.store.list_conversations(HOTEL, channel="email")
    messages: list[Message] = []
    for conversation in found.items:
        messages += (await suite.store.list_messages(HOTEL, conversation.id)).items
    return messages


async def test_unread_replies_are_emailed_once_each_in_one_email_conversation(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    conversation = await chat(suite)
    first = await staff_reply(admin, conversation, "Sí, en el sótano.")
    second = await staff_reply(admin, conversation, "Le esperamos.")
    worker = fallback(suite)

    assert await worker.run_once(now=utc_now()) == 0  # not due yet
    assert await worker.run_once(now=utc_now() + DELAY) == 2
    assert await worker.run_once(now=utc_now() + DELAY * 3) == 0

    sent = await emails(suite)
    assert [(m.id, m.text) for m in sent] == [
        (fallback_message_id(first), "Sí, en el sótano."),
        (fallback_message_id(second), "Le esperamos."),
    ]
    assert {m.direction for m in sent} == {Direction.OUTBOUND}
    assert {(m.channel, m.guest.address) for m in sent} == {("email", ANA.address)}
    # One conversation: one email thread, shown with the chat's guest in the inbox.
    (email_conversation,) = (await suite.store.list_conversations(HOTEL, channel="email")).items
    assert email_conversation.key == fallback_conversation_key(ANA.address, conversation.id)
    assert email_conversation.guest_id == conversation.guest_id
    assert {m.conversation_key for m in sent} == {email_conversation.key}
    # The staff member who wrote the reply is who sent the email.
    reply = await suite.store.get_message(HOTEL, first)
    assert reply is not None
    assert {m.sent_by for m in sent} == {reply.sent_by}


async def test_a_reply_read_in_time_is_never_emailed(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    conversation = await chat(suite)
    read = await staff_reply(admin, conversation, "Sí, en el sótano.")
    await suite.store.apply_status(
        HOTEL,
        MessageStatusChanged(
            channel="webchat",
            message_id=read,
            provider_message_id=f"{VISITOR.address}/{read}",
            status=DeliveryStatus.READ,
        ),
    )

    assert await fallback(suite).run_once(now=utc_now() + DELAY) == 0
    assert await emails(suite) == []


async def test_no_email_without_an_address_or_an_enabled_email_channel(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    worker = fallback(suite)
    # No email channel at all.
    conversation = await chat(suite)
    await staff_reply(admin, conversation, "Sí, en el sótano.")
    assert await worker.run_once(now=utc_now() + DELAY) == 1
    # A disabled one.
    disabled = await admin.put(f"{API}/channels/email", json={**EMAIL, "enabled": False})
    assert disabled.status_code == 200, disabled.text
    await staff_reply(admin, conversation, "Le esperamos.")
    assert await worker.run_once(now=utc_now() + DELAY) == 1
    assert await emails(suite) == []


async def test_a_guest_who_left_no_address_gets_no_email(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    conversation = await chat(suite, contact=False)
    await staff_reply(admin, conversation, "Sí, en el sótano.")

    assert await fallback(suite).run_once(now=utc_now() + DELAY) == 1
    assert await emails(suite) == []


async def test_a_replica_that_died_after_queueing_the_email_leaves_no_second_one(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    conversation = await chat(suite)
    reply = await staff_reply(admin, conversation, "Sí, en el sótano.")
    dying = fallback(suite)
    due = utc_now() + DELAY
    (entry,) = await suite.store.claim_fallbacks(now=due, hold=dying.hold, limit=10)
    await dying.fall_back(entry)
    # It dies here: the email is queued, the reply not marked done. Once the claim runs
    # out another replica takes the reply again, and queues nothing new.
    assert await fallback(suite).run_once(now=due) == 0
    assert await fallback(suite).run_once(now=due + dying.hold * 2) == 1

    assert [m.id for m in await emails(suite)] == [fallback_message_id(reply)]


async def test_the_fallback_needs_no_redis(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    conversation = await chat(suite)
    reply = await staff_reply(admin, conversation, "Sí, en el sótano.")
    services: Services = suite.app.state.services
    unreachable = redis_from_url("redis://127.0.0.1:1/0")
    try:
        cut_off = Services(
            settings=services.settings,
            store=services.store,
            redis=unreachable,
            plugins=services.plugins,
            secret_box=services.secret_box,
        )
        assert await EmailFallback(cut_off).run_once(now=utc_now() + DELAY) == 1
    finally:
        await unreachable.aclose()

    assert [m.id for m in await emails(suite)] == [fallback_message_id(reply)]


async def test_with_the_setting_off_no_reply_waits_for_the_fallback(
    suite: RunningSuite, admin: httpx.AsyncClient, email_channel: None
) -> None:
    off = {**WEBCHAT, "email_fallback_after_seconds": None}
    saved = await admin.put(f"{API}/channels/webchat", json=off)
    assert saved.status_code == 200, saved.text
    conversation = await chat(suite)
    await staff_reply(admin, conversation, "Sí, en el sótano.")

    assert (
        await suite.store.claim_fallbacks(now=utc_now() + DELAY * 100, hold=DELAY, limit=10) == []
    )
    assert await emails(suite) == []
