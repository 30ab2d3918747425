"""Where secrets go changes only with the secrets: a manager cannot redirect the email passwords.

A manager may edit a hotel's channel settings but never reads its secrets.
Pointing the IMAP or SMTP server (or the CA it trusts) elsewhere without the
passwords would have the bot hand the stored passwords to that server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.records import Role

from tests.suite.conftest import TEST_SECRET_KEY, RunningSuite, add_member

pytestmark = pytest.mark.anyio

EMAIL = "/api/v1/hotels/plaza/channels/email"
IMAP_PASSWORD = "imap-pass-plaza-4411-do-not-leak"
SMTP_PASSWORD = "smtp-pass-plaza-9922-do-not-leak"
PRIVATE_CA = "-----BEGIN CERTIFICATE-----\nMIIBmanagers-own-ca\n-----END CERTIFICATE-----\n"

PLAIN = {
    "address": "reservations@plaza.test",
    "display_name": "Hotel Plaza",
    "imap_host": "imap.plaza.test",
    "imap_user": "reservations@plaza.test",
    "smtp_host": "smtp.plaza.test",
    "smtp_user": "reservations@plaza.test",
}
PASSWORDS = {"imap_password": IMAP_PASSWORD, "smtp_password": SMTP_PASSWORD}


@pytest.fixture
async def manager(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    await add_member(suite.store, "plaza", "mia@plaza.test", Role.MANAGER)
    async with suite.client() as client:
        await suite.login(client, "mia@plaza.test")
        yield client


@pytest.fixture
async def configured(manager: httpx.AsyncClient) -> dict[str, Any]:
    """The hotel's email settings as first saved (by whoever knew the passwords)."""
    saved = await manager.put(EMAIL, json={**PLAIN, **PASSWORDS})
    assert saved.status_code == 200, saved.text
    settings: dict[str, Any] = saved.json()["settings"]
    return settings


async def bot_view(suite: RunningSuite) -> dict[str, Any]:
    """The settings the hotel's bot would connect with, passwords in clear."""
    config = await suite.store.get_channel_config("plaza", "email")
    assert config is not None
    box = SecretBox(TEST_SECRET_KEY)
    return {**config.settings, **{name: box.decrypt(v) for name, v in config.secrets.items()}}


@pytest.mark.parametrize(
    "moved",
    [
        pytest.param({"imap_host": "imap.attacker.example"}, id="imap_host"),
        pytest.param({"imap_port": 143, "imap_security": "starttls"}, id="imap_port"),
        pytest.param({"imap_security": "starttls"}, id="imap_security"),
        pytest.param({"smtp_host": "smtp.attacker.example"}, id="smtp_host"),
        pytest.param({"smtp_port": 2525}, id="smtp_port"),
        pytest.param({"smtp_security": "starttls"}, id="smtp_security"),
        pytest.param({"tls_ca_pem": PRIVATE_CA}, id="tls_ca_pem"),
    ],
)
async def test_moving_where_the_passwords_go_without_them_is_refused(
    suite: RunningSuite,
    manager: httpx.AsyncClient,
    configured: dict[str, Any],
    moved: dict[str, Any],
) -> None:
    before = await bot_view(suite)
    answer = await manager.put(EMAIL, json={**PLAIN, **moved})
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert {error["type"] for error in errors} == {"secret_required"}
    assert sorted(error["loc"] for error in errors) == [["imap_password"], ["smtp_password"]]
    assert await bot_view(suite) == before, "a refused change was stored"


async def test_one_password_sent_again_is_not_enough(
    suite: RunningSuite, manager: httpx.AsyncClient, configured: dict[str, Any]
) -> None:
    before = await bot_view(suite)
    body = {**PLAIN, "smtp_host": "smtp.attacker.example", "smtp_password": "guessed"}
    answer = await manager.put(EMAIL, json=body)
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["errors"]] == [["imap_password"]]
    assert await bot_view(suite) == before


async def test_with_both_passwords_sent_again_the_servers_may_move(
    suite: RunningSuite, manager: httpx.AsyncClient, configured: dict[str, Any]
) -> None:
    moved = {"imap_host": "imap.new-provider.test", "smtp_port": 587, "smtp_security": "starttls"}
    mine = {"imap_password": "the-new-imap-password", "smtp_password": "the-new-smtp-password"}
    answer = await manager.put(EMAIL, json={**PLAIN, **moved, "tls_ca_pem": PRIVATE_CA, **mine})
    assert answer.status_code == 200, answer.text
    stored = await bot_view(suite)
    assert stored | {**moved, "tls_ca_pem": PRIVATE_CA, **mine} == stored


async def test_other_settings_change_without_the_passwords(
    suite: RunningSuite, manager: httpx.AsyncClient, configured: dict[str, Any]
) -> None:
    calmer = {"poll_interval_seconds": 300.0, "display_name": "Plaza Reservations"}
    answer = await manager.put(EMAIL, json={**PLAIN, **calmer})
    assert answer.status_code == 200, answer.text
    stored = await bot_view(suite)
    assert stored["poll_interval_seconds"] == 300.0
    assert (stored["imap_password"], stored["smtp_password"]) == (IMAP_PASSWORD, SMTP_PASSWORD)
