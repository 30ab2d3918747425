"""Ticks on the conversation page, live: a receipt moves a reply's tick in place, and one
that came while the page was loading is not lost (the browser and fixtures of test_browser).

The guest's side (a widget that reports a reply read) is test_widget_live_browser's; here
the receipts come the way every channel's do, as ``message.status`` events on the bus.
"""

from __future__ import annotations

import re

import anyio
import pytest
from begasist_core import DeliveryStatus, MessageStatusChanged
from playwright.async_api import Page, WebSocketRoute, expect

from tests.suite.api.seed import DEMO, SeededHotel
from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import eventually, publish
from tests.suite.web import test_browser as in_browser
from tests.suite.web.test_browser import Session, sign_in_as

pytestmark = pytest.mark.anyio

# test_browser's fixtures, by name (one browser per module, as there).
chromium = in_browser.chromium
browser = in_browser.browser
desktop = in_browser.desktop
plaza = in_browser.plaza

REPLY = "Breakfast is from 7 to 10:30."


async def reply(page: Page) -> str:
    """Reply to Ana's conversation from *page* (no bot runs: it stays queued); its id.
    *page* stays on the conversation."""
    await sign_in_as(page, "agent@plaza.test")
    await page.get_by_role("link", name=re.compile("Ana Lopez")).click()
    await page.get_by_label("Your reply").fill(REPLY)
    await page.get_by_role("button", name="Send", exact=True).click()
    item = page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=REPLY)
    await expect(item.locator(".status")).to_have_text("🕓 Queued")
    found = await item.get_attribute("id")
    assert found is not None
    return found.removeprefix("m-")


async def receipt(suite: RunningSuite, message_id: str, status: DeliveryStatus) -> None:
    """The channel's receipt, through the bus and the suite's consumer."""
    payload = MessageStatusChanged(
        channel=DEMO, provider_message_id=f"demo-{message_id}", message_id=message_id, status=status
    )
    await publish(suite, payload, hotel="plaza")


async def test_a_receipt_moves_the_reply_tick_in_place(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    message_id = await reply(page)
    await expect(page.get_by_role("status")).to_have_text("Live")
    await page.wait_for_load_state("networkidle")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    tick = page.locator(f"#m-{message_id} .status")

    await receipt(suite, message_id, DeliveryStatus.DELIVERED)
    await expect(tick).to_have_text("✓✓ Delivered")
    await receipt(suite, message_id, DeliveryStatus.READ)
    await expect(tick).to_have_text("✓✓ Read")
    # Moved in place: a receipt fetches no page.
    assert fetched == []


async def test_a_receipt_that_came_while_the_page_loaded_shows(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    first = await desktop.page()
    message_id = await reply(first)
    # A page whose live socket is held until the receipt's notice has gone out: the
    # notice reaches no socket of it, as when it comes while the page is on its way.
    page = await desktop.page()
    release = anyio.Event()

    async def hold(socket: WebSocketRoute) -> None:
        await release.wait()
        socket.connect_to_server()

    await page.route_web_socket(re.compile(r"/live$"), hold)
    await page.goto(first.url)
    tick = page.locator(f"#m-{message_id} .status")
    await expect(tick).to_have_text("🕓 Queued")
    await receipt(suite, message_id, DeliveryStatus.READ)

    async def read() -> bool:
        stored = await suite.store.get_message("plaza", message_id)
        return stored is not None and stored.status is DeliveryStatus.READ

    await eventually(read)
    release.set()
    await expect(page.get_by_role("status")).to_have_text("Live")
    await expect(tick).to_have_text("✓✓ Read")
