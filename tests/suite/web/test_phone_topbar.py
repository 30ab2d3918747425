"""The top bar on a phone (375 px wide): one compact row, every page still one tap away;
on a desktop the pages stay in the bar itself."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.suite.api.seed import SeededHotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.test_browser import (  # noqa: F401 (module fixtures, used by name)
    DESKTOP,
    MIN_TAP,
    accessible,
    browser,
    chromium,
    open_session,
    plaza,
    sign_in_as,
)

pytestmark = pytest.mark.anyio

SMALL_PHONE = {"width": 375, "height": 667}
PAGES = ("Inbox", "Channels", "Assistant", "Team", "Operations")


async def test_the_top_bar_is_one_row_with_every_page_in_its_menu(
    browser: Browser,  # noqa: F811
    suite: RunningSuite,
    plaza: SeededHotel,  # noqa: F811
) -> None:
    session = await open_session(browser, suite, viewport=SMALL_PHONE)
    page = await session.page()
    await sign_in_as(page, "manager@plaza.test")
    await expect(page.get_by_role("banner")).to_be_visible()
    bar = await page.get_by_role("banner").bounding_box()
    assert bar is not None
    assert bar["height"] < 2 * MIN_TAP, f"the top bar is {bar['height']} px tall: it wraps"
    assert await page.evaluate("document.documentElement.scrollWidth") <= SMALL_PHONE["width"]
    await accessible(page)

    menu = page.get_by_text("Menu", exact=True)
    for name in PAGES:
        await menu.click()
        link = page.get_by_role("navigation", name="Hotel pages").get_by_role("link", name=name)
        await expect(link).to_be_visible()
        box = await link.bounding_box()
        assert box is not None
        assert box["height"] >= MIN_TAP, name
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= SMALL_PHONE["width"], name
        await link.click()
        await expect(page).to_have_url(f"{suite.url}/hotels/plaza/{name.lower()}")
        bar = await page.get_by_role("banner").bounding_box()
        assert bar is not None
        assert bar["height"] < 2 * MIN_TAP, name
    await menu.click()
    await expect(page.get_by_role("button", name="Español")).to_be_visible()
    await accessible(page)

    # On a desktop the same pages are in the bar itself, and there is no Menu.
    await page.keyboard.press("Escape")
    await page.set_viewport_size(DESKTOP)
    await expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    pages = page.get_by_role("navigation", name="Hotel pages")
    for name in PAGES:
        await expect(pages.get_by_role("link", name=name)).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Password")).to_be_visible()
    errors = list(session.errors)
    await session.context.close()
    assert errors == []
