"""The conversation page's extras in Chromium: a closed reply window with its templates,
the reply modes, and times in the hotel's zone (the browser and fixtures of test_browser)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.suite.api.seed import SeededHotel
from tests.suite.conftest import RunningSuite
from tests.suite.web import test_browser as in_browser
from tests.suite.web.test_browser import Session, accessible, keep, sign_in_as
from tests.suite.web.test_conversation_panel import TEMPLATES, guest_wrote, whatsapp_settings

pytestmark = pytest.mark.anyio

# test_browser's fixtures, by name (one browser per module, as there).
chromium = in_browser.chromium
browser = in_browser.browser
desktop = in_browser.desktop
plaza = in_browser.plaza


async def test_a_template_is_sent_once_the_reply_window_closed(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    await whatsapp_settings(suite, message_templates=TEMPLATES)
    await suite.store.update_hotel("plaza", timezone="Asia/Kolkata")
    conversation = await guest_wrote(suite, 27)
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.goto(f"/hotels/plaza/conversations/{conversation.id}")
    window = page.get_by_role("region", name="The reply window closed 3 hours ago.")
    await expect(window).to_be_visible()
    await expect(page.get_by_label("Your reply")).to_have_count(0)
    thread = page.get_by_role("list", name="Messages")
    await expect(thread.locator("time").first).to_have_attribute(
        "title", re.compile(r"\+05:30 Asia/Kolkata$")
    )

    await window.get_by_text("booking_follow_up (es)").click()  # opens its <details>
    await page.get_by_label("Parameter 1").fill("Ana")
    await accessible(page)
    await keep(page, "reply-window-closed")
    await page.get_by_role("button", name="Send template booking_follow_up").click()
    await expect(thread).to_contain_text("[booking_follow_up] Ana")
    await expect(thread).to_contain_text("Queued")


async def test_a_manager_sets_the_conversations_mode(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.goto(f"/hotels/plaza/conversations/{plaza.conversation.id}")
    modes = page.get_by_role("region", name="Reply mode")
    await expect(modes).to_contain_text("Supervised · the channel's mode")

    await modes.get_by_label("For this guest, on every channel").select_option("manual")
    await modes.locator("form").nth(1).get_by_role("button", name="Save").click()
    await expect(modes).to_contain_text("Manual · set for this guest")

    await modes.get_by_label("For this conversation").select_option("automatic")
    await modes.locator("form").first.get_by_role("button", name="Save").click()
    await expect(modes).to_contain_text("Automatic · set for this conversation")
    await accessible(page)
    await keep(page, "conversation-modes")
    conversation = await suite.store.get_conversation("plaza", plaza.conversation.id)
    assert conversation is not None
    assert conversation.mode_override is not None
    assert conversation.mode_override.value == "automatic"
