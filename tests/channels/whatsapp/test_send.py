"""Sending over the Cloud API, against the Graph API stand-in (real HTTP, nothing mocked)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import anyio
import pytest
from begasist_channels_whatsapp import WhatsAppChannel
from begasist_channels_whatsapp.cloud import CloudTransport, RetryPolicy
from begasist_channels_whatsapp.errors import (
    MetaRejected,
    SendRetriesExhausted,
    UnsendableMessage,
)
from begasist_channels_whatsapp.testing import AcceptedMessage, GraphStandin
from begasist_core import (
    Attachment,
    AttachmentKind,
    ChannelCommand,
    CredentialsRevoked,
    Message,
    MessageTemplate,
    PermanentSendError,
    ReplyWindowClosed,
    UnsupportedCommand,
    utc_now,
)
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.whatsapp.conftest import ACCESS_TOKEN, FakeClock
from tests.channels.whatsapp.samples import PHONE_NUMBER_ID, settings

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
GUEST = "34600000001"
QUICK = RetryPolicy(initial=0.01, maximum=0.02, max_wait=1.0)


@pytest.fixture
def harness(begasist_bus: Bus, graph_standin: GraphStandin) -> ChannelHarness[WhatsAppChannel]:
    return make_harness(begasist_bus, graph_standin)


def make_harness(bus: Bus, graph: GraphStandin, **changes: Any) -> ChannelHarness[WhatsAppChannel]:
    options = {"graph_api_url": graph.base_url, "per_recipient_interval_seconds": 0, **changes}
    return ChannelHarness(WhatsAppChannel, bus=bus, settings=settings(**options), hotel=HOTEL)


def build(
    harness: ChannelHarness[WhatsAppChannel], *, clock: FakeClock | None = None
) -> WhatsAppChannel:
    """A channel whose transport retries quickly (and on *clock*, when given)."""
    channel = harness.build()
    channel.transport = CloudTransport(
        channel.context, split_text=WhatsAppChannel.split_text, retry=QUICK, clock=clock
    )
    return channel


async def opened(harness: ChannelHarness[WhatsAppChannel], guest: str = GUEST) -> WhatsAppChannel:
    """A quick channel with *guest*'s window open (as if they had just written)."""
    channel = build(harness)
    await channel.window.record(guest, utc_now())
    return channel


def outbound(harness: ChannelHarness[WhatsAppChannel], text: str = "", **fields: Any) -> Message:
    return harness.outbound(text, address=GUEST).model_copy(update=fields)


def payload(kind: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GUEST,
        "type": kind,
        kind: body,
        **extra,
    }


def untagged(accepted: AcceptedMessage) -> dict[str, Any]:
    """The accepted payload without its ``biz_opaque_callback_data`` (see test_reconcile.py)."""
    return {k: v for k, v in accepted.payload.items() if k != "biz_opaque_callback_data"}


# -- what is sent ------------------------------------------------------------------


async def test_text_goes_to_the_number_with_the_bearer_token(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    receipt = await channel.send(outbound(harness, "Your room is ready"))
    [accepted] = graph_standin.accepted
    expected = payload("text", {"preview_url": False, "body": "Your room is ready"})
    assert untagged(accepted) == expected
    assert receipt.provider_message_ids == (accepted.wamid,)
    [request] = graph_standin.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert request.authorized
    assert "authorization" not in request.headers


async def test_long_text_is_split_with_the_reply_context_on_the_first_part_only(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    text = "Breakfast is served in the garden from seven. " * 200
    receipt = await channel.send(outbound(harness, text, reply_to="wamid.question"))
    accepted = graph_standin.accepted
    assert len(accepted) == len(WhatsAppChannel.split_text(text)) == 3
    assert all(len(part.text) <= 4096 for part in accepted)
    assert " ".join(part.text for part in accepted).split() == text.split()
    assert [part.payload.get("context") for part in accepted] == [
        {"message_id": "wamid.question"},
        None,
        None,
    ]
    assert receipt.provider_message_ids == tuple(part.wamid for part in accepted)


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        pytest.param(
            Attachment(kind=AttachmentKind.IMAGE, url="https://cdn.example/room.jpg", caption="Hi"),
            ("image", {"link": "https://cdn.example/room.jpg", "caption": "Hi"}),
            id="image-link-caption",
        ),
        pytest.param(
            Attachment(
                kind=AttachmentKind.DOCUMENT,
                provider_ref="998877",
                filename="invoice.pdf",
                caption="Your invoice",
            ),
            ("document", {"id": "998877", "caption": "Your invoice", "filename": "invoice.pdf"}),
            id="document-id-filename",
        ),
        pytest.param(
            Attachment(kind=AttachmentKind.AUDIO, provider_ref="5544", filename="note.ogg"),
            ("audio", {"id": "5544"}),
            id="audio-id-filename-dropped",
        ),
        pytest.param(
            Attachment(kind=AttachmentKind.VIDEO, url="http://cdn.example/tour.mp4"),
            ("video", {"link": "http://cdn.example/tour.mp4"}),
            id="video-link",
        ),
        pytest.param(
            Attachment(
                kind=AttachmentKind.STICKER,
                url="begasist-media://plaza/x",
                provider_ref="3322",
            ),
            ("sticker", {"id": "3322"}),
            id="sticker-id-when-the-url-is-not-http",
        ),
    ],
)
async def test_media_is_sent_by_link_or_by_id(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    attachment: Attachment,
    expected: tuple[str, dict[str, Any]],
) -> None:
    channel = await opened(harness)
    await channel.send(outbound(harness, attachments=(attachment,), reply_to="wamid.q"))
    [accepted] = graph_standin.accepted
    kind, body = expected
    assert untagged(accepted) == payload(kind, body, context={"message_id": "wamid.q"})


