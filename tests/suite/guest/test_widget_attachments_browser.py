"""A guest attaches files in the web chat widget, in a real Chromium (the set-up of
``test_widget_browser``: the hotel's page on another origin, the suite, Redis, a bot).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, FrameLocator, Locator, Page, expect

from tests.suite.conftest import PASSWORD, RunningSuite
from tests.suite.guest.conftest import HOTEL, channels_running
from tests.suite.guest.test_uploads import png

# The fixtures of the widget's browser tests, shared rather than copied.
from tests.suite.guest.test_widget_browser import (  # noqa: F401
    API,
    accessible,
    browser,
    chromium,
    hotel_site,
    open_chat,
    open_page,
    webchat,
)
from tests.suite.test_whatsapp_end_to_end import channelbot

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


async def choose(page: Page, chat: FrameLocator, name: str, mime_type: str, body: bytes) -> None:
    """Pick a file the way a guest does: the attach button, then the browser's file chooser."""
    async with page.expect_file_chooser() as chooser:
        await chat.get_by_role("button", name="Attach a file").click()
    await (await chooser.value).set_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": body}]
    )


async def shown(image: Locator) -> None:
    """The image is on screen and its bytes loaded (a broken image has no natural width)."""
    await expect(image).to_be_visible()
    await expect(image).to_have_js_property("complete", True)
    assert await image.evaluate("element => element.naturalWidth") == 1


async def test_a_guest_attaches_an_image_that_staff_see_and_the_guest_sees_again(
    suite: RunningSuite,
    webchat: httpx.AsyncClient,  # noqa: F811
    hotel_site: int,  # noqa: F811
    browser: Browser,  # noqa: F811
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    minted = await webchat.post(f"{API}/bot-tokens", json={"name": "widget"})
    assert minted.status_code == 201, minted.text
    log = tmp_path / "bots.log"
    errors: list[str] = []
    with channelbot(suite, minted.json()["token"], begasist_redis_url, log):
        await channels_running(webchat, log)

        guest_page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/", errors)
        chat = await open_chat(guest_page)
        await expect(chat.locator("#state")).to_have_text("")  # connected: the session is known

        await choose(guest_page, chat, "notes.html", "text/html", b"<script>alert(1)</script>")
        await expect(chat.get_by_role("alert")).to_have_text(
            "Only images (JPEG, PNG, GIF, WebP) and PDF files can be sent."
        )
        # Named and typed as an image by the browser, refused by the suite for its content.
        await choose(guest_page, chat, "fake.png", "image/png", b"<html><script>x</script>")
        await expect(chat.get_by_role("alert")).to_have_text(
            "Only images (JPEG, PNG, GIF, WebP) and PDF files can be sent."
        )
        await expect(chat.get_by_role("button", name="Remove fake.png")).to_have_count(0)
        await choose(guest_page, chat, "room.png", "image/png", png())
        await expect(chat.get_by_role("button", name="Remove room.png")).to_be_visible()
        await expect(chat.get_by_role("button", name="Send")).to_be_enabled()
        await chat.get_by_label("Your message").fill("The view from my room")
        await chat.get_by_role("button", name="Send").click()
        messages = chat.get_by_role("log")
        await shown(messages.get_by_role("img", name="room.png"))
        await expect(messages).to_contain_text("Sent")
        await accessible(guest_page)

        staff = await open_page(browser, suite.url + "/", errors)
        await staff.get_by_label("Email").fill("admin@plaza.test")
        await staff.get_by_label("Password").fill(PASSWORD)
        await staff.get_by_role("button", name="Sign in").click()
        await staff.goto(f"{suite.url}/hotels/{HOTEL}/inbox")
        await staff.get_by_role("link", name=re.compile("The view from my room")).click()
        await shown(staff.locator("#thread").get_by_role("img", name="room.png"))

        # A reload finds the file again, from the history.
        await guest_page.reload()
        chat = await open_chat(guest_page)
        await shown(chat.get_by_role("log").get_by_role("img", name="room.png"))

    # The browser reports the refused upload (415): that is the refusal itself.
    assert [error for error in errors if "status of 415" not in error] == []
