"""The web chat channel's files: the upload policy, refs in message frames, attachments in parse."""

from __future__ import annotations

import json

import pytest
from begasist_channels_webchat import WebchatChannel, WebchatSettings
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    AttachmentKind,
    GuestAdmission,
    GuestFrameRejected,
    GuestUpload,
    GuestUploadPolicy,
    MessageReceived,
)
from begasist_core.testing import Bus, ChannelHarness
from pydantic import ValidationError

pytestmark = pytest.mark.anyio

ORIGIN = "https://www.plaza.example"
SETTINGS = WebchatSettings(allowed_origins=[ORIGIN])
VISITOR = "visitor-0123456789abcdef"
ADMISSION = GuestAdmission(address=VISITOR, display_name="Ana")
PHOTO = GuestUpload(key="a" * 64, mime_type="image/png", size_bytes=321, filename="room.png")
INVOICE = GuestUpload(key="b" * 64, mime_type="application/pdf", size_bytes=9000)


def ref(upload: GuestUpload) -> str:
    """A ref as the suite issues it (its HMAC is the suite's to check, not the channel's)."""
    return upload.ref_payload() + ".c2lnbmVk"


def frame(*refs: str, text: str = "") -> bytes:
    return json.dumps(
        {"type": "message", "id": "client-0001", "text": text, "attachments": list(refs)}
    ).encode()


@pytest.fixture
async def harness(begasist_bus: Bus) -> ChannelHarness[WebchatChannel]:
    return ChannelHarness(WebchatChannel, bus=begasist_bus, settings=SETTINGS)


def test_images_and_pdf_up_to_10_mib_by_default_and_none_when_the_hotel_says_so() -> None:
    assert WebchatChannel.guest_upload_policy(SETTINGS) == GuestUploadPolicy(
        mime_types=frozenset(
            {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
        ),
        max_bytes=10 * 1024 * 1024,
    )
    closed = WebchatSettings(allowed_origins=[ORIGIN], attachment_types=[])
    assert WebchatChannel.guest_upload_policy(closed) is None
    config = WebchatChannel.guest_config(SETTINGS)
    assert config["max_attachment_bytes"] == 10 * 1024 * 1024


@pytest.mark.parametrize(
    "changes",
    [{"attachment_types": ["image/svg+xml"]}, {"max_attachment_bytes": 26 * 1024 * 1024}],
    ids=["svg", "over-25-mib"],
)
def test_settings_take_only_types_the_suite_recognises_and_sizes_it_accepts(
    changes: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        WebchatSettings(allowed_origins=[ORIGIN], **changes)  # type: ignore[arg-type]


async def test_files_with_a_caption_become_the_messages_attachments(
    harness: ChannelHarness[WebchatChannel],
) -> None:
    ingress = WebchatChannel.guest_frame(
        ADMISSION, frame(ref(PHOTO), ref(INVOICE), text="My room"), SETTINGS
    )
    assert ingress is not None
    # The suite checks these refs were issued to this visitor before it enqueues the body.
    assert ingress.uploads == (ref(PHOTO), ref(INVOICE))
    [received] = await harness.build().parse(harness.webhook(ingress.body))
    assert isinstance(received, MessageReceived)
    message = received.message
    assert message.text == "My room"
    photo, invoice = message.attachments
    assert (photo.kind, photo.mime_type, photo.url) == (
        AttachmentKind.IMAGE,
        "image/png",
        "media:" + "a" * 64,
    )
    assert (photo.filename, photo.size_bytes, photo.sha256) == ("room.png", 321, "a" * 64)
    assert (invoice.kind, invoice.mime_type) == (AttachmentKind.DOCUMENT, "application/pdf")


async def test_a_file_alone_is_a_message(harness: ChannelHarness[WebchatChannel]) -> None:
    ingress = WebchatChannel.guest_frame(ADMISSION, frame(ref(PHOTO)), SETTINGS)
    assert ingress is not None
    [received] = await harness.build().parse(harness.webhook(ingress.body))
    assert isinstance(received, MessageReceived)
    assert received.message.text == ""
    assert len(received.message.attachments) == 1


@pytest.mark.parametrize(
    "bad",
    [
        frame("not-a-ref"),
        frame(ref(INVOICE).replace(".", "")),
        frame(*[ref(PHOTO)] * 6),
        frame(ref(INVOICE)),
    ],
    ids=["garbage", "no-signature", "too-many", "type-no-longer-allowed"],
)
def test_frames_with_bad_refs_are_rejected(bad: bytes) -> None:
    images_only = WebchatSettings(allowed_origins=[ORIGIN], attachment_types=["image/png"])
    with pytest.raises(GuestFrameRejected) as rejected:
        WebchatChannel.guest_frame(ADMISSION, bad, images_only)
    assert rejected.value.code == GUEST_CLOSE_BAD_FRAME