async def test_text_then_each_attachment_in_order(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    photos = tuple(
        Attachment(kind=AttachmentKind.IMAGE, url=f"https://cdn.example/{n}.jpg") for n in (1, 2)
    )
    receipt = await channel.send(outbound(harness, "Two photos", attachments=photos))
    assert [part.type for part in graph_standin.accepted] == ["text", "image", "image"]
    assert len(receipt.provider_message_ids) == 3


@pytest.mark.parametrize(
    ("attachment", "reason"),
    [
        pytest.param(
            Attachment(kind=AttachmentKind.LOCATION, url="geo:41.38,2.17"),
            "sends only",
            id="location",
        ),
        pytest.param(Attachment(kind=AttachmentKind.OTHER), "sends only", id="other"),
        pytest.param(
            Attachment(kind=AttachmentKind.IMAGE, url="ftp://example/x.png"),
            "http(s) url",
            id="not-http",
        ),
        pytest.param(Attachment(kind=AttachmentKind.IMAGE), "http(s) url", id="nowhere"),
        pytest.param(
            Attachment(kind=AttachmentKind.AUDIO, provider_ref="1", caption="x"),
            "no caption",
            id="caption-on-audio",
        ),
        pytest.param(
            Attachment(kind=AttachmentKind.IMAGE, provider_ref="1", caption="x" * 1025),
            "1024",
            id="caption-too-long",
        ),
    ],
)
async def test_an_attachment_whatsapp_cannot_carry_fails_permanently(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    attachment: Attachment,
    reason: str,
) -> None:
    channel = await opened(harness)
    with pytest.raises(UnsendableMessage, match=re.escape(reason)):
        await channel.send(outbound(harness, "Look", attachments=(attachment,)))
    assert graph_standin.requests == []


async def test_an_empty_message_fails_permanently(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    with pytest.raises(UnsendableMessage, match="no text"):
        await channel.send(outbound(harness, "   "))
    assert graph_standin.requests == []


# -- the customer-service window ---------------------------------------------------

TEMPLATE = MessageTemplate(
    name="booking_reminder",
    language="en_US",
    components=({"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},),
)


async def test_a_template_is_sent_outside_the_window(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = build(harness)
    await channel.send(outbound(harness, "Reminder: booking", template=TEMPLATE))
    [accepted] = graph_standin.accepted
    assert untagged(accepted) == payload(
        "template",
        {
            "name": "booking_reminder",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
        },
    )


async def test_free_text_outside_the_window_is_refused_before_calling_meta(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = build(harness)
    with pytest.raises(ReplyWindowClosed, match="template"):
        await channel.send(outbound(harness, "Hello again"))
    assert graph_standin.requests == []


@pytest.mark.parametrize(("hours_ago", "sent"), [(23.9, True), (24.1, False)])
async def test_the_window_runs_24_hours_from_the_guest_message(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    hours_ago: float,
    sent: bool,
) -> None:
    channel = build(harness)
    await channel.window.record(GUEST, utc_now() - timedelta(hours=hours_ago))
    message = outbound(harness, "Are you still there?")
    if sent:
        await channel.send(message)
    else:
        with pytest.raises(ReplyWindowClosed):
            await channel.send(message)
    assert len(graph_standin.accepted) == int(sent)


async def test_meta_131047_is_a_closed_window_and_forgets_the_record(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    graph_standin.fail_next(1, status=400, code=131047, title="Re-engagement message")
    with pytest.raises(ReplyWindowClosed, match="template"):
        await channel.send(outbound(harness, "Hello"))
    assert not await channel.window.is_open(GUEST)
    assert len(graph_standin.requests) == 1


# -- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(429, 4, id="429-app-calls"),
        pytest.param(400, 130429, id="throughput"),
        pytest.param(400, 131056, id="pair-rate"),
        pytest.param(400, 80007, id="waba-rate"),
        pytest.param(500, 131000, id="something-went-wrong"),
        pytest.param(503, 131016, id="service-unavailable"),
        pytest.param(500, 2, id="api-service"),
        # HTTP 429 is throttling whatever the code: Graph's 613 (call rate) is in no list.
        pytest.param(429, 613, id="429-code-not-listed"),
    ],
)
async def test_transient_refusals_are_retried_until_accepted_once(
    begasist_bus: Bus,
    graph_standin: GraphStandin,
    fake_clock: FakeClock,
    status: int,
    code: int,
) -> None:
    # A rate so high that the number's pacer never waits: the clock's sleeps are the retries'.
    harness = make_harness(begasist_bus, graph_standin, messages_per_second=10_000)
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    graph_standin.fail_next(2, status=status, code=code, title="Try later")
    receipt = await channel.send(outbound(harness, "Checkout is at noon"))
    [accepted] = graph_standin.accepted
    assert receipt.provider_message_ids == (accepted.wamid,)
    assert len(graph_standin.requests) == 3
    assert len(fake_clock.sleeps) == 2


async def test_a_5xx_without_meta_json_is_retried(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    graph_standin.fail_next(1, status=502, body=b"<html>Bad gateway</html>")
    await channel.send(outbound(harness, "Hello"))
    assert len(graph_standin.accepted) == 1


async def test_retry_after_is_honoured_and_the_pair_rate_waits_the_guest_interval(
    begasist_bus: Bus, graph_standin: GraphStandin, fake_clock: FakeClock
) -> None:
    harness = make_harness(begasist_bus, graph_standin, per_recipient_interval_seconds=2.5)
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    graph_standin.fail_next(1, status=429, code=130429, title="Rate limit hit", retry_after=0.7)
    graph_standin.fail_next(1, status=400, code=131056, title="pair rate limit hit")
    await channel.send(outbound(harness, "Hello"))
    assert len(graph_standin.accepted) == 1
    assert fake_clock.sleeps[0] == 0.7
    assert 2.5 in fake_clock.sleeps


async def test_exhausted_retries_are_transient_and_a_redelivery_sends_once(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin, fake_clock: FakeClock
) -> None:
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    graph_standin.fail_next(4, status=503, code=131016, title="Service unavailable")
    message = outbound(harness, "Your taxi is here")
    with pytest.raises(SendRetriesExhausted, match="131016") as raised:
        await channel.send(message)
    assert not isinstance(raised.value, PermanentSendError)
    assert graph_standin.accepted == []
    receipt = await channel.send(message)
    assert [part.wamid for part in graph_standin.accepted] == list(receipt.provider_message_ids)


async def test_a_long_retry_after_gives_up_at_once_for_a_later_redelivery(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin, fake_clock: FakeClock
) -> None:
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    graph_standin.fail_next(1, status=429, code=4, title="Too many calls", retry_after=600)
    with pytest.raises(SendRetriesExhausted, match="wait 600 s"):
        await channel.send(outbound(harness, "Hello"))
    assert fake_clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (400, 100, "Invalid parameter"),
        (400, 131008, "Required parameter is missing"),
        (400, 131009, "Parameter value is not valid"),
        (400, 131026, "Message undeliverable"),
        (400, 131051, "Unsupported message type"),
        (400, 132000, "Number of parameters does not match"),
        (404, 132001, "Template name does not exist in the translation"),
        (400, 133010, "Account not registered"),
        (400, 999999, "A code nobody knows yet"),
    ],
)
async def test_permanent_refusals_fail_at_once_with_metas_code_and_title(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    status: int,
    code: int,
    title: str,
) -> None:
    channel = await opened(harness)
    graph_standin.fail_next(1, status=status, code=code, title=title)
    with pytest.raises(MetaRejected) as raised:
        await channel.send(outbound(harness, "Hello"))
    assert str(raised.value) == f"Meta error {code}: {title}"
    assert raised.value.code == code
    assert len(graph_standin.requests) == 1


# -- idempotency -------------------------------------------------------------------


async def test_the_same_message_id_is_sent_once_even_after_a_restart(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    message = outbound(harness, "Welcome to the Plaza")
    first = await (await opened(harness)).send(message)
    again = await build(harness).send(message)
    assert again == first
    assert len(graph_standin.requests) == 1


@pytest.mark.parametrize("failure", ["permanent", "transient"])
async def test_a_redelivery_after_part_one_sends_only_the_rest(
    harness: ChannelHarness[WhatsAppChannel],
    graph_standin: GraphStandin,
    fake_clock: FakeClock,
    failure: str,
) -> None:
    channel = build(harness, clock=fake_clock)
    await channel.window.record(GUEST, utc_now())
    message = outbound(harness, "The spa opens at nine in the morning. " * 300)
    if failure == "permanent":
        graph_standin.fail_next(1, status=400, code=131026, title="Undeliverable", after=1)
        expected: type[Exception] = MetaRejected
    else:
        graph_standin.fail_next(4, status=500, code=131000, title="Went wrong", after=1)
        expected = SendRetriesExhausted
    with pytest.raises(expected, match=r"part 2 of 3; part 1 was sent"):
        await channel.send(message)
    assert len(graph_standin.accepted) == 1
    receipt = await build(harness).send(message)
    accepted = graph_standin.accepted
    assert [part.text for part in accepted] == WhatsAppChannel.split_text(message.text)
    assert receipt.provider_message_ids == tuple(part.wamid for part in accepted)


# -- secrets -----------------------------------------------------------------------


async def test_the_token_never_appears_in_errors_or_logs(
    begasist_bus: Bus, graph_standin: GraphStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-that-must-stay-secret"
    errors: list[BaseException] = []
    for token, failure in ((wrong, None), (ACCESS_TOKEN, 500), (ACCESS_TOKEN, 400)):
        harness = make_harness(begasist_bus, graph_standin, access_token=token, send_attempts=2)
        channel = await opened(harness)
        if failure is not None:
            graph_standin.fail_next(
                2,
                status=failure,
                code=131000 if failure == 500 else 100,
                title="Failed",
                details=f"echoing {token} as a careless proxy would",
            )
        with pytest.raises(Exception) as raised:
            await channel.send(outbound(harness, "Hello"))
        errors.append(raised.value)
    assert isinstance(errors[0], CredentialsRevoked)
    assert str(errors[0]).startswith("Meta error 190:")
    for token in (wrong, ACCESS_TOKEN):
        for error in errors:
            assert token not in f"{error} {error!r} {error.__cause__}"
        assert token not in caplog.text


# -- the transport's life ------------------------------------------------------------


async def test_many_concurrent_sends_stay_under_the_numbers_throughput(
    begasist_bus: Bus,
) -> None:
    guests = [f"3460000{n:04d}" for n in range(60)]
    with GraphStandin(token=ACCESS_TOKEN, messages_per_second=50) as graph:
        harness = make_harness(begasist_bus, graph, messages_per_second=40)
        channel = build(harness)
        for guest in guests:
            await channel.window.record(guest, utc_now())
        receipts = []

        async def send(guest: str) -> None:
            message = harness.outbound(f"Hello {guest}", address=guest)
            receipts.append(await channel.send(message))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(channel.run)
                async with anyio.create_task_group() as sends:
                    for guest in guests:
                        sends.start_soon(send, guest)
                group.cancel_scope.cancel()
        assert len(receipts) == len(guests)
        assert sorted(part.to for part in graph.accepted) == guests
        assert (graph.throttled, graph.pair_limited) == (0, 0)


async def test_run_closes_its_http_client_when_cancelled(
    harness: ChannelHarness[WhatsAppChannel], graph_standin: GraphStandin
) -> None:
    channel = await opened(harness)
    transport = channel.transport
    assert isinstance(transport, CloudTransport)
    async with anyio.create_task_group() as group:
        group.start_soon(channel.run)
        await anyio.wait_all_tasks_blocked()
        await channel.send(outbound(harness, "Hello"))
        shared = transport._client
        assert shared is not None
        group.cancel_scope.cancel()
    assert shared.is_closed
    assert transport._client is None


async def test_the_cloud_transport_has_no_commands(
    harness: ChannelHarness[WhatsAppChannel],
) -> None:
    with pytest.raises(UnsupportedCommand):
        await build(harness).command(ChannelCommand(channel="whatsapp", command="logout"))
