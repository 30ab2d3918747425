"""``/webhooks/{hotel}/{channel}`` over real HTTP: what is answered, and what reaches the stream."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from begasist_channel_demo.channel import DemoChannel
from begasist_channel_demo.settings import DemoSettings
from begasist_channel_demo.webhook import sign_body
from begasist_core import WebhookRequest, WebhookResponse, decode_event
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Hotel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite

pytestmark = pytest.mark.anyio

SECRET = "demo-webhook-secret"
BODY = b'{"messages":[{"id":"m1","from":"+34600000001","text":"Hola \xc3\xa1"}]}'


async def _seed(suite: RunningSuite, hotel: str, *, enabled: bool = True) -> None:
    await suite.store.create_hotel(Hotel(slug=hotel, name=hotel.title()))
    config = apply_settings_update(
        DemoSettings,
        hotel,
        "demo",
        {"webhook_secret": SECRET, "enabled": enabled},
        None,
        SecretBox(TEST_SECRET_KEY),
    )
    await suite.store.put_channel_config(config)


async def _entries(suite: RunningSuite, hotel: str) -> list[dict[bytes, bytes]]:
    entries = await suite.redis.xrange(suite.names.ingress(hotel)) or []
    return [cast(dict[bytes, bytes], fields) for _, fields in entries]


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-demo-signature": sign_body(secret, body), "content-type": "application/json"}


async def test_a_signed_delivery_is_enqueued_once_with_its_exact_bytes(
    suite: RunningSuite,
) -> None:
    await _seed(suite, "plaza")
    async with suite.client() as client:
        response = await client.post("/webhooks/plaza/demo", content=BODY, headers=_signed(BODY))
    assert response.status_code == 200
    entries = await _entries(suite, "plaza")
    assert len(entries) == 1
    event = decode_event(entries[0][b"e"])
    assert event.type == "webhook.received"
    assert event.hotel == "plaza"
    assert event.data.body == BODY
    assert event.data.channel == "demo"


@pytest.mark.parametrize(
    "headers",
    [{}, _signed(BODY, "another secret"), {"x-demo-signature": "sha256=00"}],
    ids=["missing", "other-secret", "garbage"],
)
async def test_a_bad_signature_is_401_and_enqueues_nothing(
    suite: RunningSuite, headers: dict[str, str]
) -> None:
    await _seed(suite, "plaza")
    async with suite.client() as client:
        response = await client.post("/webhooks/plaza/demo", content=BODY, headers=headers)
    assert response.status_code == 401
    assert await _entries(suite, "plaza") == []


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/nowhere/demo",  # no such hotel
        "/webhooks/closed/demo",  # demo configured but disabled
        "/webhooks/plaza/telegraph",  # no such channel installed
        "/webhooks/plaza/email",  # installed or not, not configured for the hotel
        "/webhooks/NOT%20A%20SLUG/demo",
    ],
)
async def test_no_enabled_channel_is_404_and_enqueues_nothing(
    suite: RunningSuite, path: str
) -> None:
    await _seed(suite, "plaza")
    await _seed(suite, "closed", enabled=False)
    async with suite.client() as client:
        response = await client.post(path, content=BODY, headers=_signed(BODY))
    assert response.status_code == 404
    for hotel in ("plaza", "closed"):
        assert await _entries(suite, hotel) == []


async def test_an_oversized_body_is_413_and_enqueues_nothing(suite: RunningSuite) -> None:
    await _seed(suite, "plaza")
    body = b"x" * (suite.settings.webhook_max_body_bytes + 1)
    async with suite.client() as client:
        response = await client.post("/webhooks/plaza/demo", content=body, headers=_signed(body))
    assert response.status_code == 413
    assert await _entries(suite, "plaza") == []


async def test_a_failed_stream_write_is_503_and_claims_nothing(suite: RunningSuite) -> None:
    await _seed(suite, "plaza")
    stream = suite.names.ingress("plaza")
    await suite.redis.set(stream, "not a stream")  # XADD answers WRONGTYPE
    async with suite.client() as client:
        failed = await client.post("/webhooks/plaza/demo", content=BODY, headers=_signed(BODY))
        await suite.redis.delete(stream)
        retried = await client.post("/webhooks/plaza/demo", content=BODY, headers=_signed(BODY))
    assert (failed.status_code, retried.status_code) == (503, 200)
    assert len(await _entries(suite, "plaza")) == 1


async def test_get_is_verified_like_post(suite: RunningSuite) -> None:
    await _seed(suite, "plaza")
    async with suite.client() as client:
        refused = await client.get("/webhooks/plaza/demo")
        accepted = await client.get("/webhooks/plaza/demo", headers=_signed(b""))
    assert (refused.status_code, accepted.status_code) == (401, 200)
    [entry] = await _entries(suite, "plaza")
    assert decode_event(entry[b"e"]).data.method == "GET"  # type: ignore[union-attr]


async def test_a_handshake_answers_the_challenge_and_enqueues_nothing(
    suite: RunningSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handshake(cls: type, request: WebhookRequest, _settings: Any) -> WebhookResponse:
        challenge = request.query.get("challenge", "").encode()
        return WebhookResponse(body=challenge, enqueue=False)

    monkeypatch.setattr(DemoChannel, "verify", classmethod(handshake))
    await _seed(suite, "plaza")
    async with suite.client() as client:
        response = await client.get("/webhooks/plaza/demo", params={"challenge": "c-42"})
    assert (response.status_code, response.content) == (200, b"c-42")
    assert await _entries(suite, "plaza") == []


_header_names = st.sampled_from(
    ["x-demo-signature", "content-type", "content-encoding", "x-other", "cookie", "authorization"]
)
_header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(
    str.strip
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.binary(max_size=2048),
    headers=st.dictionaries(_header_names, _header_values, max_size=4),
    sign=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
)
async def test_fuzzed_requests_never_5xx_and_enqueue_only_when_signed(
    suite: RunningSuite, body: bytes, headers: dict[str, str], sign: bool, method: str
) -> None:
    if await suite.store.get_hotel("plaza") is None:
        await _seed(suite, "plaza")
    if sign:
        headers = {**headers, "x-demo-signature": sign_body(SECRET, body)}
    valid = headers.get("x-demo-signature", "").strip() == sign_body(SECRET, body)
    before = len(await _entries(suite, "plaza"))
    async with suite.client() as client:
        try:
            response = await client.request(
                method, "/webhooks/plaza/demo", content=body, headers=headers
            )
        except httpx.RemoteProtocolError:
            pytest.fail("the server dropped the connection")
    assert response.status_code < 500
    added = len(await _entries(suite, "plaza")) - before
    assert (response.status_code, added) == ((200, 1) if valid else (401, 0))


async def test_repeated_headers_reach_the_stream_joined_in_order(suite: RunningSuite) -> None:
    await _seed(suite, "plaza")
    headers = [*_signed(BODY).items(), *[("x-trace", f"hop-{n}") for n in range(50)]]
    async with suite.client() as client:
        response = await client.post("/webhooks/plaza/demo", content=BODY, headers=headers)
    assert response.status_code == 200
    [entry] = await _entries(suite, "plaza")
    event = decode_event(entry[b"e"])
    assert event.data.headers["x-trace"] == ", ".join(f"hop-{n}" for n in range(50))  # type: ignore[union-attr]


async def test_the_header_block_counts_towards_the_size_limit(suite: RunningSuite) -> None:
    """A body just under the limit is refused when the headers push the request over it."""
    await _seed(suite, "plaza")
    body = b"x" * (suite.settings.webhook_max_body_bytes - 64)
    headers = {**_signed(body), "x-padding": "p" * 128}
    async with suite.client() as client:
        response = await client.post("/webhooks/plaza/demo", content=body, headers=headers)
    assert response.status_code == 413
    assert await _entries(suite, "plaza") == []
