"""Channel types and a hotel's channel settings: validated by the plugin, secrets write-only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from begasist_core import ChannelSettings, decode_event
from begasist_suite.channel_settings import (
    InvalidSettings,
    apply_app_settings_update,
    apply_settings_update,
)
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Role
from pydantic import BaseModel, HttpUrl, SecretStr

from tests.suite.api.seed import DEMO, bearer
from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite, add_member, outbox_drained

pytestmark = pytest.mark.anyio

SETTINGS = "/api/v1/hotels/plaza/channels/demo"
SECRET = "whsec-plaza-0123456789-do-not-leak"
OTHER_SECRET = "whsec-plaza-rotated-9876543210-do-not-leak"


@pytest.fixture
async def manager(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    await add_member(suite.store, "plaza", "mia@plaza.test", Role.MANAGER)
    async with suite.client() as client:
        await suite.login(client, "mia@plaza.test")
        yield client


async def bot_client(suite: RunningSuite, hotel: str) -> httpx.AsyncClient:
    """A client holding *hotel*'s bot token, made through the API by an owner."""
    await add_member(suite.store, hotel, f"owner@{hotel}.test", Role.OWNER)
    async with suite.client() as owner:
        await suite.login(owner, f"owner@{hotel}.test")
        created = await owner.post(f"/api/v1/hotels/{hotel}/bot-tokens", json={"name": "bot"})
    assert created.status_code == 201
    return suite.client(headers=bearer(created.json()["token"]))


async def config_changes(suite: RunningSuite, hotel: str) -> list[int]:
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.control(hotel))
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    return [e.data.version for e in events if e.type == "config.changed"]  # type: ignore[union-attr]


async def config_version(client: httpx.AsyncClient) -> int:
    version: int = (await client.get("/api/v1/hotels/plaza")).json()["config_version"]
    return version


async def test_channel_types_list_the_demo_channel(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    answer = (await manager.get("/api/v1/channel-types")).json()
    (demo,) = [c for c in answer["channels"] if c["name"] == DEMO]
    secret = demo["settings_schema"]["properties"]["webhook_secret"]
    assert secret["writeOnly"] is True
    assert "webhook_secret" in demo["settings_schema"]["required"]
    assert demo["capabilities"]["max_text_length"] == 160
    assert demo["capabilities"]["webhook_ingress"] is True
    assert any(DEMO in p["channels"] and p["status"] == "ok" for p in answer["plugins"])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"webhook_secret": SECRET, "simulated_guest_interval_seconds": "BAD-VALUE-4242"},
            ["simulated_guest_interval_seconds"],
        ),
        ({"webhook_secret": SECRET, "webhok_secret": "BAD-VALUE-4242"}, ["webhok_secret"]),
        ({"simulated_guest_interval_seconds": 0}, ["webhook_secret"]),
        ({"webhook_secret": 4242}, ["webhook_secret"]),
        (
            {"webhook_secret": SECRET, "guests": [{"address": "BAD-VALUE-4242"}]},
            ["guests", 0, "name"],
        ),
    ],
)
async def test_invalid_settings_answer_422_with_field_errors_and_no_values(
    suite: RunningSuite, manager: httpx.AsyncClient, body: dict[str, Any], loc: list[Any]
) -> None:
    answer = await manager.put(SETTINGS, json=body)
    assert answer.status_code == 422
    assert loc in [error["loc"] for error in answer.json()["errors"]]
    assert "BAD-VALUE-4242" not in answer.text
    assert "4242" not in answer.text
    assert SECRET not in answer.text
    assert (await manager.get(SETTINGS)).status_code == 404  # nothing was stored
    assert await config_changes(suite, "plaza") == []


