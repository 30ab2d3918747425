"""Channex's webhooks at ``/webhooks/{hotel}/channex``: the secret header decides, nothing else.

Channex signs nothing; the hotel's webhook carries ``X-Begasist-Webhook-Secret``.
The deliveries come from the Channex API stand-in
(``begasist_channels_channex.testing``, a real local HTTP server speaking
Channex's documented wire format; it is not Channex), posted as Channex posts them.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from begasist_channels_channex import SECRET_HEADER, ChannexSettings
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_core import decode_event
from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Hotel

from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite

pytestmark = pytest.mark.anyio

SECRET = "channex-webhook-secret-0123456789"
PROPERTY = "716305c4-561a-4561-a187-7f5b8aeb5920"
BOOKING = "b4671a17-4440-4da4-9c72-f6afa2d61908"


@pytest.fixture(scope="module")
def channex() -> Iterator[ChannexStandin]:
    with ChannexStandin(api_key="k") as standin:
        standin.add_booking(StandinBooking(id=BOOKING, property_id=PROPERTY))
        yield standin


async def _seed(suite: RunningSuite, channex: ChannexStandin) -> None:
    await suite.store.create_hotel(Hotel(slug="plaza", name="Plaza"))
    raw = {
        "api_key": "k",
        "property_id": PROPERTY,
        "environment": "staging",
        "api_base_url": channex.api_url,
        "webhook_secret": SECRET,
    }
    config = apply_settings_update(
        ChannexSettings, "plaza", "channex", raw, None, SecretBox(TEST_SECRET_KEY)
    )
    await suite.store.put_channel_config(config)


async def _deliver(channex: ChannexStandin, suite: RunningSuite, headers: dict[str, str]) -> int:
    body = channex.guest_writes(BOOKING, "Hola, ¿hay parking?")
    url = f"{suite.url}/webhooks/plaza/channex"
    return await anyio.to_thread.run_sync(lambda: channex.post_webhook(url, body, headers=headers))


async def test_a_delivery_with_the_secret_header_is_enqueued(
    suite: RunningSuite, channex: ChannexStandin
) -> None:
    await _seed(suite, channex)
    assert await _deliver(channex, suite, {"X-Begasist-Webhook-Secret": SECRET}) == 200
    [(_, fields)] = await suite.redis.xrange(suite.names.ingress("plaza"))
    event = decode_event(fields[b"e"])
    assert event.type == "webhook.received"
    assert event.data.channel == "channex"


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: SECRET.upper()}],
    ids=["missing", "wrong", "other-case"],
)
async def test_a_delivery_without_the_exact_secret_is_401_and_stores_nothing(
    suite: RunningSuite, channex: ChannexStandin, headers: dict[str, str]
) -> None:
    await _seed(suite, channex)
    assert await _deliver(channex, suite, headers) == 401
    assert await suite.redis.xrange(suite.names.ingress("plaza")) == []
    page = await suite.store.list_conversations("plaza")
    assert page.items == []
