"""One Meta app's callback URL for many hotels: verified with the app settings, split per number."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from begasist_channels_whatsapp import (
    WhatsAppAppSettings,
    WhatsAppChannel,
    read_webhook,
    sign_body,
    split_by_number,
)
from begasist_core import (
    RoutedWebhook,
    SharedWebhook,
    WebhookRequest,
    WebhookResponse,
    WebhookSignatureError,
)
from pydantic import BaseModel

from tests.channels.whatsapp.samples import MESSAGES, PHONE_NUMBER_ID, STATUSES, body_of, settings

APP_SECRET = "the-operators-app-secret"
APP = WhatsAppAppSettings.model_validate(
    {"app_secret": APP_SECRET, "verify_token": "the-operators-verify-token"}
)
OTHER_NUMBER = "9988776655443"
WABA = "1234567890987654321"


def change_for(number: str, sample: dict[str, Any] = MESSAGES["text"]) -> dict[str, Any]:
    """The sample's first change, addressed to *number*."""
    change = copy.deepcopy(sample["entry"][0]["changes"][0])
    change["value"]["metadata"]["phone_number_id"] = number
    return dict(change)


def delivery(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA, "changes": changes} for changes in entries],
    }


def post(body: bytes, secret: str = APP_SECRET) -> WebhookRequest:
    return WebhookRequest(
        method="POST", headers={"X-Hub-Signature-256": sign_body(secret, body)}, body=body
    )


def test_the_channel_declares_its_shared_url() -> None:
    assert WhatsAppChannel.capabilities.shared_webhook
    assert WhatsAppChannel.AppSettings is WhatsAppAppSettings
    assert WhatsAppChannel.route_key(settings()) == PHONE_NUMBER_ID


def test_a_linked_device_has_no_route_key() -> None:
    assert WhatsAppChannel.route_key(settings(transport="linked")) is None


def test_a_delivery_for_two_numbers_is_split_into_one_part_each() -> None:
    body = body_of(
        delivery(
            [change_for(PHONE_NUMBER_ID), change_for(OTHER_NUMBER, STATUSES["read"])],
            [change_for(OTHER_NUMBER)],
        )
    )
    shared = WhatsAppChannel.verify_shared(post(body), APP)
    assert shared.response == WebhookResponse()
    by_key = {part.route_key: json.loads(part.body) for part in shared.parts}
    assert list(by_key) == [PHONE_NUMBER_ID, OTHER_NUMBER]
    assert by_key[PHONE_NUMBER_ID] == delivery([change_for(PHONE_NUMBER_ID)])
    assert by_key[OTHER_NUMBER] == delivery(
        [change_for(OTHER_NUMBER, STATUSES["read"])], [change_for(OTHER_NUMBER)]
    )


def test_each_part_parses_as_a_delivery_of_that_hotels_number() -> None:
    body = body_of(delivery([change_for(PHONE_NUMBER_ID), change_for(OTHER_NUMBER)]))
    mine, _ = split_by_number(body)
    contents = read_webhook(mine.body, hotel="plaza", settings=settings())
    assert len(contents.events) == 1
    assert contents.skipped == []


def test_a_delivery_for_one_number_goes_on_as_the_exact_bytes() -> None:
    body = body_of(MESSAGES["text"])
    assert split_by_number(body) == (RoutedWebhook(route_key=PHONE_NUMBER_ID, body=body),)


def test_a_change_without_a_phone_number_id_is_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nameless = change_for(PHONE_NUMBER_ID)
    del nameless["value"]["metadata"]
    odd = change_for("not-a-number")
    body = body_of(delivery([nameless, odd, change_for(PHONE_NUMBER_ID)]))
    with caplog.at_level(logging.INFO):
        (part,) = split_by_number(body)
    assert part.route_key == PHONE_NUMBER_ID
    assert json.loads(part.body) == delivery([change_for(PHONE_NUMBER_ID)])
    skips = [r.getMessage() for r in caplog.records if "phone_number_id" in r.getMessage()]
    assert skips == [
        f"whatsapp shared webhook: entry {WABA} change {n} names no metadata.phone_number_id; "
        "skipped"
        for n in (0, 1)
    ]


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"entry": 3}', b"[" * 100_000])
def test_a_signed_body_that_is_no_delivery_routes_nowhere(body: bytes) -> None:
    assert WhatsAppChannel.verify_shared(post(body), APP) == SharedWebhook()


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(post(body_of(MESSAGES["text"]), "a-hotels-own-secret"), id="other-secret"),
        pytest.param(
            WebhookRequest(method="POST", body=body_of(MESSAGES["text"])), id="no-signature"
        ),
    ],
)
def test_a_delivery_not_signed_with_the_app_secret_is_refused(request_: WebhookRequest) -> None:
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify_shared(request_, APP)


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda good: good.replace("sha256=", "SHA256="), id="upper-case-scheme"),
        pytest.param(lambda good: "sha256=" + good[7:].upper(), id="upper-case-hex"),
        pytest.param(lambda good: good + " ", id="trailing-space"),
        pytest.param(lambda good: f"{good}, {good}", id="header-sent-twice"),
    ],
)
def test_a_signature_spelt_otherwise_than_meta_sends_it_is_refused(
    spelling: Callable[[str], str],
) -> None:
    body = body_of(MESSAGES["text"])
    good = sign_body(APP_SECRET, body)
    request_ = WebhookRequest(
        method="POST", headers={"x-hub-signature-256": spelling(good)}, body=body
    )
    with pytest.raises(WebhookSignatureError, match="does not match"):
        WhatsAppChannel.verify_shared(request_, APP)


def test_a_reserialised_body_fails_the_original_signature() -> None:
    body = body_of(MESSAGES["text"])
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    signed_original = WebhookRequest(
        method="POST",
        headers={"x-hub-signature-256": sign_body(APP_SECRET, body)},
        body=reserialised,
    )
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify_shared(signed_original, APP)


def test_the_handshake_answers_with_the_apps_verify_token_and_no_parts() -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "the-operators-verify-token",
        "hub.challenge": "1158201444",
    }
    shared = WhatsAppChannel.verify_shared(WebhookRequest(method="GET", query=query), APP)
    assert shared.parts == ()
    assert shared.response.body == b"1158201444"
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify_shared(
            WebhookRequest(method="GET", query={**query, "hub.verify_token": "guess"}), APP
        )


def test_other_app_settings_are_a_programming_error() -> None:
    class Elsewhere(BaseModel):
        app_secret: str = APP_SECRET

    with pytest.raises(TypeError):
        WhatsAppChannel.verify_shared(post(b"{}"), Elsewhere())


def test_the_app_secrets_are_write_only() -> None:
    assert APP_SECRET not in repr(APP)
    assert APP_SECRET not in APP.model_dump_json()
