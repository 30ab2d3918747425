"""The web chat in Chromium, hardened: a long conversation pages back in the widget.

The set-up (browser, hotel site, web chat settings, bot) is test_widget_browser's.
"""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from begasist_core import Direction, GuestIdentity, Message, utc_now
from begasist_suite.guest.history import HISTORY_LIMIT
from playwright.async_api import Browser, expect

from tests.suite.conftest import RunningSuite
from tests.suite.guest import test_widget_browser as widget
from tests.suite.guest.conftest import HOTEL
from tests.suite.guest.test_widget_browser import accessible, open_chat, open_page

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

# test_widget_browser's fixtures, by name.
hotel_site = widget.hotel_site
webchat = widget.webchat
chromium = widget.chromium
browser = widget.browser

STORAGE_KEY = f"begasist:/guest/{HOTEL}/webchat/"


async def test_a_long_conversation_shows_its_newest_messages_and_pages_back(
    suite: RunningSuite, webchat: httpx.AsyncClient, hotel_site: int, browser: Browser
) -> None:
    errors: list[str] = []
    page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/?lang=es", errors)
    chat = await open_chat(page, "Chatea con nosotros")
    await expect(chat.get_by_label("Tu mensaje")).to_be_visible()
    frame = next(f for f in page.frames if f.url.split("#")[0].endswith("/chat.html"))
    saved = await frame.evaluate(f"localStorage.getItem({json.dumps(STORAGE_KEY)})")
    visitor = json.loads(saved)["visitor"]
    start = utc_now() - timedelta(days=2)
    for number in range(HISTORY_LIMIT + 20):
        await suite.store.record_inbound(
            Message(
                hotel=HOTEL,
                channel="webchat",
                conversation_key=visitor,
                direction=Direction.INBOUND,
                guest=GuestIdentity(channel="webchat", address=visitor),
                text=f"mensaje {number:03d}",
                provider_message_id=f"{visitor}/client-{number:04d}",
                created_at=start + timedelta(minutes=number),
            )
        )

    await page.reload()
    chat = await open_chat(page, "Chatea con nosotros")
    messages = chat.get_by_role("log")
    await expect(messages).to_contain_text(f"mensaje {HISTORY_LIMIT + 19:03d}")
    await expect(messages).not_to_contain_text("mensaje 019")
    earlier = chat.get_by_role("button", name="Ver mensajes anteriores")
    await expect(earlier).to_be_visible()
    await accessible(page)
    # By keyboard, as a screen reader's user would.
    await earlier.focus()
    await earlier.press("Enter")
    await expect(messages).to_contain_text("mensaje 000")
    await expect(messages.locator(".bubble:not(.greeting)").first).to_contain_text("mensaje 000")
    await expect(earlier).to_be_hidden()
    await expect(messages).to_be_focused()
    assert errors == []
