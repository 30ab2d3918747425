"""The web chat channel's own rules: settings, admission, frames, receipts and replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from begasist_channels_webchat import WebchatChannel, WebchatSettings, identity_hash
from begasist_channels_webchat.frames import MAX_FRAME_BYTES
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_FORBIDDEN,
    GUEST_CLOSE_TOO_LARGE,
    GUEST_CLOSE_UNAUTHENTICATED,
    Attachment,
    AttachmentKind,
    DeliveryStatus,
    GuestAdmission,
    GuestFrameRejected,
    GuestHello,
    GuestIdentity,
    GuestRefused,
    MessageStatusChanged,
    PermanentSendError,
)
from begasist_core.testing import Bus, ChannelHarness
from pydantic import ValidationError

pytestmark = pytest.mark.anyio

ORIGIN = "https://www.plaza.example"
KEY = "s3cret-s3cret-s3cret-s3cret-s3cret"
SETTINGS = WebchatSettings(allowed_origins=[ORIGIN], identity_secret=KEY)
VISITOR = "visitor-0123456789abcdef"
ADMISSION = GuestAdmission(address=VISITOR, display_name="Ana")


def hello(**changes: Any) -> GuestHello:
    return GuestHello(**{"origin": ORIGIN, "visitor_id": VISITOR, **changes})


@pytest.fixture
async def harness(begasist_bus: Bus) -> ChannelHarness[WebchatChannel]:
    return ChannelHarness(WebchatChannel, bus=begasist_bus, settings=SETTINGS)


@pytest.mark.parametrize(
    "origin",
    ["https://www.plaza.example/", "https://WWW.plaza.example", "www.plaza.example", "*"],
)
def test_settings_take_origins_only_as_browsers_send_them(origin: str) -> None:
    with pytest.raises(ValidationError):
        WebchatSettings(allowed_origins=[origin])


def test_office_hours_must_open_before_they_close() -> None:
    with pytest.raises(ValidationError):
        WebchatSettings(office_hours=[{"days": [0], "opens": "18:00", "closes": "09:00"}])
    hours = WebchatSettings(office_hours=[{"days": [0, 4], "opens": "09:00", "closes": "18:00"}])
    assert hours.office_hours[0].days == frozenset({0, 4})


def test_the_identity_secret_is_never_shown() -> None:
    assert KEY not in repr(SETTINGS)
    assert KEY not in SETTINGS.model_dump_json()


def test_an_identity_is_refused_when_the_hotel_set_no_secret() -> None:
    settings = WebchatSettings(allowed_origins=[ORIGIN])
    claimed = hello(
        identifier="ana@example.com", identifier_hash=identity_hash("", "ana@example.com")
    )
    with pytest.raises(GuestRefused) as refused:
        WebchatChannel.admit_guest(claimed, settings)
    assert refused.value.code == GUEST_CLOSE_UNAUTHENTICATED


def test_a_verified_email_links_to_the_email_identity_and_another_identifier_links_nothing() -> (
    None
):
    email = hello(
        identifier="ana@example.com", identifier_hash=identity_hash(KEY, "ana@example.com")
    )
    admitted = WebchatChannel.admit_guest(email, SETTINGS)
    assert admitted.verified_identity == GuestIdentity(channel="email", address="ana@example.com")
    assert admitted.address.startswith(f"{VISITOR}.")
    customer = hello(identifier="cust-42", identifier_hash=identity_hash(KEY, "cust-42"))
    assert WebchatChannel.admit_guest(customer, SETTINGS).verified_identity is None


def test_an_origin_refusal_says_so() -> None:
    with pytest.raises(GuestRefused) as refused:
        WebchatChannel.admit_guest(hello(origin="http://www.plaza.example"), SETTINGS)
    assert (refused.value.code, refused.value.reason) == (
        GUEST_CLOSE_FORBIDDEN,
        "origin not allowed",
    )


def test_a_ping_enqueues_nothing() -> None:
    assert WebchatChannel.guest_frame(ADMISSION, b'{"type": "ping"}', SETTINGS) is None


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b'{"type": "message", "id": "client-0001", "text": "   \\n "}', GUEST_CLOSE_BAD_FRAME),
        (b'{"type": "message", "id": "client-0001", "text": "a\\u0007b"}', GUEST_CLOSE_BAD_FRAME),
        (b'{"type": "receipt", "id": "m1", "status": "sent"}', GUEST_CLOSE_BAD_FRAME),
        (
            b'{"type": "message", "id": "client-0001", "text": "' + b"a" * MAX_FRAME_BYTES + b'"}',
            GUEST_CLOSE_TOO_LARGE,
        ),
    ],
    ids=["blank", "bell", "receipt-of-sent", "too-large"],
)
def test_frames_that_are_not_text_messages_or_receipts_are_rejected(
    frame: bytes, code: int
) -> None:
    with pytest.raises(GuestFrameRejected) as rejected:
        WebchatChannel.guest_frame(ADMISSION, frame, SETTINGS)
    assert rejected.value.code == code


async def test_a_read_receipt_becomes_the_status_of_the_visitors_reply(
    harness: ChannelHarness[WebchatChannel],
) -> None:
    frame = b'{"type": "receipt", "id": "01JREPLY", "status": "read"}'
    ingress = WebchatChannel.guest_frame(ADMISSION, frame, SETTINGS)
    assert ingress is not None
    assert ingress.answer is None
    assert ingress.receipt_for == "01JREPLY"  # the suite takes it only for a reply it showed
    [status] = await harness.build().parse(harness.webhook(ingress.body))
    assert isinstance(status, MessageStatusChanged)
    assert (status.channel, status.status) == ("webchat", DeliveryStatus.READ)
    # Scoped by the visitor: a receipt can only name a reply sent to this visitor.
    assert status.provider_message_id == f"{VISITOR}/01JREPLY"


async def test_a_reply_is_delivered_to_the_visitor_once_with_a_scoped_provider_id(
    harness: ChannelHarness[WebchatChannel], begasist_bus: Bus
) -> None:
    channel = harness.build()
    message = harness.outbound("Sí, en el sótano.", address=VISITOR)
    receipt = await channel.send(message)
    assert await channel.send(message) == receipt
    assert receipt.provider_message_ids == (f"{VISITOR}/{message.id}",)
    [(_, fields)] = await begasist_bus.redis.xrange(
        begasist_bus.names.guests(harness.hotel, "webchat")
    )
    assert fields[b"address"] == VISITOR.encode()
    assert fields[b"message"] == message.id.encode()  # what the guest's receipts name
    frame = json.loads(fields[b"frame"])
    assert frame["type"] == "message"
    assert frame["message"]["id"] == message.id
    assert frame["message"]["text"] == "Sí, en el sótano."
    assert frame["message"]["status"] == "sent"


async def test_a_reply_with_attachments_fails_visibly(
    harness: ChannelHarness[WebchatChannel],
) -> None:
    message = harness.outbound("Su factura", address=VISITOR).model_copy(
        update={"attachments": (Attachment(kind=AttachmentKind.DOCUMENT, filename="f.pdf"),)}
    )
    with pytest.raises(PermanentSendError):
        await harness.build().send(message)


def test_a_short_or_empty_identity_secret_is_refused_by_the_settings() -> None:
    for short in ("", "s3cret", "x" * 31):
        with pytest.raises(ValidationError):
            WebchatSettings(allowed_origins=[ORIGIN], identity_secret=short)


def test_names_are_one_line_of_visible_text() -> None:
    spoof = hello(display_name="Reception\n[staff]\x00 \u202egnp.exe\u200b")
    assert WebchatChannel.admit_guest(spoof, SETTINGS).display_name == "Reception [staff] gnp.exe"
    assert (
        WebchatChannel.admit_guest(hello(display_name="\u200b \u2060"), SETTINGS).display_name
        is None
    )


def test_text_of_invisible_characters_only_is_refused() -> None:
    admission = WebchatChannel.admit_guest(hello(), SETTINGS)
    frame = json.dumps({"type": "message", "id": "client-0001", "text": "\u200b\u2060\u200b"})
    with pytest.raises(GuestRefused):
        WebchatChannel.guest_frame(admission, frame.encode(), SETTINGS)


def test_the_address_follows_the_signed_in_identifier() -> None:
    def signed(identifier: str) -> GuestHello:
        return hello(identifier=identifier, identifier_hash=identity_hash(KEY, identifier))

    alice = WebchatChannel.admit_guest(signed("alice@example.com"), SETTINGS).address
    bob = WebchatChannel.admit_guest(signed("bob@example.com"), SETTINGS).address
    anonymous = WebchatChannel.admit_guest(hello(), SETTINGS).address
    assert len({alice, bob, anonymous}) == 3
    assert alice == WebchatChannel.admit_guest(signed("alice@example.com"), SETTINGS).address
