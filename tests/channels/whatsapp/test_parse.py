"""Reading Cloud API webhooks: every sample becomes events or is skipped with a reason."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from begasist_channels_whatsapp import WebhookContents, WhatsAppChannel, read_webhook
from begasist_core import (
    AttachmentKind,
    ChannelState,
    DeliveryStatus,
    Direction,
    Message,
    MessageChanged,
    MessageReaction,
    MessageReceived,
    MessageStatusChanged,
    ParseError,
)
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.whatsapp.samples import MESSAGES, STATUSES, body_of, settings

HOTEL = "plaza"
GUEST = "972987654321"


def read(sample: dict[str, Any], **changes: Any) -> WebhookContents:
    return read_webhook(body_of(sample), hotel=HOTEL, settings=settings(**changes))


def only_message(sample: dict[str, Any], **changes: Any) -> Message:
    contents = read(sample, **changes)
    assert contents.skipped == []
    [event] = contents.events
    assert isinstance(event, MessageReceived)
    return event.message


def with_message(**fields: Any) -> dict[str, Any]:
    """The text sample with its one message's fields replaced (None removes a field)."""
    sample = copy.deepcopy(MESSAGES["text"])
    message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(fields)
    for key in [key for key, value in fields.items() if value is None]:
        del message[key]
    return sample


@pytest.mark.parametrize("name", [*MESSAGES, *(f"status:{key}" for key in STATUSES)])
def test_every_sample_is_read_or_skipped_with_a_reason(name: str) -> None:
    sample = (
        STATUSES[name.removeprefix("status:")] if name.startswith("status:") else MESSAGES[name]
    )
    contents = read(sample)
    assert contents.events or contents.skipped
    assert all(reason.strip() for reason in contents.skipped)


@pytest.mark.parametrize("name", list(MESSAGES))
def test_every_message_keeps_its_id_guest_and_time(name: str) -> None:
    raw = MESSAGES[name]["entry"][0]["changes"][0]["value"]["messages"][0]
    for event in read(MESSAGES[name]).events:
        if isinstance(event, MessageChanged):  # a reaction: the change keeps the same
            assert (event.change_id, event.channel) == (raw["id"], "whatsapp")
            assert event.by is not None
            assert (event.by.address, event.by.display_name) == (GUEST, "Test Name")
            assert event.at == datetime.fromtimestamp(int(raw["timestamp"]), UTC)
            continue
        assert isinstance(event, MessageReceived)
        message = event.message
        assert message.direction is Direction.INBOUND
        assert (message.hotel, message.channel) == (HOTEL, "whatsapp")
        assert message.provider_message_id == raw["id"]
        assert message.conversation_key == GUEST
        assert (message.guest.channel, message.guest.address) == ("whatsapp", GUEST)
        assert message.guest.display_name == "Test Name"
        assert message.created_at == datetime.fromtimestamp(int(raw["timestamp"]), UTC)


def test_text() -> None:
    message = only_message(MESSAGES["text"])
    assert (message.text, message.attachments, message.reply_to) == ("Body Text", (), None)


@pytest.mark.parametrize(
    ("name", "kind", "mime_type", "media_id"),
    [
        ("image", AttachmentKind.IMAGE, "image/jpeg", "65463453"),
        ("media_with_url", AttachmentKind.IMAGE, "image/jpeg", "65463453"),
        ("video", AttachmentKind.VIDEO, "video/mp4", "765756756"),
        ("document", AttachmentKind.DOCUMENT, "application/pdf", "1234567890987654321"),
        ("audio", AttachmentKind.AUDIO, "audio/ogg; codecs=opus", "1234567890987654321"),
        ("voice", AttachmentKind.AUDIO, "audio/ogg; codecs=opus", "1234567890987654321"),
        ("static_sticker", AttachmentKind.STICKER, "image/webp", "1234567890987654321"),
        ("animated_sticker", AttachmentKind.STICKER, "image/webp", "1234567890987654321"),
    ],
)
def test_media_becomes_attachment_metadata(
    name: str, kind: AttachmentKind, mime_type: str, media_id: str
) -> None:
    [attachment] = only_message(MESSAGES[name]).attachments
    assert (attachment.kind, attachment.mime_type, attachment.provider_ref) == (
        kind,
        mime_type,
        media_id,
    )
    # The provider's URL needs the access token; the bytes are fetched later, by id.
    assert attachment.url is None


def test_captions_and_filenames_are_kept() -> None:
    video = only_message(MESSAGES["video"])
    assert (video.text, video.attachments[0].caption) == ("caption", "caption")
    document = only_message(MESSAGES["document"]).attachments[0]
    assert (document.filename, document.caption) == ("filename.pdf", "caption")


def test_a_base64_sha256_of_32_bytes_is_kept_in_hex_and_anything_else_dropped() -> None:
    digest = bytes(range(32))
    sample = with_message(
        type="image",
        text=None,
        image={
            "id": "1",
            "mime_type": "image/png",
            "sha256": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        },
    )
    assert only_message(sample).attachments[0].sha256 == digest.hex()
    assert only_message(MESSAGES["image"]).attachments[0].sha256 is None


