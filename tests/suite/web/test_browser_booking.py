"""The booking on the conversation page in Chromium: its pane region, read as a person
would, and axe-clean (the browser and fixtures of test_browser)."""

from __future__ import annotations

import pytest
from begasist_core import MessageContext
from playwright.async_api import expect

from tests.suite.api.seed import SeededHotel
from tests.suite.conftest import RunningSuite
from tests.suite.web import test_browser as in_browser
from tests.suite.web.test_booking_panel import BOOKING, guest_wrote
from tests.suite.web.test_browser import Session, accessible, keep, sign_in_as

pytestmark = pytest.mark.anyio

# test_browser's fixtures, by name (one browser per module, as there).
chromium = in_browser.chromium
browser = in_browser.browser
desktop = in_browser.desktop
plaza = in_browser.plaza


async def test_staff_read_the_guests_booking_beside_the_thread(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    conversation = await guest_wrote(suite, "m-1", MessageContext(booking=BOOKING), 5)
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.goto(f"/hotels/plaza/conversations/{conversation.id}")
    booking = page.get_by_role("region", name="Booking")
    await expect(booking).to_be_visible()
    await expect(booking).to_contain_text("Airbnb")
    await expect(booking).to_contain_text("HMABCDEF12")
    await expect(booking).to_contain_text("Dec 20, 2026")
    await accessible(page)
    await keep(page, "conversation-booking")
