"""``/webhooks/_app/{channel}`` over real HTTP: one Meta app's URL routed to each number's hotel."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from begasist_channels_whatsapp import WhatsAppChannel, sign_body
from begasist_core import decode_event
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Role

from tests.channels.whatsapp.samples import MESSAGES, STATUSES
from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite, add_member

pytestmark = pytest.mark.anyio

URL = "/webhooks/_app/whatsapp"
APPS = "/api/v1/channel-apps"
APP_SECRET = "the-operators-app-secret"
VERIFY_TOKEN = "the-operators-verify-token"
NUMBERS = {"plaza": "1111111111111", "sol": "2222222222222"}
UNKNOWN = "9999999999999"
ADMIN = "root@platform.test"


async def seed_hotel_number(suite: RunningSuite, hotel: str, *, enabled: bool = True) -> None:
    config = apply_settings_update(
        WhatsAppChannel.Settings,
        hotel,
        "whatsapp",
        {
            "enabled": enabled,
            "phone_number_id": NUMBERS[hotel],
            "waba_id": "1234567890987654321",
            "access_token": f"{hotel}-access-token",
            "app_secret": f"{hotel}-own-app-secret",
            "verify_token": f"{hotel}-own-verify-token",
        },
        None,
        SecretBox(TEST_SECRET_KEY),
        route_key=WhatsAppChannel.route_key,
    )
    await suite.store.put_channel_config(config)


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    """A platform admin's logged-in client (and a second hotel, sol)."""
    await add_member(suite.store, "plaza", ADMIN, None, platform_admin=True)
    await add_member(suite.store, "sol", "owner@sol.test", Role.OWNER)
    async with suite.client() as client:
        await suite.login(client, ADMIN)
        yield client


@pytest.fixture
async def shared_app(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    """Two hotels' numbers, and the operator's app settings saved through the API."""
    for hotel in NUMBERS:
        await seed_hotel_number(suite, hotel)
    answer = await admin.put(
        f"{APPS}/whatsapp", json={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    )
    assert answer.status_code == 200, answer.text


def change_for(number: str, sample: dict[str, Any]) -> dict[str, Any]:
    change = copy.deepcopy(sample["entry"][0]["changes"][0])
    change["value"]["metadata"]["phone_number_id"] = number
    return dict(change)


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"x-hub-signature-256": sign_body(secret, body), "content-type": "application/json"}


async def bodies(suite: RunningSuite, hotel: str) -> list[dict[str, Any]]:
    entries = await suite.redis.xrange(suite.names.ingress(hotel)) or []
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    assert all(e.type == "webhook.received" and e.data.channel == "whatsapp" for e in events)
    return [json.loads(e.data.body) for e in events]


DELIVERY = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "1234567890987654321",
            "changes": [
                change_for(NUMBERS["plaza"], MESSAGES["text"]),
                change_for(UNKNOWN, MESSAGES["text"]),
                change_for(NUMBERS["sol"], STATUSES["read"]),
            ],
        }
    ],
}
BODY = json.dumps(DELIVERY, separators=(",", ":")).encode()