def only_change(sample: dict[str, Any]) -> MessageChanged:
    contents = read(sample)
    assert contents.skipped == []
    [event] = contents.events
    assert isinstance(event, MessageChanged)
    return event


def test_a_reaction_is_a_change_to_the_message_it_reacts_to() -> None:
    event = only_change(MESSAGES["reaction"])
    assert event.provider_message_id == "wamid.yzxyzx="
    assert event.change == MessageReaction(emoji="\N{FACE WITH OPEN MOUTH}")


@pytest.mark.parametrize("name", ["unreaction_empty", "unreaction_no_emoji"])
def test_a_removed_reaction_takes_the_reaction_back(name: str) -> None:
    event = only_change(MESSAGES[name])
    assert event.provider_message_id == "wamid.yzxyzx="
    assert event.change == MessageReaction(emoji=None)


def test_locations() -> None:
    current = only_message(MESSAGES["current_location"])
    assert current.text == "Location: 12.25089, 43.90539"
    assert current.attachments[0].kind is AttachmentKind.LOCATION
    assert current.attachments[0].url == "geo:12.25089,43.90539"
    chosen = only_message(MESSAGES["chosen_location"]).attachments[0]
    assert chosen.url == "https://maps.google.com/?cid=2000000000000000000"
    assert chosen.caption == "Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025"


def test_contacts() -> None:
    message = only_message(MESSAGES["contacts"])
    assert [attachment.kind for attachment in message.attachments] == [AttachmentKind.CONTACT] * 3
    assert message.attachments[0].caption == "Chandler Bing (+1 555-555-5555)"
    assert message.text.startswith("Contacts: Chandler Bing (+1 555-555-5555); Monica")


def test_order() -> None:
    text = only_message(MESSAGES["order"]).text
    assert text == (
        "Order (3 items): 3 x HAMBURGER at 30 ILS; 2 x FRENCH_FRIES at 35 ILS; 2 x SODA at 10 ILS"
    )


def test_unsupported_messages_are_kept_with_a_placeholder() -> None:
    assert only_message(MESSAGES["unsupported"]).text == "[unsupported WhatsApp message]"
    kind = only_message(MESSAGES["unsupported_with_type"]).text
    assert kind == "[unsupported WhatsApp message: pool]"
    contents = read(MESSAGES["unsupported"])
    assert contents.notes == [
        "wamid.xyzxyz kept as a placeholder: 131051 Message type unknown: "
        "Message type is currently not supported."
    ]


def test_an_interactive_reply_meta_could_not_deliver_keeps_its_context() -> None:
    message = only_message(MESSAGES["interactive_message_with_err"])
    assert message.text == "[unsupported WhatsApp message]"
    assert (message.provider_message_id, message.reply_to) == (
        "wamid.wegrchytvwcggt=",
        "wamid.gvwegfretge==",
    )


def test_reply_context_forwarded_and_referral() -> None:
    reply = only_message(MESSAGES["reply"])
    assert (reply.text, reply.reply_to) == ("replied text", "wamid.xyzxyz==")
    for name in ("forwarded", "forwarded_many_times"):
        forwarded = only_message(MESSAGES[name])
        assert forwarded.reply_to is None
        assert "forwarded" in forwarded.text
    referral = only_message(MESSAGES["referral"])
    assert (referral.text, referral.provider_message_id) == ("BODY", "wamid.ID")


@pytest.mark.parametrize(
    ("interactive", "text"),
    [
        ({"type": "button_reply", "button_reply": {"id": "b1", "title": "Yes"}}, "Yes"),
        (
            {
                "type": "list_reply",
                "list_reply": {"id": "r2", "title": "Double room", "description": "Sea view"},
            },
            "Double room: Sea view",
        ),
    ],
    ids=["button_reply", "list_reply"],
)
def test_interactive_replies(interactive: dict[str, Any], text: str) -> None:
    sample = with_message(type="interactive", text=None, interactive=interactive)
    assert only_message(sample).text == text


def test_a_template_quick_reply_button() -> None:
    sample = with_message(
        type="button",
        text=None,
        button={"text": "Confirm booking", "payload": "CONFIRM"},
        context={"from": "972123456789", "id": "wamid.template"},
    )
    message = only_message(sample)
    assert (message.text, message.reply_to) == ("Confirm booking", "wamid.template")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "system", "system": {"body": "changed number"}}, "unknown type 'system'"),
        ({"type": "image"}, "image message without its image object"),
        ({"from": None}, "unreadable: from: Field required"),
        ({"timestamp": "yesterday"}, "unreadable: timestamp"),
        ({"group_id": "120363"}, "in group 120363 (ignore_groups)"),
    ],
    ids=["unknown-type", "missing-object", "no-sender", "bad-time", "group"],
)
def test_unreadable_or_unwanted_messages_are_skipped(fields: dict[str, Any], reason: str) -> None:
    contents = read(with_message(**fields))
    assert contents.events == []
    [skipped] = contents.skipped
    assert reason in skipped


