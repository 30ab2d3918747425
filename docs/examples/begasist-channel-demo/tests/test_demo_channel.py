"""The demo channel's own behaviour: signatures, the body mapping, simulated guests, sends."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest
from begasist_channel_demo import DemoChannel, DemoSettings, sign_body
from begasist_core import (
    DeliveryStatus,
    Direction,
    MessageReceived,
    MessageStatusChanged,
    ParseError,
    PermanentSendError,
    WebhookRequest,
    WebhookResponse,
    WebhookSignatureError,
)
from begasist_core.testing import Bus, ChannelHarness

pytestmark = pytest.mark.anyio

SECRET = "s3cret-for-tests"
SETTINGS = DemoSettings.model_validate({"webhook_secret": SECRET})


def signed(body: bytes, signature: str | None = None) -> WebhookRequest:
    headers = {} if signature is None else {"X-Demo-Signature": signature}
    return WebhookRequest(method="POST", headers=headers, body=body)


def test_verify_accepts_a_correct_signature() -> None:
    body = b'{"messages": []}'
    response = DemoChannel.verify(signed(body, sign_body(SECRET, body)), SETTINGS)
    assert response == WebhookResponse()


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign_body("another-secret", b'{"messages": []}'), id="other-secret"),
        pytest.param(sign_body(SECRET, b'{"messages": [ ]}'), id="other-body"),
        pytest.param("sha256=", id="empty-digest"),
        pytest.param("md5=0123", id="other-scheme"),
        pytest.param("sha256=ü" * 3, id="non-ascii"),
    ],
)
def test_verify_rejects_a_bad_signature(signature: str) -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        DemoChannel.verify(signed(b'{"messages": []}', signature), SETTINGS)


GOOD = sign_body(SECRET, b'{"messages": []}')


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(GOOD.replace("sha256=", "SHA256="), id="upper-case-scheme"),
        pytest.param("sha256=" + GOOD.removeprefix("sha256=").upper(), id="upper-case-hex"),
        pytest.param(" " + GOOD, id="leading-space"),
        pytest.param(GOOD + " ", id="trailing-space"),
        pytest.param(GOOD.removeprefix("sha256="), id="missing-prefix"),
        pytest.param(GOOD[:-1], id="truncated"),
        pytest.param(f"{GOOD}, {GOOD}", id="header-sent-twice"),
    ],
)
def test_verify_rejects_a_signature_spelt_otherwise(signature: str) -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        DemoChannel.verify(signed(b'{"messages": []}', signature), SETTINGS)


def test_verify_rejects_a_missing_signature() -> None:
    with pytest.raises(WebhookSignatureError, match="missing"):
        DemoChannel.verify(signed(b'{"messages": []}'), SETTINGS)


def test_signature_is_hmac_sha256_of_the_body_in_hex() -> None:
    # The value a provider computes: documented in the README for curl users.
    assert sign_body("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.fixture
async def harness(begasist_bus: Bus) -> ChannelHarness[DemoChannel]:
    return ChannelHarness(DemoChannel, bus=begasist_bus, settings=SETTINGS, hotel="plaza")


async def test_parse_maps_messages_and_statuses(harness: ChannelHarness[DemoChannel]) -> None:
    body = json.dumps(
        {
            "messages": [{"id": "m1", "from": "+34600000001", "name": "Ana", "text": "Hi"}],
            "statuses": [
                {"id": "demo-1", "status": "read"},
                {"id": "demo-2", "status": "failed", "error": "unreachable"},
            ],
            "ignored": {"future": "field"},
        }
    ).encode()
    received, read, failed = await harness.build().parse(harness.webhook(body))
    assert isinstance(received, MessageReceived)
    message = received.message
    assert (message.hotel, message.channel) == ("plaza", "demo")
    assert message.direction is Direction.INBOUND
    assert (message.provider_message_id, message.text) == ("m1", "Hi")
    assert (message.guest.address, message.guest.display_name) == ("+34600000001", "Ana")
    assert message.conversation_key == "+34600000001"
    assert isinstance(read, MessageStatusChanged)
    assert read == MessageStatusChanged(
        channel="demo", provider_message_id="demo-1", status=DeliveryStatus.READ, at=read.at
    )
    assert isinstance(failed, MessageStatusChanged)
    assert failed.failed
    assert (failed.status, failed.error) == (DeliveryStatus.SENT, "unreachable")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"messages": [{"id": "m1", "text": "no sender"}]}', id="no-from"),
        pytest.param(b'{"statuses": [{"id": "d1", "status": "lost"}]}', id="unknown-status"),
        pytest.param(b'{"messages": [{"id": "", "from": "x", "text": "t"}]}', id="empty-id"),
    ],
)
async def test_parse_refuses_malformed_items(
    harness: ChannelHarness[DemoChannel], body: bytes
) -> None:
    with pytest.raises(ParseError, match="not a demo webhook body"):
        await harness.build().parse(harness.webhook(body))


async def test_send_splits_logs_and_keeps_each_part(
    harness: ChannelHarness[DemoChannel], caplog: pytest.LogCaptureFixture
) -> None:
    channel = harness.build()
    text = "Breakfast is served from seven to half past ten. " * 5
    with caplog.at_level(logging.INFO, logger="begasist.channel.demo.plaza"):
        receipt = await channel.send(harness.outbound(text, address="+34600000001"))
    parts = [sent.text for sent in channel.outbox]
    assert len(parts) == 2
    provider_ids = tuple(sent.provider_message_id for sent in channel.outbox)
    assert receipt.provider_message_ids == provider_ids
    assert [record.getMessage() for record in caplog.records] == [
        f"→ +34600000001: {part}" for part in parts
    ]


async def test_send_refuses_a_message_without_text(harness: ChannelHarness[DemoChannel]) -> None:
    with pytest.raises(PermanentSendError):
        await harness.build().send(harness.outbound("   ", address="+34600000001"))


async def test_simulated_guests_write_in_turn(begasist_bus: Bus) -> None:
    settings: dict[str, Any] = {"webhook_secret": SECRET, "simulated_guest_interval_seconds": 0.01}
    harness = ChannelHarness(
        DemoChannel, bus=begasist_bus, settings=DemoSettings.model_validate(settings)
    )
    async with anyio.create_task_group() as group:
        group.start_soon(harness.build().run)
        with anyio.fail_after(5):
            events = await harness.events.wait_for(3)
        group.cancel_scope.cancel()
    messages = [event.data.message for event in events if isinstance(event.data, MessageReceived)]
    assert [message.guest.display_name for message in messages[:3]] == [
        "Ana Lopez",
        "Ben Carter",
        "Ana Lopez",
    ]
    assert len({message.provider_message_id for message in messages}) == len(messages)


async def test_without_simulation_run_emits_nothing(
    harness: ChannelHarness[DemoChannel],
) -> None:
    with anyio.move_on_after(0.2):
        await harness.build().run()
    assert await harness.events.read() == []
