"""The linked-device transport, on a real Redis, against a WhatsApp Web double.

The double stands in for WhatsApp's servers, which CI cannot reach; the suite's
status API showing the ``qr`` key as ``pairing_qr`` is covered by
tests/suite/api/test_inbox_api.py::test_status_shows_channel_states_and_the_pairing_qr.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import TaskGroup
from begasist_channels_whatsapp import WhatsAppChannel, WhatsAppSettings
from begasist_channels_whatsapp.linked import (
    EXTRA,
    QR_KEY,
    Connected,
    Disconnected,
    IncomingMessage,
    LinkedExtraMissing,
    LinkedNotConnected,
    LinkedTransport,
    LoggedOut,
    Paired,
    QrCode,
    ReconnectBackoff,
)
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelCommand,
    ChannelContext,
    ChannelState,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
    PermanentSendError,
    UnsupportedCommand,
)
from begasist_core.testing import Bus, EventCapture
from pydantic import ValidationError

from tests.channels.whatsapp.linked_double import DoubleClient, LinkedPeer
from tests.channels.whatsapp.samples import settings as cloud_settings

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
GUEST = "34600111222"
WAIT = 5.0


@dataclass
class Rig:
    """A transport on a real bus, its double peer, the states it reported and its sleeps."""

    transport: LinkedTransport
    peer: LinkedPeer
    context: ChannelContext[WhatsAppSettings]
    bus: Bus
    states: list[tuple[ChannelState, str | None]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    async def qr(self) -> bytes | None:
        return await self.context.keys.get(QR_KEY)

    def saw(self, state: ChannelState, words: str = "") -> bool:
        return any(s is state and words in (detail or "") for s, detail in self.states)

    async def connected_client(self, index: int = 0) -> DoubleClient:
        with anyio.fail_after(WAIT):
            client = await self.peer.client(index)
        await client.push(Paired(account=f"{GUEST}@s.whatsapp.net"), Connected())
        assert self.transport.connected
        return client


def linked_settings(tmp_path: Path, **changes: Any) -> WhatsAppSettings:
    return WhatsAppSettings.model_validate({"transport": "linked", **changes})


def make_rig(bus: Bus, settings: WhatsAppSettings, session_dir: Path) -> Rig:
    peer = LinkedPeer()
    states: list[tuple[ChannelState, str | None]] = []
    sleeps: list[float] = []

    async def record(state: ChannelState, detail: str | None) -> None:
        states.append((state, detail))

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await anyio.lowlevel.checkpoint()

    context: ChannelContext[WhatsAppSettings] = ChannelContext(
        hotel=HOTEL,
        channel="whatsapp",
        settings=settings,
        redis=bus.redis,
        publisher=bus.publisher,
        names=bus.names,
        report_state=record,
    )
    transport = LinkedTransport(
        context,
        client_factory=peer.factory,
        backoff=ReconnectBackoff(initial=1.0, maximum=8.0),
        sleep=sleep,
        qr_grace_seconds=0.0,
        session_dir=session_dir,
    )
    return Rig(transport, peer, context, bus, states, sleeps)


@pytest.fixture
async def running(begasist_bus: Bus, tmp_path: Path) -> AsyncIterator[tuple[Rig, TaskGroup]]:
    rig = make_rig(begasist_bus, linked_settings(tmp_path), tmp_path / "sessions")
    async with anyio.create_task_group() as group:
        group.start_soon(rig.transport.run)
        yield rig, group
        group.cancel_scope.cancel()


@pytest.fixture
def rig(running: tuple[Rig, TaskGroup]) -> Rig:
    return running[0]


def incoming(message_id: str = "3A5F01", **changes: Any) -> IncomingMessage:
    fields: dict[str, Any] = {
        "message_id": message_id,
        "chat": f"{GUEST}@s.whatsapp.net",
        "sender": f"{GUEST}@s.whatsapp.net",
        "sender_phone": GUEST,
        "timestamp": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
        "text": "Is breakfast included?",
        "push_name": "Ana",
        **changes,
    }
    return IncomingMessage(**fields)


def outbound(text: str = "Yes, from 7 to 10.", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": "01JOUTBOUND0000000000000001",
        "hotel": HOTEL,
        "channel": "whatsapp",
        "conversation_key": GUEST,
        "direction": Direction.OUTBOUND,
        "guest": GuestIdentity(channel="whatsapp", address=GUEST),
        "text": text,
        **changes,
    }
    return Message(**fields)


async def test_a_qr_code_is_published_to_the_qr_key_and_the_state_is_pairing(rig: Rig) -> None:
    with anyio.fail_after(WAIT):
        client = await rig.peer.client(0)
    await client.push(QrCode(code="2@first-code", expires_in=timedelta(seconds=60)))
    assert await rig.qr() == b"2@first-code"
    ttl = await rig.bus.redis.pttl(rig.context.keys.full_name(QR_KEY))
    assert 0 < ttl <= 65_000
    assert rig.saw(ChannelState.PAIRING, "scan the QR code")
    await client.push(QrCode(code="2@second-code", expires_in=timedelta(seconds=20)))
    assert await rig.qr() == b"2@second-code"
    assert [state for state, _ in rig.states].count(ChannelState.PAIRING) == 1


async def test_a_scan_clears_the_qr_and_reports_running(rig: Rig, tmp_path: Path) -> None:
    with anyio.fail_after(WAIT):
        client = await rig.peer.client(0)
    await client.push(QrCode(code="2@code", expires_in=timedelta(seconds=60)))
    assert rig.saw(ChannelState.PAIRING)
    await rig.connected_client()
    assert rig.states[-1] == (ChannelState.RUNNING, None)
    assert await rig.qr() is None
    assert rig.transport.session.exists()
    assert rig.transport.session.directory == (tmp_path / "sessions" / HOTEL / "whatsapp")


async def test_an_inbound_message_is_emitted_normalized(
    rig: Rig, captured_events: EventCapture
) -> None:
    client = await rig.connected_client()
    await client.push(incoming(quoted_id="3EB0QUOTED"))
    [event] = await captured_events.read()
    assert isinstance(event.data, MessageReceived)
    message = event.data.message
    assert (message.hotel, message.channel, message.direction) == (
        HOTEL,
        "whatsapp",
        Direction.INBOUND,
    )
    # As the Cloud API's wa_id: the number, so a guest keeps one identity across transports.
    assert message.guest == GuestIdentity(channel="whatsapp", address=GUEST, display_name="Ana")
    assert message.conversation_key == GUEST
    assert message.provider_message_id == "3A5F01"
    assert message.text == "Is breakfast included?"
    assert message.reply_to == "3EB0QUOTED"
    assert message.created_at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert event.key == f"message.received:{HOTEL}:whatsapp:3A5F01"


async def test_repeats_own_messages_broadcasts_and_groups_are_skipped(
    rig: Rig, captured_events: EventCapture
) -> None:
    client = await rig.connected_client()
    await client.push(
        incoming("3A01"),
        incoming("3A01"),  # a redelivery
        incoming("3A02", from_me=True),
        incoming("3A03", chat="status@broadcast"),
        incoming("3A04", chat="120363000000000001@g.us", is_group=True),
        incoming("3A05", text=""),
        incoming(
            "3A06",
            sender="99887766@lid",
            sender_phone=None,
            media_kind="image",
            mime_type="image/jpeg",
            text="our room",
        ),
    )
    events = await captured_events.read()  # push returns once each was handled
    ids = [e.data.message.provider_message_id for e in events if e.type == "message.received"]
    assert ids == ["3A01", "3A06"]
    last = events[-1].data
    assert isinstance(last, MessageReceived)
    assert last.message.guest.address == "99887766@lid"
    assert last.message.attachments == (
        Attachment(kind=AttachmentKind.IMAGE, mime_type="image/jpeg", caption="our room"),
    )


async def test_groups_are_kept_when_ignore_groups_is_off(
    begasist_bus: Bus, tmp_path: Path, captured_events: EventCapture
) -> None:
    rig = make_rig(
        begasist_bus, linked_settings(tmp_path, ignore_groups=False), tmp_path / "sessions"
    )
    async with anyio.create_task_group() as group:
        group.start_soon(rig.transport.run)
        client = await rig.connected_client()
        await client.push(incoming("3A07", chat="120363000000000001@g.us", is_group=True))
        [event] = await captured_events.read()
        group.cancel_scope.cancel()
    assert isinstance(event.data, MessageReceived)
    assert event.data.message.conversation_key == "120363000000000001@g.us"


async def test_send_is_idempotent_split_and_quotes_the_first_part(rig: Rig) -> None:
    await rig.connected_client()
    long_text = "word " * 1000  # 5,000 characters: two WhatsApp messages
    message = outbound(long_text, reply_to="3A5F01")
    first = await rig.transport.send(message)
    second = await rig.transport.send(message)
    assert first == second
    assert [(s.to, s.reply_to) for s in rig.peer.sent] == [(GUEST, "3A5F01"), (GUEST, None)]
    assert first.provider_message_ids == tuple(s.provider_id for s in rig.peer.sent)
    assert all(len(s.text) <= 4096 for s in rig.peer.sent)


async def test_send_refuses_attachments_and_waits_for_a_connection(rig: Rig) -> None:
    with pytest.raises(LinkedNotConnected):
        await rig.transport.send(outbound())
    await rig.connected_client()
    photo = Attachment(kind=AttachmentKind.IMAGE, url="https://example.org/room.jpg")
    with pytest.raises(PermanentSendError, match="text only"):
        await rig.transport.send(outbound(attachments=(photo,)))
    assert rig.peer.sent == []


async def test_a_drop_reconnects_after_a_backoff_that_resets_once_connected(rig: Rig) -> None:
    client = await rig.connected_client()
    await client.push(Disconnected("WhatsApp closed the connection"))
    second = await rig.connected_client(1)
    assert client.stopped
    assert len(rig.sleeps) == 1
    assert 0.5 <= rig.sleeps[0] <= 1.0  # the first delay of a 1 s backoff
    assert rig.saw(ChannelState.BACKOFF, "WhatsApp closed the connection")
    assert rig.states[-1] == (ChannelState.RUNNING, None)
    # Failing connects back off further, up to the cap.
    current = 1
    for _ in range(5):
        rig.peer.fail_next_run = OSError("network unreachable")
        await second.push(Disconnected("dropped"))
        current += 2  # the next client fails to connect, the one after runs
        with anyio.fail_after(WAIT):
            second = await rig.peer.client(current)
    assert max(rig.sleeps) <= 8.0
    assert rig.saw(ChannelState.BACKOFF, "network unreachable")


async def test_unscanned_qr_codes_end_the_attempt_and_a_new_one_starts(rig: Rig) -> None:
    with anyio.fail_after(WAIT):
        client = await rig.peer.client(0)
    await client.push(QrCode(code="2@short", expires_in=timedelta(0)))
    with anyio.fail_after(WAIT):
        await rig.peer.client(1)
    assert rig.saw(ChannelState.BACKOFF, "expired unscanned")


async def test_a_logout_from_the_phone_deletes_the_session_and_asks_to_pair_again(
    rig: Rig,
) -> None:
    client = await rig.connected_client()
    assert rig.transport.session.exists()
    await client.push(LoggedOut("LOGGED_OUT"))
    with anyio.fail_after(WAIT):
        fresh = await rig.peer.client(1)
    assert not rig.transport.session.exists()
    assert rig.sleeps == []  # pairing again is not a failure to back off from
    await fresh.push(QrCode(code="2@again", expires_in=timedelta(seconds=60)))
    state, detail = rig.states[-1]
    assert state is ChannelState.PAIRING
    assert detail is not None
    assert "logged the device out (LOGGED_OUT)" in detail
    assert "scan the QR code" in detail


async def test_the_logout_command_unlinks_and_deletes_the_session(rig: Rig) -> None:
    await rig.connected_client()
    await rig.transport.command(ChannelCommand(channel="whatsapp", command="logout"))
    assert rig.peer.logouts == 1
    assert not rig.transport.session.exists()
    assert await rig.qr() is None
    assert rig.saw(ChannelState.PAIRING, "logged out by the hotel's staff")
    with anyio.fail_after(WAIT):
        await rig.peer.client(1)
    with pytest.raises(UnsupportedCommand, match="logout"):
        await rig.transport.command(ChannelCommand(channel="whatsapp", command="reboot"))


async def test_stopping_deletes_the_qr_code(begasist_bus: Bus, tmp_path: Path) -> None:
    rig = make_rig(begasist_bus, linked_settings(tmp_path), tmp_path / "sessions")
    async with anyio.create_task_group() as group:
        group.start_soon(rig.transport.run)
        client = await rig.peer.client(0)
        await client.push(QrCode(code="2@code", expires_in=timedelta(seconds=60)))
        assert await rig.qr() == b"2@code"
        group.cancel_scope.cancel()
    assert await rig.qr() is None
    assert client.stopped


async def test_without_neonize_run_names_the_extra(
    begasist_bus: Bus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "neonize", None)  # as if not installed
    rig = make_rig(begasist_bus, linked_settings(tmp_path), tmp_path / "sessions")
    transport = LinkedTransport(rig.context)
    with pytest.raises(LinkedExtraMissing, match=r"begasist-channels-whatsapp\[linked\]"):
        await transport.run()
    assert EXTRA == "begasist-channels-whatsapp[linked]"


async def test_the_channel_builds_the_linked_transport(begasist_bus: Bus, tmp_path: Path) -> None:
    rig = make_rig(begasist_bus, linked_settings(tmp_path), tmp_path / "sessions")
    channel = WhatsAppChannel(rig.context)
    assert isinstance(channel.transport, LinkedTransport)


def test_linked_settings_need_no_cloud_fields(tmp_path: Path) -> None:
    settings = linked_settings(tmp_path)
    assert settings.phone_number_id is None
    assert settings.linked_device_name == "Begasist"


def test_cloud_settings_need_the_cloud_fields() -> None:
    assert cloud_settings().transport == "cloud"
    with pytest.raises(ValidationError, match="transport 'cloud' needs access_token "):
        WhatsAppSettings.model_validate(
            {"phone_number_id": "1122334455667", "waba_id": "12345", "verify_token": "v"}
        )
    with pytest.raises(ValidationError, match="phone_number_id"):
        WhatsAppSettings.model_validate({})


def test_a_hotel_on_the_shared_url_needs_no_app_secret() -> None:
    # The operator's app secret stays with the operator (PUT /api/v1/channel-apps/whatsapp).
    settings = WhatsAppSettings.model_validate(
        {"phone_number_id": "1122334455667", "waba_id": "12345", "access_token": "t"}
    )
    assert (settings.app_secret, settings.verify_token) == (None, None)