def test_group_messages_are_read_when_groups_are_not_ignored() -> None:
    message = only_message(with_message(group_id="120363"), ignore_groups=False)
    assert (message.conversation_key, message.guest.address) == ("120363", GUEST)


def test_one_bad_message_does_not_lose_its_neighbours() -> None:
    sample = copy.deepcopy(MESSAGES["text"])
    messages = sample["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(0, {"id": "wamid.bad", "type": "text"})
    messages.append({**messages[1], "id": "wamid.second"})
    contents = read(sample)
    assert [
        event.message.provider_message_id
        for event in contents.events
        if isinstance(event, MessageReceived)
    ] == ["wamid.xyzxyz", "wamid.second"]
    assert len(contents.skipped) == 1


def test_a_wamid_repeated_in_one_delivery_is_read_once() -> None:
    sample = copy.deepcopy(MESSAGES["text"])
    sample["entry"].append(copy.deepcopy(sample["entry"][0]))
    contents = read(sample)
    assert len(contents.events) == 1
    assert "a repeat of wamid.xyzxyz" in contents.skipped[0]


def test_changes_for_another_number_or_field_are_skipped() -> None:
    other_number = read(MESSAGES["text"], phone_number_id="999")
    assert other_number.events == []
    assert "not this channel's '999'" in other_number.skipped[0]
    sample = copy.deepcopy(MESSAGES["text"])
    sample["entry"][0]["changes"][0]["field"] = "business_capability_update"
    assert read(sample).skipped == [
        "entry 1234567890987654321 change 0: field 'business_capability_update' is not read"
    ]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("played", DeliveryStatus.READ),
        ("with_tracker", DeliveryStatus.SENT),
    ],
)
def test_statuses(name: str, status: DeliveryStatus) -> None:
    [event] = read(STATUSES[name]).events
    raw = STATUSES[name]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert event == MessageStatusChanged(
        channel="whatsapp",
        provider_message_id="wamid.xyzxyz",
        status=status,
        at=datetime.fromtimestamp(int(raw["timestamp"]), UTC),
    )


def test_a_failed_status_carries_the_error_code_and_title() -> None:
    [event] = read(STATUSES["failed"]).events
    assert isinstance(event, MessageStatusChanged)
    assert (event.status, event.failed) == (DeliveryStatus.SENT, True)
    assert event.error == (
        "130472 User's number is part of an experiment: Failed to send message because "
        "this user's phone number is part of an experiment"
    )


def test_group_statuses_are_skipped() -> None:
    sample = copy.deepcopy(STATUSES["group"])
    sample["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "1122334455667"
    contents = read(sample)
    assert contents.events == []
    assert "(ignore_groups)" in contents.skipped[0]
    assert len(read(sample, ignore_groups=False).events) == 1


def test_an_unknown_status_is_skipped() -> None:
    sample = copy.deepcopy(STATUSES["sent"])
    sample["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    assert "unknown status 'deleted'" in read(sample).skipped[0]


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"object": "page", "entry": []}', b'{"entry": []}', b"\xff\xfe"],
    ids=["empty", "not-json", "array", "other-object", "no-object", "not-utf8"],
)
def test_a_body_that_is_no_whatsapp_webhook_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a WhatsApp webhook body"):
        read_webhook(body, hotel=HOTEL, settings=settings())


@pytest.mark.anyio
async def test_the_channel_parses_and_logs_what_it_skips(
    begasist_bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    harness = ChannelHarness(WhatsAppChannel, bus=begasist_bus, settings=settings(), hotel=HOTEL)
    channel = harness.build()
    caplog.set_level(logging.INFO)
    assert len(await channel.parse(harness.webhook(body_of(MESSAGES["text"])))) == 1
    assert await channel.parse(harness.webhook(body_of(STATUSES[next(iter(STATUSES))]))) != []
    other = {**MESSAGES["text"], "entry": [{"id": "1", "changes": [{"field": "calls"}]}]}
    assert await channel.parse(harness.webhook(body_of(other))) == []
    assert "skipped" in caplog.text
    assert "field 'calls' is not read" in caplog.text


@pytest.mark.anyio
async def test_an_account_restriction_shows_on_the_channels_state(begasist_bus: Bus) -> None:
    harness = ChannelHarness(WhatsAppChannel, bus=begasist_bus, settings=settings(), hotel=HOTEL)
    channel = harness.build()
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": settings().waba_id,
                "changes": [
                    {
                        "field": "account_update",
                        "value": {
                            "event": "ACCOUNT_VIOLATION",
                            "violation_info": {"violation_type": "SPAM"},
                        },
                    }
                ],
            }
        ],
    }
    assert await channel.parse(harness.webhook(body_of(body))) == []
    assert harness.states == [
        (ChannelState.RUNNING, "Meta found a policy violation on the account; violation: SPAM")
    ]
