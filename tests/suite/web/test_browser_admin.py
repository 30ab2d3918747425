"""The platform admin's pages in Chromium: a hotel and a user created, the WhatsApp app's
secret set and then shown only as set (the browser and fixtures of test_browser)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.suite.api.seed import SeededHotel
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.web import test_browser as in_browser
from tests.suite.web.test_browser import Session, accessible, keep, sign_in_as

pytestmark = pytest.mark.anyio

# test_browser's fixtures, by name (one browser per module, as there).
chromium = in_browser.chromium
browser = in_browser.browser
desktop = in_browser.desktop
plaza = in_browser.plaza

APP_SECRET = "the-operators-app-secret"


async def test_a_platform_admin_creates_a_hotel_a_user_and_sets_the_whatsapp_app(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    page = await desktop.page()
    await sign_in_as(page, "root@platform.test")
    platform = page.get_by_role("navigation", name="Platform")

    await platform.get_by_role("link", name="All hotels").click()
    await page.get_by_label("Slug").fill("mar")
    await page.get_by_label("Name", exact=True).fill("Hotel Mar")
    await page.get_by_label("Default language").fill("es")
    await page.get_by_label("Time zone").fill("Atlantic/Canary")
    await page.get_by_role("button", name="Create the hotel").click()
    await expect(page.get_by_role("status")).to_contain_text("The hotel is created.")
    await expect(page.get_by_role("row", name=re.compile("Hotel Mar"))).to_contain_text(
        "Atlantic/Canary"
    )
    await accessible(page)
    await keep(page, "admin-hotels")

    await platform.get_by_role("link", name="Users").click()
    await page.get_by_label("Email").fill("ana@mar.test")
    await page.get_by_label("Display name").fill("Ana")
    await page.get_by_label("Password").fill("a long password")
    await page.get_by_role("button", name="Create the user").click()
    await expect(page.get_by_role("status")).to_contain_text("The user is created.")
    await page.get_by_label("Hotel", exact=True).select_option("mar")
    await page.get_by_label("Role").select_option("owner")
    await page.get_by_role("button", name="Add to the hotel with this role").click()
    await expect(page.get_by_role("row", name=re.compile("Hotel Mar"))).to_contain_text("Owner")
    await accessible(page)

    await platform.get_by_role("link", name="Channel apps").click()
    await page.get_by_role("link", name="WhatsApp").click()
    await expect(page.get_by_role("textbox", name=re.compile("this callback URL"))).to_have_value(
        f"{suite.url}/webhooks/_app/whatsapp"
    )
    secret = page.get_by_role("group", name=re.compile("^App secret"))
    token = page.get_by_role("group", name=re.compile("^Verify token"))
    await expect(secret).to_contain_text("not set")
    await secret.get_by_label("Set to").fill(APP_SECRET)
    await token.get_by_label("Set to").fill("the-operators-verify-token")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved.")
    await expect(secret.locator("legend")).to_have_text("App secret: set")
    assert APP_SECRET not in await page.content()
    await accessible(page)
    await keep(page, "admin-channel-app")

    mar = await suite.store.get_hotel("mar")
    ana = await suite.store.get_user_by_email("ana@mar.test")
    app = await suite.store.get_channel_app("whatsapp")
    assert mar is not None
    assert ana is not None
    assert app is not None
    assert await suite.store.get_membership("mar", ana.id) is not None
    assert set(app.secrets) == {"app_secret", "verify_token"}
