"""The inbox in a real Chromium: unread counts turning live, and the search box.

Uses ``test_browser.py``'s browser, sessions and checks (JavaScript errors,
CSP violations and axe-core's serious or critical findings fail a test).
"""

from __future__ import annotations

import re

import pytest
from begasist_core import GuestIdentity
from playwright.async_api import expect

from tests.suite.api.seed import DEMO, SeededHotel, inbound_message
from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import publish_received
from tests.suite.web.test_browser import (
    Session,
    accessible,
    browser,
    chromium,
    desktop,
    plaza,
    sign_in_as,
)

__all__ = ["browser", "chromium", "desktop", "plaza"]  # fixtures used from test_browser

pytestmark = pytest.mark.anyio


async def test_unread_counts_turn_live_as_guests_write_and_staff_read(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    inbox = await desktop.page()
    await sign_in_as(inbox, "agent@plaza.test")
    await expect(inbox.get_by_role("status")).to_have_text("Live")
    total = inbox.locator("#unread-total")
    await expect(total).to_have_text("Unread messages: 1")
    await inbox.evaluate("window.loadedOnce = true")

    # A new guest writes twice, through the bot's event and the consumer.
    for n in (1, 2):
        await publish_received(
            suite,
            inbound_message("plaza", f"unread-{n}", address="+44700000077", text=f"Hello {n}"),
        )
    await expect(total).to_have_text("Unread messages: 3")
    row = inbox.get_by_role("link", name=re.compile("Hello 2"))
    await expect(row).to_contain_text("2 unread")
    await accessible(inbox)

    # A colleague opens that conversation in another tab: the first tab counts down live.
    reader = await desktop.page()
    await reader.goto("/hotels/plaza/inbox")
    await reader.get_by_role("link", name=re.compile("Hello 2")).click()
    await expect(reader.get_by_role("list", name="Messages")).to_contain_text("Hello 2")
    await expect(total).to_have_text("Unread messages: 1")
    await expect(row).not_to_contain_text("unread")
    assert await inbox.evaluate("window.loadedOnce") is True


async def test_the_search_box_finds_a_guest_by_name_or_phone(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    carla = inbound_message("plaza", "carla-1", address="+34677001122", text="¿Hay cuna?")
    identity = GuestIdentity(channel=DEMO, address="+34677001122", display_name="Carla Gómez")
    await suite.store.record_inbound(carla.model_copy(update={"guest": identity}))
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    conversations = page.locator("#conversation-list")
    await expect(conversations).to_contain_text("Ana Lopez")

    search = page.get_by_role("searchbox", name="Search by name, phone or email")
    await search.fill("carla gom")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(conversations).to_contain_text("Carla Gómez")
    await expect(conversations).not_to_contain_text("Ana Lopez")
    await expect(search).to_have_value("carla gom")
    await accessible(page)

    await search.fill("600 000")
    await search.press("Enter")
    await expect(conversations).to_contain_text("Ana Lopez")
    await expect(conversations).not_to_contain_text("Carla Gómez")

    await page.get_by_role("link", name="Clear search").click()
    await expect(conversations).to_contain_text("Carla Gómez")
    await expect(conversations).to_contain_text("Ana Lopez")
