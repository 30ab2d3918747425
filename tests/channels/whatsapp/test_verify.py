"""WhatsApp webhook verification: Meta's GET handshake and the POST body signature."""

from __future__ import annotations

import json

import pytest
from begasist_channels_whatsapp import WhatsAppChannel, sign_body
from begasist_core import (
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    WebhookSignatureError,
)
from hypothesis import given
from hypothesis import strategies as st

from tests.channels.whatsapp.samples import APP_SECRET, MESSAGES, VERIFY_TOKEN, body_of, settings

SETTINGS = settings()
BODY = body_of(MESSAGES["chosen_location"])


def post(body: bytes, signature: str | None) -> WebhookRequest:
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    return WebhookRequest(method="POST", headers=headers, body=body)


def handshake(**query: str) -> WebhookRequest:
    return WebhookRequest(method="GET", query={f"hub.{key}": value for key, value in query.items()})


def test_a_body_signed_with_the_app_secret_is_accepted() -> None:
    response = WhatsAppChannel.verify(post(BODY, sign_body(APP_SECRET, BODY)), SETTINGS)
    assert response == WebhookResponse()
    assert response.enqueue


def test_the_signature_is_hmac_sha256_of_the_body_in_hex() -> None:
    assert sign_body("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign_body("another-secret", BODY), id="other-secret"),
        pytest.param(sign_body(APP_SECRET, BODY + b" "), id="other-body"),
        pytest.param(sign_body(APP_SECRET, BODY).removeprefix("sha256="), id="no-scheme"),
        pytest.param("sha1=" + "0" * 40, id="other-scheme"),
        pytest.param("sha256=", id="empty-digest"),
        pytest.param("sha256=ü" * 3, id="non-ascii"),
    ],
)
def test_a_bad_signature_is_refused(signature: str) -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        WhatsAppChannel.verify(post(BODY, signature), SETTINGS)


GOOD = sign_body(APP_SECRET, BODY)
HEX = GOOD.removeprefix("sha256=")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("SHA256=" + HEX, id="upper-case-scheme"),
        pytest.param("sha256=" + HEX.upper(), id="upper-case-hex"),
        pytest.param(GOOD.upper(), id="all-upper-case"),
        pytest.param(" " + GOOD, id="leading-space"),
        pytest.param(GOOD + " ", id="trailing-space"),
        pytest.param(GOOD + "\t", id="trailing-tab"),
        pytest.param(HEX, id="missing-prefix"),
        pytest.param(GOOD[:-1], id="truncated"),
        pytest.param(GOOD + "0", id="one-digit-more"),
        pytest.param(f"{GOOD}, {GOOD}", id="header-sent-twice"),
        pytest.param(f"{GOOD},{GOOD}", id="header-sent-twice-no-space"),
    ],
)
def test_a_signature_spelt_otherwise_than_meta_sends_it_is_refused(signature: str) -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        WhatsAppChannel.verify(post(BODY, signature), SETTINGS)


def test_the_exact_spelling_meta_sends_is_accepted() -> None:
    assert "sha256=" + HEX.lower() == GOOD
    assert WhatsAppChannel.verify(post(BODY, GOOD), SETTINGS).enqueue


@pytest.mark.parametrize("signature", [None, ""], ids=["absent", "empty"])
def test_a_missing_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(WebhookSignatureError, match="missing"):
        WhatsAppChannel.verify(post(BODY, signature), SETTINGS)


def test_a_reserialised_body_fails_the_original_signature() -> None:
    signature = sign_body(APP_SECRET, BODY)
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify(post(reserialised, signature), SETTINGS)


def test_the_handshake_answers_the_challenge_as_text_without_enqueueing() -> None:
    request = handshake(mode="subscribe", verify_token=VERIFY_TOKEN, challenge="1158201444")
    response = WhatsAppChannel.verify(request, SETTINGS)
    assert response == WebhookResponse(body=b"1158201444", media_type="text/plain", enqueue=False)


@pytest.mark.parametrize("token", ["wrong-token", "", "ü"], ids=["wrong", "empty", "non-ascii"])
def test_the_handshake_with_a_wrong_token_is_refused(token: str) -> None:
    request = handshake(mode="subscribe", verify_token=token, challenge="1158201444")
    with pytest.raises(WebhookSignatureError, match="verify token"):
        WhatsAppChannel.verify(request, SETTINGS)


def test_the_handshake_without_a_token_is_refused() -> None:
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify(handshake(mode="subscribe", challenge="1"), SETTINGS)


@pytest.mark.parametrize("mode", ["unsubscribe", None], ids=["other-mode", "no-mode"])
def test_the_handshake_in_a_wrong_mode_is_refused(mode: str | None) -> None:
    query = {"verify_token": VERIFY_TOKEN, "challenge": "1"}
    request = handshake(**query) if mode is None else handshake(mode=mode, **query)
    with pytest.raises(WebhookRejected, match="subscribe"):
        WhatsAppChannel.verify(request, SETTINGS)


def test_the_handshake_without_a_challenge_is_refused() -> None:
    with pytest.raises(WebhookRejected, match="challenge"):
        WhatsAppChannel.verify(handshake(mode="subscribe", verify_token=VERIFY_TOKEN), SETTINGS)


def test_other_methods_are_refused() -> None:
    with pytest.raises(WebhookRejected, match="GET or POST"):
        WhatsAppChannel.verify(WebhookRequest(method="PUT", body=BODY), SETTINGS)


@given(
    body=st.binary(max_size=512),
    headers=st.dictionaries(
        st.sampled_from(["x-hub-signature-256", "x-hub-signature", "content-type"])
        | st.text(max_size=20),
        st.text(max_size=80) | st.just("sha256=") | st.builds("sha256={}".format, st.text()),
        max_size=4,
    ),
)
def test_verify_refuses_random_posts_only_with_signature_errors(
    body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookSignatureError):
        WhatsAppChannel.verify(WebhookRequest(method="POST", headers=headers, body=body), SETTINGS)


@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | st.text(max_size=20),
        st.text(max_size=40),
        max_size=4,
    )
)
def test_verify_answers_random_handshakes_or_rejects_them(query: dict[str, str]) -> None:
    try:
        response = WhatsAppChannel.verify(WebhookRequest(method="GET", query=query), SETTINGS)
    except WebhookRejected:
        return
    assert query["hub.verify_token"] == VERIFY_TOKEN
    assert response.body == query["hub.challenge"].encode()
    assert not response.enqueue
