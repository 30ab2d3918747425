"""Seeding for the API tests: a hotel with one of every object, put straight into the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelState,
    DeadLetters,
    Direction,
    FileMediaStore,
    GuestIdentity,
    Message,
    MessageSend,
    encode_event,
    make_event,
)
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.services import Services
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    ConversationRecord,
    Credential,
    CredentialKind,
    Draft,
    Guest,
    Invitation,
    Role,
    User,
)
from begasist_suite.store.store import InboundRecorded, draft_id

from tests.suite.conftest import RunningSuite, add_member

DEMO = "demo"


@dataclass(frozen=True)
class SeededHotel:
    """One hotel's objects, each of a kind the API reaches by id."""

    slug: str
    members: dict[Role, User]
    conversation: ConversationRecord
    message: Message
    draft: Draft
    guest: Guest
    bot_token: str
    bot_token_id: str
    dead_id: str
    invitation_id: str
    """A pending invitation to the hotel."""
    webhook_secret: str
    media_key: str
    """A stored file of this hotel's (bytes no other hotel has)."""


def services(suite: RunningSuite) -> Services:
    found: Services = suite.app.state.services
    return found


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def inbound_message(
    hotel: str,
    provider_id: str,
    *,
    address: str = "+34600000001",
    channel: str = DEMO,
    text: str = "Is breakfast included?",
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    return Message(
        hotel=hotel,
        channel=channel,
        conversation_key=address,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel=channel, address=address, display_name="Ana Lopez"),
        text=text,
        attachments=attachments,
        provider_message_id=provider_id,
    )


async def put_demo_settings(suite: RunningSuite, hotel: str, body: dict[str, Any]) -> ChannelConfig:
    """Store the demo channel's settings the way the API does (secrets encrypted)."""
    found = services(suite)
    stored = await suite.store.get_channel_config(hotel, DEMO)
    config = apply_settings_update(
        found.plugins.channel(DEMO).Settings, hotel, DEMO, body, stored, found.secret_box
    )
    return await suite.store.put_channel_config(config)


async def bury_outbound(suite: RunningSuite, hotel: str, text: str) -> str:
    """A dead letter from *hotel*'s outbound stream; returns its id."""
    event = make_event(
        hotel,
        MessageSend(
            message=Message(
                hotel=hotel,
                channel=DEMO,
                conversation_key="+34600000001",
                direction=Direction.OUTBOUND,
                guest=GuestIdentity(channel=DEMO, address="+34600000001"),
                text=text,
            )
        ),
    )
    dead_id = await DeadLetters(suite.redis, suite.names).bury(
        source_stream=suite.names.outbound(hotel),
        source_id=b"1-0",
        group="channelbot",
        payload=encode_event(event),
        reason="handler_failed",
        error="provider said no",
        deliveries=5,
    )
    return dead_id.decode()


async def add_draft_for(
    suite: RunningSuite, recorded: InboundRecorded, text: str = "A proposed answer."
) -> Draft:
    """The assistant's pending draft answering *recorded*'s message."""
    return await suite.store.add_draft(
        Draft(
            id=draft_id(recorded.message.id),
            hotel=recorded.message.hotel,
            conversation_id=recorded.conversation.id,
            message_id=recorded.message.id,
            text=text,
            responder="faq",
        )
    )


async def seed_hotel(suite: RunningSuite, slug: str) -> SeededHotel:
    """*slug* with an agent, a manager and an owner, a conversation with a draft, and the rest."""
    store = suite.store
    members = {
        role: await add_member(store, slug, f"{role.value}@{slug}.test", role) for role in Role
    }
    photo = Attachment(
        kind=AttachmentKind.IMAGE, mime_type="image/jpeg", filename="room.jpg", size_bytes=2048
    )
    recorded = await store.record_inbound(inbound_message(slug, f"{slug}-p1", attachments=(photo,)))
    assert recorded.conversation.guest_id is not None
    guest = await store.get_guest(slug, recorded.conversation.guest_id)
    assert guest is not None
    draft = await add_draft_for(suite, recorded, f"Yes, breakfast is included at {slug.title()}.")
    webhook_secret = f"{slug}-webhook-secret-{new_secret('session')[4:16]}"
    await put_demo_settings(suite, slug, {"webhook_secret": webhook_secret})
    await store.record_channel_state(
        ChannelStatus(hotel=slug, channel=DEMO, state=ChannelState.RUNNING)
    )
    bot_token = new_secret("bot_token")
    media = await FileMediaStore(suite.settings.media_dir).put(
        slug, f"a photo of {slug}".encode(), mime_type="image/jpeg", max_bytes=1024
    )
    credential = await store.add_credential(
        Credential(digest=digest(bot_token), kind=CredentialKind.BOT_TOKEN, hotel=slug, name="bot")
    )
    invitation = await store.add_invitation(
        Invitation(
            digest=digest(new_secret("invitation")),
            hotel=slug,
            email=f"invited@{slug}.test",
            role=Role.AGENT,
            invited_by=members[Role.OWNER].id,
            expires_at=credential.created_at + timedelta(hours=72),
        )
    )
    return SeededHotel(
        slug=slug,
        invitation_id=invitation.id,
        members=members,
        conversation=recorded.conversation,
        message=recorded.message,
        draft=draft,
        guest=guest,
        bot_token=bot_token,
        bot_token_id=credential.id,
        dead_id=await bury_outbound(suite, slug, f"a reply from {slug}"),
        webhook_secret=webhook_secret,
        media_key=media.key,
    )


async def personal_token(suite: RunningSuite, email: str) -> str:
    """A personal API token for *email*, made through the API with a session."""
    async with suite.client() as client:
        await suite.login(client, email)
        response = await client.post("/api/v1/me/tokens", json={"name": "script"})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def json_of(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json()
