"""``PATCH`` of a hotel's channel: only what is sent changes, as the staff app's forms do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Role

from tests.suite.api.test_channels_api import config_changes, config_version
from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite, add_member

pytestmark = pytest.mark.anyio

DEMO = "/api/v1/hotels/plaza/channels/demo"
WHATSAPP = "/api/v1/hotels/plaza/channels/whatsapp"
SECRET = "whsec-plaza-patch-0123456789-do-not-leak"
TOKEN = "EAAG-plaza-patch-access-token-do-not-leak"
APP_SECRET = "app-secret-plaza-patch-do-not-leak"
CLOUD = {"phone_number_id": "1234567", "waba_id": "7654321"}


@pytest.fixture
async def manager(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    await add_member(suite.store, "plaza", "mia@plaza.test", Role.MANAGER)
    async with suite.client() as client:
        await suite.login(client, "mia@plaza.test")
        yield client


async def stored(suite: RunningSuite, channel: str) -> dict[str, Any]:
    """What the hotel's bot would run the channel with, secrets in clear."""
    config = await suite.store.get_channel_config("plaza", channel)
    assert config is not None
    box = SecretBox(TEST_SECRET_KEY)
    return {**config.settings, **{name: box.decrypt(v) for name, v in config.secrets.items()}}


