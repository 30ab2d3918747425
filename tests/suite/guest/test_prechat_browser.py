"""The widget's pre-chat form in a real Chromium: name and email, the email checked.

The set-up of ``test_widget_browser.py`` (Debian's Chromium, the suite under
uvicorn, the hotel's site on another origin), with the pre-chat form on. No bot:
what is checked is the form and what the suite records when the socket opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.suite.conftest import RunningSuite, add_member
from tests.suite.guest.conftest import HOTEL
from tests.suite.guest.test_widget_browser import (
    accessible,
    browser,  # noqa: F401 (a fixture)
    chromium,  # noqa: F401 (a fixture)
    hotel_site,  # noqa: F401 (a fixture)
    open_chat,
    open_page,
)
from tests.suite.test_whatsapp_end_to_end import until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

API = f"/api/v1/hotels/{HOTEL}"


@pytest.fixture
async def prechat(
    suite: RunningSuite,
    hotel_site: int,  # noqa: F811 (the fixture imported above)
) -> AsyncIterator[httpx.AsyncClient]:
    """The web chat with the pre-chat form on, the hotel site's origin allowed."""
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        settings = {
            "enabled": True,
            "mode": "manual",
            "allowed_origins": [f"http://127.0.0.1:{hotel_site}"],
            "pre_chat_form": True,
        }
        saved = await client.put(f"{API}/channels/webchat", json=settings)
        assert saved.status_code == 200, saved.text
        yield client


async def test_the_form_asks_name_and_email_and_refuses_an_address_that_is_not_one(
    suite: RunningSuite,
    prechat: httpx.AsyncClient,
    hotel_site: int,  # noqa: F811 (the fixture imported above)
    browser: Browser,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    errors: list[str] = []
    page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/?lang=es", errors)
    chat = await open_chat(page, "Chatea con nosotros")
    email = chat.get_by_label("Correo electrónico (opcional)")
    await expect(email).to_be_visible()
    await expect(chat.get_by_label("Tu mensaje")).to_be_hidden()
    await accessible(page)

    await chat.get_by_label("Nombre").fill("Ana")
    # The browser takes it as an email address; the suite would not: neither does the form.
    await email.fill("ana@localhost")
    await chat.get_by_role("button", name="Empezar").click()
    await expect(chat.get_by_role("alert")).to_have_text("Escribe un correo como ana@example.com.")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_be_focused()
    assert (await suite.store.list_guests(HOTEL)).items == []

    await email.fill("ana@example.com")
    await chat.get_by_role("button", name="Empezar").click()
    await expect(chat.get_by_label("Tu mensaje")).to_be_visible()

    async def contact() -> list[tuple[str, str]] | None:
        guests = (await suite.store.list_guests(HOTEL)).items
        found = [(c.channel, c.address) for g in guests for c in g.contacts]
        return found or None

    # until shows a bots' log when it fails: there is no bot here, so an empty one.
    assert await until(contact, "the guest's contact", tmp_path / "no-bot.log") == [
        ("email", "ana@example.com")
    ]
    assert errors == []