async def test_secrets_are_write_only_and_never_leave_in_clear(
    suite: RunningSuite, manager: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        await manager.put(SETTINGS, json={"webhook_secret": SECRET, "mode": "automatic"}),
        await manager.get(SETTINGS),
        await manager.get("/api/v1/hotels/plaza/channels"),
        await manager.put(SETTINGS, json={"mode": "manual"}),
        await manager.put(SETTINGS, json={"webhook_secret": SECRET, "mode": 7}),
        await manager.get("/api/v1/hotels/plaza/status"),
        await manager.get("/api/v1/hotels/plaza"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 422, 200, 200]
    view = answers[1].json()
    assert view["secrets"] == {"webhook_secret": True}
    assert "webhook_secret" not in view["settings"]
    assert view["settings"]["mode"] == "automatic"
    for answer in answers:
        assert SECRET not in answer.text
    assert SECRET not in caplog.text
    assert all(SECRET not in str(record.args) for record in caplog.records)
    database = Path(suite.store.database.path)  # type: ignore[attr-defined]
    at_rest = b"".join(
        path.read_bytes() for path in database.parent.glob(database.name + "*") if path.is_file()
    )
    assert b"automatic" in at_rest or b"manual" in at_rest  # the file is the one written to
    assert SECRET.encode() not in at_rest


async def test_an_omitted_secret_is_kept_and_a_new_one_replaces_it(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    assert (await manager.put(SETTINGS, json={"webhook_secret": SECRET})).status_code == 200
    kept = await manager.put(SETTINGS, json={"mode": "automatic"})
    assert kept.json()["secrets"] == {"webhook_secret": True}
    async with await bot_client(suite, "plaza") as bot:
        assert (await bot.get("/api/v1/hotels/plaza/bot/settings")).json()["channels"][DEMO][
            "webhook_secret"
        ] == SECRET
        await manager.put(SETTINGS, json={"webhook_secret": OTHER_SECRET})
        seen = (await bot.get("/api/v1/hotels/plaza/bot/settings")).json()["channels"][DEMO]
    assert seen["webhook_secret"] == OTHER_SECRET
    assert seen["mode"] == "supervised"  # a PUT replaces every non-secret field


async def test_null_clears_a_secret(suite: RunningSuite, manager: httpx.AsyncClient) -> None:
    await manager.put(SETTINGS, json={"webhook_secret": SECRET})
    # The demo's secret is required: clearing it is a field error, and the old one stays.
    cleared = await manager.put(SETTINGS, json={"webhook_secret": None})
    assert cleared.status_code == 422
    assert cleared.json()["errors"][0]["loc"] == ["webhook_secret"]
    assert (await manager.get(SETTINGS)).json()["secrets"] == {"webhook_secret": True}


def test_null_clears_an_optional_secret() -> None:
    class WithOptionalSecret(ChannelSettings):
        api_key: SecretStr | None = None

    box = SecretBox(TEST_SECRET_KEY)
    stored = apply_settings_update(WithOptionalSecret, "plaza", "x", {"api_key": "k"}, None, box)
    kept = apply_settings_update(WithOptionalSecret, "plaza", "x", {}, stored, box)
    cleared = apply_settings_update(WithOptionalSecret, "plaza", "x", {"api_key": None}, kept, box)
    assert box.decrypt(kept.secrets["api_key"]) == "k"
    assert cleared.secrets == {}


def test_moving_where_secrets_go_needs_them_sent_again() -> None:
    class Provider(ChannelSettings):
        secret_destinations: ClassVar[frozenset[str]] = frozenset({"api_url"})
        api_url: str = "https://api.example.com"
        api_key: SecretStr | None = None
        note: str = ""

    box = SecretBox(TEST_SECRET_KEY)
    stored = apply_settings_update(Provider, "plaza", "x", {"api_key": "k"}, None, box)
    # Other fields change freely, the secret kept.
    noted = apply_settings_update(Provider, "plaza", "x", {"note": "hi"}, stored, box)
    assert box.decrypt(noted.secrets["api_key"]) == "k"
    # Someone who may edit settings but not read secrets cannot point the key elsewhere.
    evil = {"api_url": "https://attacker.example"}
    with pytest.raises(InvalidSettings) as refused:
        apply_settings_update(Provider, "plaza", "x", evil, noted, box)
    assert refused.value.errors[0]["loc"] == ["api_key"]
    assert refused.value.errors[0]["type"] == "secret_required"
    # With the secret sent again (it is then the sender's own), or cleared, it may move.
    moved = apply_settings_update(Provider, "plaza", "x", {**evil, "api_key": "mine"}, noted, box)
    assert box.decrypt(moved.secrets["api_key"]) == "mine"
    cleared = apply_settings_update(Provider, "plaza", "x", {**evil, "api_key": None}, noted, box)
    assert cleared.secrets == {}


def test_a_destination_the_plugin_forgot_to_declare_is_protected_all_the_same() -> None:
    class Forgetful(ChannelSettings):
        api_url: HttpUrl = HttpUrl("https://api.example.com")
        relay_host: str = "relay.example.com"
        api_key: SecretStr | None = None

    box = SecretBox(TEST_SECRET_KEY)
    stored = apply_settings_update(Forgetful, "plaza", "x", {"api_key": "k"}, None, box)
    for evil in ({"api_url": "https://attacker.example"}, {"relay_host": "attacker.example"}):
        with pytest.raises(InvalidSettings) as refused:
            apply_settings_update(Forgetful, "plaza", "x", evil, stored, box)
        assert refused.value.errors[0]["type"] == "secret_required"


def test_a_field_exempted_with_a_reason_changes_without_the_secrets() -> None:
    class Exempting(ChannelSettings):
        not_secret_destinations: ClassVar[Mapping[str, str]] = {
            "booking_page_url": "a link shown to guests; no secret is sent there"
        }
        booking_page_url: HttpUrl = HttpUrl("https://plaza.example/book")
        api_key: SecretStr | None = None

    box = SecretBox(TEST_SECRET_KEY)
    stored = apply_settings_update(Exempting, "plaza", "x", {"api_key": "k"}, None, box)
    body = {"booking_page_url": "https://plaza.example/rooms"}
    changed = apply_settings_update(Exempting, "plaza", "x", body, stored, box)
    assert changed.settings["booking_page_url"] == "https://plaza.example/rooms"
    assert box.decrypt(changed.secrets["api_key"]) == "k"


def test_moving_where_app_secrets_go_needs_them_sent_again() -> None:
    class ProviderApp(BaseModel):
        token_exchange_url: HttpUrl = HttpUrl("https://auth.example.com/token")
        app_secret: SecretStr

    box = SecretBox(TEST_SECRET_KEY)
    stored = apply_app_settings_update(ProviderApp, "x", {"app_secret": "s"}, None, box)
    evil = {"token_exchange_url": "https://attacker.example/token"}
    with pytest.raises(InvalidSettings) as refused:
        apply_app_settings_update(ProviderApp, "x", evil, stored, box)
    assert refused.value.errors[0]["loc"] == ["app_secret"]
    assert refused.value.errors[0]["type"] == "secret_required"
    moved = apply_app_settings_update(ProviderApp, "x", {**evil, "app_secret": "mine"}, stored, box)
    assert box.decrypt(moved.secrets["app_secret"]) == "mine"


async def test_every_change_bumps_the_version_and_tells_the_bot(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    start = await config_version(manager)
    await manager.put(SETTINGS, json={"webhook_secret": SECRET})
    await manager.put(SETTINGS, json={"mode": "manual"})
    await manager.put(SETTINGS, json={"mode": "nonsense"})  # 422: no change
    assert (await manager.delete(SETTINGS)).status_code == 204
    assert (await manager.delete(SETTINGS)).status_code == 404
    assert await config_version(manager) == start + 3
    assert await config_changes(suite, "plaza") == [start + 1, start + 2, start + 3]


async def test_the_bot_reads_secrets_in_clear_with_the_version(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    await manager.put(SETTINGS, json={"webhook_secret": SECRET, "mode": "automatic"})
    async with await bot_client(suite, "plaza") as bot:
        settings = (await bot.get("/api/v1/hotels/plaza/bot/settings")).json()
        version = (await bot.get("/api/v1/hotels/plaza/bot/settings/version")).json()
    assert settings["hotel"] == "plaza"
    assert settings["channels"][DEMO]["webhook_secret"] == SECRET
    assert settings["channels"][DEMO]["mode"] == "automatic"
    assert settings["version"] == version["version"] == await config_version(manager)


async def test_a_bot_of_a_hotel_with_the_longest_slug_reads_its_settings(
    suite: RunningSuite,
) -> None:
    slug = "a" * 40
    async with await bot_client(suite, slug) as bot:
        answer = await bot.get(f"/api/v1/hotels/{slug}/bot/settings/version")
    assert answer.status_code == 200, answer.text


async def test_an_agent_cannot_read_or_change_channel_settings(suite: RunningSuite) -> None:
    await add_member(suite.store, "plaza", "al@plaza.test", Role.AGENT)
    async with suite.client() as agent:
        await suite.login(agent, "al@plaza.test")
        assert (await agent.put(SETTINGS, json={"webhook_secret": SECRET})).status_code == 403
        assert (await agent.get("/api/v1/hotels/plaza/channels")).status_code == 403
        assert (await agent.delete(SETTINGS)).status_code == 403
    assert await suite.store.get_channel_config("plaza", DEMO) is None


async def test_a_command_goes_to_the_hotels_bot(
    suite: RunningSuite, manager: httpx.AsyncClient
) -> None:
    assert (
        await manager.post(f"{SETTINGS}/commands", json={"command": "restart"})
    ).status_code == 404
    await manager.put(SETTINGS, json={"webhook_secret": SECRET})
    sent = await manager.post(f"{SETTINGS}/commands", json={"command": "restart"})
    assert sent.status_code == 202
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.control("plaza"))
    (command,) = [
        e for e in (decode_event(f[b"e"]) for _, f in entries) if e.type == "channel.command"
    ]
    assert command.id == sent.json()["event_id"]