async def test_a_patch_changes_only_the_fields_sent(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    first = {"webhook_secret": SECRET, "mode": "automatic", "simulated_guest_interval_seconds": 7}
    assert (await manager.put(DEMO, json=first)).status_code == 200
    answer = await manager.patch(DEMO, json={"enabled": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"]["enabled"] is False
    assert answer.json()["settings"]["mode"] == "automatic"
    assert answer.json()["secrets"] == {"webhook_secret": True}
    assert SECRET not in answer.text
    after = await stored(suite, "demo")
    assert after["enabled"] is False
    assert after["mode"] == "automatic"
    assert after["simulated_guest_interval_seconds"] == 7
    assert after["webhook_secret"] == SECRET
    # The mode likewise, the rest kept.
    await manager.patch(DEMO, json={"mode": "manual"})
    again = await stored(suite, "demo")
    assert (again["enabled"], again["mode"]) == (False, "manual")
    assert again["simulated_guest_interval_seconds"] == 7


async def test_a_patch_of_only_a_secret_keeps_every_other_field(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    """What a PUT of only the secret does not: it resets the mode to its default."""
    await manager.put(DEMO, json={"webhook_secret": SECRET, "mode": "automatic"})
    rotated = "whsec-plaza-rotated-after-patch"
    assert (await manager.patch(DEMO, json={"webhook_secret": rotated})).status_code == 200
    after = await stored(suite, "demo")
    assert after["webhook_secret"] == rotated
    assert after["mode"] == "automatic"


async def test_a_patch_keeps_clears_or_replaces_a_secret(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    secrets = {"access_token": TOKEN, "app_secret": APP_SECRET}
    assert (await manager.put(WHATSAPP, json={**CLOUD, **secrets})).status_code == 200
    kept = await manager.patch(WHATSAPP, json={"ignore_groups": False})
    assert kept.json()["secrets"]["app_secret"] is True
    cleared = await manager.patch(WHATSAPP, json={"app_secret": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["secrets"]["app_secret"] is False
    replaced = await manager.patch(WHATSAPP, json={"access_token": "EAAG-rotated"})
    assert replaced.json()["secrets"] == {
        "access_token": True,
        "app_secret": False,
        "verify_token": False,
    }
    after = await stored(suite, "whatsapp")
    assert after["access_token"] == "EAAG-rotated"
    assert "app_secret" not in after
    assert after["ignore_groups"] is False
    assert after["phone_number_id"] == CLOUD["phone_number_id"]


async def test_an_invalid_patch_answers_422_with_field_errors_and_changes_nothing(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    await manager.put(DEMO, json={"webhook_secret": SECRET, "mode": "automatic"})
    version = await config_version(manager)
    for body, loc in (
        ({"mode": "nonsense-4242"}, ["mode"]),
        ({"webhok_secret": "x"}, ["webhok_secret"]),
        ({"webhook_secret": None}, ["webhook_secret"]),
        ({"webhook_secret": 4242}, ["webhook_secret"]),
    ):
        answer = await manager.patch(DEMO, json=body)
        assert answer.status_code == 422, body
        assert loc in [error["loc"] for error in answer.json()["errors"]]
        assert "4242" not in answer.text
    assert await config_version(manager) == version
    assert (await stored(suite, "demo"))["mode"] == "automatic"


async def test_moving_where_secrets_go_by_patch_needs_them_sent_again(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    await manager.put(WHATSAPP, json={**CLOUD, "access_token": TOKEN})
    evil = {"graph_api_url": "https://graph.attacker.example"}
    refused = await manager.patch(WHATSAPP, json=evil)
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert (error["loc"], error["type"]) == (["access_token"], "secret_required")
    assert (await stored(suite, "whatsapp"))["graph_api_url"] == "https://graph.facebook.com/"
    moved = await manager.patch(WHATSAPP, json={**evil, "access_token": "EAAG-their-own"})
    assert moved.status_code == 200, moved.text
    assert (await stored(suite, "whatsapp"))["access_token"] == "EAAG-their-own"


async def test_a_patch_bumps_the_version_and_tells_the_bot(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    start = await config_version(manager)
    await manager.put(DEMO, json={"webhook_secret": SECRET})
    await manager.patch(DEMO, json={"mode": "manual"})
    await manager.patch(DEMO, json={"mode": 7})  # 422: no change
    assert await config_version(manager) == start + 2
    assert await config_changes(suite, "plaza") == [start + 1, start + 2]


async def test_a_patch_retried_with_its_idempotency_key_happens_once(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    await manager.put(DEMO, json={"webhook_secret": SECRET})
    start = await config_version(manager)
    key = {"Idempotency-Key": "patch-demo-0001"}
    first = await manager.patch(DEMO, json={"mode": "manual"}, headers=key)
    second = await manager.patch(DEMO, json={"mode": "manual"}, headers=key)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == first.json()
    assert await config_version(manager) == start + 1
    other = await manager.patch(DEMO, json={"mode": "automatic"}, headers=key)
    assert other.status_code == 422


async def test_a_patch_of_a_channel_not_set_up_yet_is_a_put(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    assert (await manager.patch(DEMO, json={"mode": "manual"})).status_code == 422
    created = await manager.patch(DEMO, json={"webhook_secret": SECRET, "mode": "manual"})
    assert created.status_code == 200
    assert (await stored(suite, "demo"))["mode"] == "manual"
    unknown = await manager.patch("/api/v1/hotels/plaza/channels/nosuch", json={})
    assert unknown.status_code == 404


async def test_only_managers_patch_and_only_in_their_hotel(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", "al@plaza.test", Role.AGENT)
    await add_member(suite.store, "sol", "sam@sol.test", Role.MANAGER)
    async with suite.client() as agent, suite.client() as other:
        await suite.login(agent, "al@plaza.test")
        await suite.login(other, "sam@sol.test")
        body = {"webhook_secret": SECRET}
        assert (await agent.patch(DEMO, json=body)).status_code == 403
        assert (await other.patch(DEMO, json=body)).status_code == 404
    assert await suite.store.get_channel_config("plaza", "demo") is None


async def test_the_settings_list_is_a_page(suite: RunningSuite, manager: httpx.AsyncClient) -> None:
    await manager.put(WHATSAPP, json={**CLOUD, "access_token": TOKEN})
    await manager.put(DEMO, json={"webhook_secret": SECRET})
    page = (await manager.get("/api/v1/hotels/plaza/channels")).json()
    assert page["next_cursor"] is None
    assert [item["channel"] for item in page["items"]] == ["demo", "whatsapp"]
    assert page["items"][0]["secrets"] == {"webhook_secret": True}