def only(number: str, sample: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": "1234567890987654321", "changes": [change_for(number, sample)]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


@pytest.mark.usefixtures("shared_app")
async def test_each_hotel_gets_its_numbers_part_and_an_unknown_number_is_dropped(
    suite: RunningSuite, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="begasist_suite.ingress.shared"):
        async with suite.client() as client:
            answer = await client.post(URL, content=BODY, headers=signed(BODY))
    assert answer.status_code == 200
    assert await bodies(suite, "plaza") == [only(NUMBERS["plaza"], MESSAGES["text"])]
    assert await bodies(suite, "sol") == [only(NUMBERS["sol"], STATUSES["read"])]
    dropped = [r.getMessage() for r in caplog.records if UNKNOWN in r.getMessage()]
    assert dropped == [
        f"shared webhook whatsapp: no hotel's enabled settings answer to '{UNKNOWN}'; "
        "its part is dropped"
    ]
    assert APP_SECRET not in caplog.text


@pytest.mark.usefixtures("shared_app")
@pytest.mark.parametrize(
    "headers",
    [{}, signed(BODY, "plaza-own-app-secret"), {"x-hub-signature-256": "sha256=00"}],
    ids=["missing", "a-hotels-secret", "garbage"],
)
async def test_a_bad_signature_is_401_and_enqueues_nothing(
    suite: RunningSuite, headers: dict[str, str]
) -> None:
    async with suite.client() as client:
        answer = await client.post(URL, content=BODY, headers=headers)
    assert answer.status_code == 401
    for hotel in NUMBERS:
        assert await bodies(suite, hotel) == []


@pytest.mark.usefixtures("shared_app")
async def test_the_handshake_answers_the_challenge_with_the_apps_verify_token(
    suite: RunningSuite,
) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    async with suite.client() as client:
        right = await client.get(URL, params={**query, "hub.verify_token": VERIFY_TOKEN})
        wrong = await client.get(
            URL, params={**query, "hub.verify_token": "plaza-own-verify-token"}
        )
    assert (right.status_code, right.text) == (200, "1158201444")
    assert wrong.status_code == 401
    for hotel in NUMBERS:
        assert await bodies(suite, hotel) == []


@pytest.mark.usefixtures("shared_app")
async def test_a_disabled_hotels_number_is_dropped(suite: RunningSuite) -> None:
    await seed_hotel_number(suite, "sol", enabled=False)
    body = json.dumps(only(NUMBERS["sol"], MESSAGES["text"])).encode()
    async with suite.client() as client:
        answer = await client.post(URL, content=body, headers=signed(body))
    assert answer.status_code == 200
    assert await bodies(suite, "sol") == []


@pytest.mark.usefixtures("shared_app")
async def test_the_per_hotel_url_and_limits_still_apply(suite: RunningSuite) -> None:
    big = b"x" * (suite.settings.webhook_max_body_bytes + 1)
    async with suite.client() as client:
        too_large = await client.post(URL, content=big, headers=signed(big))
        put = await client.put(URL, content=BODY, headers=signed(BODY))
        email = await client.post("/webhooks/_app/email", content=BODY, headers=signed(BODY))
        nonsense = await client.post("/webhooks/_app/NO", content=BODY, headers=signed(BODY))
    assert (too_large.status_code, put.status_code) == (413, 405)
    assert (email.status_code, nonsense.status_code) == (404, 404)
    for hotel in NUMBERS:
        assert await bodies(suite, hotel) == []


async def test_without_app_settings_the_shared_url_is_404(suite: RunningSuite) -> None:
    await seed_hotel_number(suite, "plaza")
    async with suite.client() as client:
        answer = await client.post(URL, content=BODY, headers=signed(BODY))
    assert answer.status_code == 404
    assert await bodies(suite, "plaza") == []


# -- the app settings API ---------------------------------------------------------


async def test_app_settings_are_write_only_and_validated(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    assert (await admin.get(f"{APPS}/whatsapp")).status_code == 404
    saved = await admin.put(
        f"{APPS}/whatsapp", json={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    )
    kept = await admin.put(f"{APPS}/whatsapp", json={})
    read = await admin.get(f"{APPS}/whatsapp")
    invalid = await admin.put(f"{APPS}/whatsapp", json={"app_secret": 3, "extra": "x"})
    cleared = await admin.put(f"{APPS}/whatsapp", json={"verify_token": None})
    no_app = await admin.put(f"{APPS}/demo", json={})
    unknown = await admin.get(f"{APPS}/telegraph")
    for answer in (saved, kept, read):
        assert answer.status_code == 200, answer.text
        assert answer.json()["secrets"] == {"app_secret": True, "verify_token": True}
        assert APP_SECRET not in answer.text
        assert VERIFY_TOKEN not in answer.text
    assert invalid.status_code == 422
    assert cleared.status_code == 422  # verify_token is required
    assert (no_app.status_code, unknown.status_code) == (404, 404)
    stored = await suite.store.get_channel_app("whatsapp")
    assert stored is not None
    assert APP_SECRET not in stored.model_dump_json()


@pytest.mark.parametrize("role", list(Role))
async def test_only_a_platform_admin_reaches_the_app_settings(
    suite: RunningSuite, admin: httpx.AsyncClient, role: Role
) -> None:
    await add_member(suite.store, "plaza", f"{role.value}@plaza.test", role)
    async with suite.client() as client:
        assert (await client.get(f"{APPS}/whatsapp")).status_code == 401
        await suite.login(client, f"{role.value}@plaza.test")
        read = await client.get(f"{APPS}/whatsapp")
        write = await client.put(f"{APPS}/whatsapp", json={"app_secret": "x", "verify_token": "y"})
    assert (read.status_code, write.status_code) == (403, 403)
    assert await suite.store.get_channel_app("whatsapp") is None


async def test_a_number_belongs_to_one_hotel(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    await seed_hotel_number(suite, "plaza")
    body = {
        "phone_number_id": NUMBERS["plaza"],
        "waba_id": "1234567890987654321",
        "access_token": "sol-access-token",
        "app_secret": "sol-own-app-secret",
        "verify_token": "sol-own-verify-token",
    }
    taken = await admin.put("/api/v1/hotels/sol/channels/whatsapp", json=body)
    own = await admin.put(
        "/api/v1/hotels/sol/channels/whatsapp",
        json={**body, "phone_number_id": NUMBERS["sol"]},
    )
    assert taken.status_code == 409
    assert "another hotel's whatsapp settings already use" in taken.json()["detail"]
    assert "plaza" not in taken.text
    assert own.status_code == 200
    assert await suite.store.route_owner("whatsapp", NUMBERS["sol"]) == "sol"


@pytest.mark.usefixtures("shared_app")
async def test_too_many_signature_headers_answer_431_and_enqueue_nothing(
    suite: RunningSuite,
) -> None:
    body = json.dumps(only(NUMBERS["plaza"], MESSAGES["text"])).encode()
    signature = signed(body)["x-hub-signature-256"]
    headers = [("content-type", "application/json")] + [("x-hub-signature-256", signature)] * 1000
    async with suite.client() as client:
        response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 431
    assert await bodies(suite, "plaza") == []
