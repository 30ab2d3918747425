"""The web chat widget in a real Chromium, embedded in a hotel page of another origin.

Real pieces: Debian's Chromium (Playwright), the suite under uvicorn, Redis, a
``channelbot`` process, and a tiny HTTP server on another port playing the
hotel's website (``http://127.0.0.1:<port>``, allowed; the same server as
``http://localhost:<port>`` is another origin, not allowed). A guest writes in
the widget, staff answer in the staff app, and each sees the other live.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from begasist_channels_webchat import identity_hash
from playwright.async_api import Browser, FrameLocator, Page, async_playwright, expect

from tests.suite.conftest import PASSWORD, RunningSuite, add_member
from tests.suite.guest.conftest import HOTEL, IDENTITY_SECRET, channels_running
from tests.suite.test_whatsapp_end_to_end import channelbot, until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

CHROMIUM = Path("/usr/bin/chromium")
API = f"/api/v1/hotels/{HOTEL}"
GREETING = "Welcome to the Plaza: how can we help?"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


class _HotelSite(BaseHTTPRequestHandler):
    """The hotel's page: one script tag, and a signed-in guest's identity when asked."""

    suite_url = ""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        lang = query.get("lang", ["en"])[0]
        identity = ""
        if "identifier" in query:
            identity = (
                f' data-identifier="{html.escape(query["identifier"][0])}"'
                f' data-identifier-hash="{html.escape(query["hash"][0])}"'
            )
        page = (
            f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            "<title>Hotel Plaza</title><style>button { background: red; }</style></head>"
            "<body><h1>Hotel Plaza</h1>"
            f'<script src="{self.suite_url}/guest/{HOTEL}/webchat/widget.js"'
            f' data-key="{HOTEL}/webchat"{identity} async></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is the browser's."""


@pytest.fixture
def hotel_site(suite: RunningSuite) -> Iterator[int]:
    """The hotel's website on a free port of 127.0.0.1 (its port)."""
    handler = type("HotelSite", (_HotelSite,), {"suite_url": suite.url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # Chromium keeps connections open: closing must not wait for their threads.
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
async def webchat(suite: RunningSuite, hotel_site: int) -> AsyncIterator[httpx.AsyncClient]:
    """A platform admin's API client; the web chat allows the hotel site's origin."""
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        settings = {
            "enabled": True,
            "mode": "manual",
            "allowed_origins": [f"http://127.0.0.1:{hotel_site}"],
            "identity_secret": IDENTITY_SECRET,
            "greeting": GREETING,
        }
        saved = await client.put(f"{API}/channels/webchat", json=settings)
        assert saved.status_code == 200, saved.text
        yield client


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium))
        yield launched
        await launched.close()


async def open_page(browser: Browser, url: str, errors: list[str], **context: Any) -> Page:
    """*url* in a new browser context (a new visitor); errors it logs go to *errors*."""
    opened = await browser.new_context(**context)
    page = await opened.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    return page


async def open_chat(page: Page, launcher: str = "Chat with us") -> FrameLocator:
    await page.get_by_role("button", name=launcher).click()
    return page.frame_locator("iframe[title]")


async def accessible(page: Page) -> None:
    """No serious or critical axe-core violation in the chat window (the frame's document)."""
    frame = next(f for f in page.frames if f.url.split("#")[0].endswith("/chat.html"))
    results = await Axe().run(frame)  # type: ignore[arg-type]  # a Frame evaluates like a Page
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert [f"{v['id']}: {v['help']}" for v in blocking] == []


