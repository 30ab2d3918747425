"""The web chat in Chromium, hardened: a long conversation pages back in the widget, and a
reply's tick on the staff page turns to read, live, when the guest's widget shows it.

The set-up (browser, hotel site, web chat settings, bot) is test_widget_browser's.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from begasist_core import Direction, GuestIdentity, Message, utc_now
from begasist_suite.guest.history import HISTORY_LIMIT
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.suite.conftest import PASSWORD, RunningSuite
from tests.suite.guest import test_widget_browser as widget
from tests.suite.guest.conftest import HOTEL, channels_running
from tests.suite.guest.test_widget_browser import API, accessible, open_chat, open_page
from tests.suite.test_whatsapp_end_to_end import channelbot

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

# test_widget_browser's fixtures, by name.
hotel_site = widget.hotel_site
webchat = widget.webchat
chromium = widget.chromium
browser = widget.browser

STORAGE_KEY = f"begasist:/guest/{HOTEL}/webchat/"


async def saved_visitor(page: Page) -> str:
    """The visitor id the widget keeps in its frame's storage, once the socket's welcome
    gave it one (the composer shows before the welcome arrives)."""
    frame = next(f for f in page.frames if f.url.split("#")[0].endswith("/chat.html"))
    read = (
        f"(JSON.parse(localStorage.getItem({json.dumps(STORAGE_KEY)}) || '{{}}') || {{}}).visitor"
    )
    handle = await frame.wait_for_function(read, timeout=30_000)
    visitor = await handle.json_value()
    assert isinstance(visitor, str)
    return visitor


async def test_a_long_conversation_shows_its_newest_messages_and_pages_back(
    suite: RunningSuite, webchat: httpx.AsyncClient, hotel_site: int, browser: Browser
) -> None:
    errors: list[str] = []
    page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/?lang=es", errors)
    chat = await open_chat(page, "Chatea con nosotros")
    await expect(chat.get_by_label("Tu mensaje")).to_be_visible()
    visitor = await saved_visitor(page)
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


async def test_a_replys_tick_turns_to_read_on_the_staff_page_when_the_guest_sees_it(
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
    with channelbot(suite, minted.json()["token"], begasist_redis_url, log):
        await channels_running(webchat, log)

        # The guest writes, then closes the chat window: a reply is not on their screen.
        guest_page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/", errors)
        chat = await open_chat(guest_page)
        await chat.get_by_label("Your message").fill("Is there a late check-out?")
        await chat.get_by_label("Your message").press("Enter")
        await expect(chat.get_by_role("log")).to_contain_text("Sent")
        await chat.get_by_role("button", name="Close the chat").click()

        staff = await open_page(browser, suite.url + "/", errors)
        await staff.get_by_label("Email").fill("admin@plaza.test")
        await staff.get_by_label("Password").fill(PASSWORD)
        await staff.get_by_role("button", name="Sign in").click()
        await staff.goto(f"{suite.url}/hotels/{HOTEL}/inbox")
        await staff.get_by_role("link", name=re.compile("late check-out")).click()
        await staff.get_by_label("Your reply").fill("Until 2 pm, gladly.")
        await staff.get_by_role("button", name="Send", exact=True).click()
        thread = staff.get_by_role("list", name="Messages")
        reply = thread.get_by_role("listitem").filter(has_text="Until 2 pm, gladly.")
        # The widget, open on the hotel's page though its window is closed, says delivered.
        await expect(reply.locator(".status")).to_have_text("✓✓ Delivered", timeout=30_000)
        # From here on the staff page is neither loaded again nor fetched: the tick moves
        # in place when the receipt's notice comes.
        await staff.evaluate("window.notReloaded = true")
        fetched: list[str] = []
        staff.on("request", lambda r: fetched.append(r.url) if "/conversations/" in r.url else None)

        await guest_page.get_by_role("button", name="Chat with us").click()
        await expect(chat.get_by_role("log")).to_contain_text("Until 2 pm, gladly.")
        await expect(reply.locator(".status")).to_have_text("✓✓ Read", timeout=30_000)
        assert await staff.evaluate("window.notReloaded === true")
        assert fetched == []

    assert errors == []


async def test_a_receipt_lost_with_its_socket_is_sent_again_on_reconnect(
    suite: RunningSuite, webchat: httpx.AsyncClient, hotel_site: int, browser: Browser
) -> None:
    """The widget counts a receipt as given once it wrote it; one written as the socket
    dropped is lost with it. After the reconnect the history's status is what counts."""
    errors: list[str] = []
    page = await open_page(browser, f"http://127.0.0.1:{hotel_site}/", errors)
    chat = await open_chat(page)
    await expect(chat.get_by_label("Your message")).to_be_visible()
    visitor = await saved_visitor(page)
    guest = GuestIdentity(channel="webchat", address=visitor)
    recorded = await suite.store.record_inbound(
        Message(
            hotel=HOTEL,
            channel="webchat",
            conversation_key=visitor,
            direction=Direction.INBOUND,
            guest=guest,
            text="Is breakfast included?",
            provider_message_id=f"{visitor}/client-0001",
        )
    )
    reply = Message(
        hotel=HOTEL,
        channel="webchat",
        conversation_key=visitor,
        direction=Direction.OUTBOUND,
        guest=guest,
        text="Yes, from 7 to 10.",
    )
    assert await suite.store.add_outbound(recorded.conversation, reply)

    receipts: list[str] = []
    dropped = False

    async def lose_the_first_receipt(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        async def from_page(message: str | bytes) -> None:
            nonlocal dropped
            sent = json.loads(message)
            if sent.get("type") == "receipt" and sent.get("id") == reply.id:
                receipts.append(sent["status"])
                if not dropped:
                    dropped = True  # written, never delivered: the socket drops with it
                    await socket.close(code=1012, reason="restarting")
                    return
            server.send(message)

        socket.on_message(from_page)

    await page.context.route_web_socket(re.compile(r"/socket$"), lose_the_first_receipt)
    await page.reload()
    chat = await open_chat(page)
    await expect(chat.get_by_role("log")).to_contain_text("Yes, from 7 to 10.")
    with anyio.fail_after(30):
        while len(receipts) < 2:  # noqa: ASYNC110 (the page's frames, watched by Playwright)
            await anyio.sleep(0.1)
    assert receipts[0] == receipts[1]