async def test_a_guest_on_the_hotel_site_chats_with_staff_live(
    suite: RunningSuite,
    webchat: httpx.AsyncClient,
    hotel_site: int,
    browser: Browser,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    minted = await webchat.post(f"{API}/bot-tokens", json={"name": "widget"})
    assert minted.status_code == 201, minted.text
    log = tmp_path / "bots.log"
    errors: list[str] = []
    site = f"http://127.0.0.1:{hotel_site}/"
    with channelbot(suite, minted.json()["token"], begasist_redis_url, log):
        await channels_running(webchat, log)

        guest_page = await open_page(browser, site, errors, viewport={"width": 390, "height": 844})
        chat = await open_chat(guest_page)
        messages = chat.get_by_role("log")
        await expect(messages).to_contain_text(GREETING)
        await chat.get_by_label("Your message").fill("Do you have parking? <b>now</b>")
        await chat.get_by_label("Your message").press("Enter")
        await expect(messages).to_contain_text("Do you have parking? <b>now</b>")
        await expect(messages).to_contain_text("Sent")
        await accessible(guest_page)

        staff = await open_page(browser, suite.url + "/", errors)
        await staff.get_by_label("Email").fill("admin@plaza.test")
        await staff.get_by_label("Password").fill(PASSWORD)
        await staff.get_by_role("button", name="Sign in").click()
        await staff.goto(f"{suite.url}/hotels/{HOTEL}/inbox")
        row = staff.get_by_role("link", name=re.compile("Do you have parking"))
        await expect(row).to_be_visible()
        await row.click()
        await staff.get_by_label("Your reply").fill("Yes, in the basement.")
        await staff.get_by_role("button", name="Send", exact=True).click()

        await expect(messages).to_contain_text("Yes, in the basement.")
        # The widget is open and on screen: it reports the reply read, which the inbox records.

        async def reply_read() -> bool:
            found = (await webchat.get(f"{API}/conversations")).json()["items"][0]
            path = f"{API}/conversations/{found['id']}/messages"
            items = (await webchat.get(path)).json()["items"]
            return any(
                m["text"] == "Yes, in the basement." and m["status"] == "read" for m in items
            )

        await until(reply_read, "the reply to show as read", log)

        # A reload keeps the visitor and their history.
        await guest_page.reload()
        chat = await open_chat(guest_page)
        messages = chat.get_by_role("log")
        await expect(messages).to_contain_text("Yes, in the basement.")
        await expect(messages).to_contain_text("Do you have parking? <b>now</b>")
        # Rendered as text: the guest's markup is not an element of the page.
        await expect(messages.locator("b")).to_have_count(0)

        # A second visitor (another browser context) sees none of it.
        stranger_page = await open_page(browser, site, errors)
        stranger = await open_chat(stranger_page)
        theirs = stranger.get_by_role("log")
        await stranger.get_by_label("Your message").fill("Hola")
        await stranger.get_by_role("button", name="Send").click()
        await expect(theirs).to_contain_text("Sent")
        await expect(theirs).not_to_contain_text("parking")
        await expect(theirs).not_to_contain_text("basement")

        # Spanish from the host page's language.
        spanish_page = await open_page(browser, site + "?lang=es", errors)
        spanish = await open_chat(spanish_page, "Chatea con nosotros")
        await expect(spanish.get_by_label("Tu mensaje")).to_be_visible()

    assert errors == []


async def test_a_page_of_an_origin_not_allowed_cannot_open_the_chat(
    suite: RunningSuite, webchat: httpx.AsyncClient, hotel_site: int, browser: Browser
) -> None:
    errors: list[str] = []
    page = await open_page(browser, f"http://localhost:{hotel_site}/", errors)
    await page.get_by_role("button", name="Chat with us").click()
    await expect(page.get_by_role("alert")).to_have_text("The chat cannot open on this page.")
    await expect(page.locator("iframe")).to_have_count(0)
    assert await suite.redis.xlen(suite.names.ingress(HOTEL)) == 0
    assert (await suite.store.list_conversations(HOTEL)).items == []
    # The browser reports the refused config request (CORS): that is the refusal itself.
    assert all("config.json" in error or "Failed to load" in error for error in errors)


async def test_a_signed_in_guest_with_a_bad_hmac_is_refused(
    suite: RunningSuite, webchat: httpx.AsyncClient, hotel_site: int, browser: Browser
) -> None:
    errors: list[str] = []
    identifier = "ana@example.com"
    forged = identity_hash("not-the-secret", identifier)
    page = await open_page(
        browser, f"http://127.0.0.1:{hotel_site}/?identifier={identifier}&hash={forged}", errors
    )
    chat = await open_chat(page)
    await expect(chat.get_by_role("status").first).to_have_text(
        "The chat cannot connect: your identity could not be verified."
    )
    await expect(chat.get_by_label("Your message")).to_be_disabled()
    assert await suite.redis.xlen(suite.names.ingress(HOTEL)) == 0

    good = identity_hash(IDENTITY_SECRET, identifier)
    page = await open_page(
        browser, f"http://127.0.0.1:{hotel_site}/?identifier={identifier}&hash={good}", errors
    )
    chat = await open_chat(page)
    await chat.get_by_label("Your message").fill("Soy Ana")
    await chat.get_by_label("Your message").press("Enter")
    await expect(chat.get_by_role("log")).to_contain_text("Sent")
    assert await suite.redis.xlen(suite.names.ingress(HOTEL)) == 1
