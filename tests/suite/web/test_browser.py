"""The staff web app in a real Chromium (Debian's, driven by Playwright), as a person uses it.

One browser per module; each test gets a fresh suite, a fresh browser context
and reads like the steps a receptionist takes. A page that logs a JavaScript
error or a Content-Security-Policy violation fails its test, and so does a
serious or critical accessibility violation found by axe-core (run on every
page the tests look at, through :func:`accessible`). With
``BEGASIST_SCREENSHOTS=docs/screenshots`` the main pages are saved there.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from begasist_core import ChannelKeys, ChannelState, ChannelStateChanged
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.suite.api.seed import SeededHotel, inbound_message, seed_hotel
from tests.suite.conftest import PASSWORD, RunningSuite
from tests.suite.inbox.conftest import publish, publish_received

pytestmark = pytest.mark.anyio

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = os.environ.get("BEGASIST_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
MIN_TAP = 44
NOT_FOUND_LOG = "Failed to load resource: the server responded with a status of 404 (Not Found)"
UNPROCESSABLE_LOG = (
    "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
)
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
AXE = Axe()


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium))
        yield launched
        await launched.close()


class Session:
    """A browser context on the suite, with the errors its pages logged."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.errors: list[str] = []

    async def page(self) -> Page:
        page = await self.context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def open_session(
    browser: Browser, suite: RunningSuite, *, viewport: dict[str, int] = DESKTOP, lang: str = "en"
) -> Session:
    context = await browser.new_context(
        base_url=suite.url, viewport=viewport, locale=lang, extra_http_headers={}
    )
    return Session(context)


@pytest.fixture
async def desktop(browser: Browser, suite: RunningSuite) -> AsyncIterator[Session]:
    session = await open_session(browser, suite)
    yield session
    errors = list(session.errors)
    await session.context.close()
    assert errors == []


async def sign_in_as(page: Page, email: str) -> None:
    await page.goto("/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def keep(page: Page, name: str) -> None:
    """Save a screenshot of *page* for the docs, when asked to (``BEGASIST_SCREENSHOTS``)."""
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


async def accessible(page: Page) -> None:
    """Fail on any serious or critical axe-core violation of *page* as it is now.

    Playwright evaluates axe's script through the browser's debugging protocol,
    which the page's Content-Security-Policy does not apply to: the policy stays
    as strict in these tests as in production.
    """
    results = await AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in blocking
    ]
    assert report == [], f"{page.url}:\n" + "\n".join(report)


async def test_sign_in_lists_the_conversations(desktop: Session, plaza: SeededHotel) -> None:
    page = await desktop.page()
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await accessible(page)
    await keep(page, "sign-in")
    await sign_in_as(page, "agent@plaza.test")
    await expect(page).to_have_url(re.compile(r"/hotels/plaza/inbox$"))
    row = page.get_by_role("link", name=re.compile("Ana Lopez"))
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Demo channel")
    await expect(row).to_contain_text("Draft to approve")
    await expect(page.get_by_role("status")).to_have_text("Live")
    await accessible(page)
    await keep(page, "inbox")


async def test_open_a_conversation_reply_and_approve_the_draft(
    desktop: Session, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.get_by_role("link", name=re.compile("Ana Lopez")).click()
    await expect(page.get_by_role("heading", name="Ana Lopez")).to_be_visible()
    thread = page.get_by_role("list", name="Messages")
    await expect(thread).to_contain_text("Is breakfast included?")
    await expect(page.get_by_role("complementary")).to_contain_text("+34600000001")
    await accessible(page)
    await keep(page, "conversation")

    await page.get_by_label("Your reply").fill("Breakfast is from 7 to 10:30.")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(thread).to_contain_text("Breakfast is from 7 to 10:30.")
    await expect(thread).to_contain_text("Queued")

    await page.get_by_role("button", name="Approve").click()
    await expect(thread).to_contain_text("Yes, breakfast is included at Plaza.")
    await expect(thread).to_contain_text("Assistant, approved by agent@plaza.test")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)


async def test_a_guest_message_arrives_live_without_a_reload(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.get_by_role("link", name=re.compile("Ana Lopez")).click()
    await expect(page.get_by_role("status")).to_have_text("Live")
    await page.evaluate("window.loadedOnce = true")
    # Through the real path: the bot's event, the suite's consumer, the live notice.
    await publish_received(suite, inbound_message("plaza", "live-1", text="Can I check in early?"))
    await publish_received(
        suite,
        inbound_message("plaza", "live-2", address="+44700000099", text="Is there parking?"),
    )
    thread = page.get_by_role("list", name="Messages")
    await expect(thread).to_contain_text("Can I check in early?")
    conversations = page.locator("#conversation-list")
    await expect(conversations).to_contain_text("Is there parking?")
    assert await page.evaluate("window.loadedOnce") is True


async def test_the_language_switch_is_remembered(desktop: Session, plaza: SeededHotel) -> None:
    page = await desktop.page()
    await sign_in_as(page, "agent@plaza.test")
    await page.get_by_role("button", name="Español").click()
    await expect(page.get_by_role("link", name="Sin asignar")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("En vivo")
    await page.reload()
    await expect(page.get_by_role("link", name="Sin asignar")).to_be_visible()
    await accessible(page)
    await page.get_by_role("button", name="Cerrar sesión").click()
    await expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_someone_of_another_hotel_cannot_see_this_one(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    await seed_hotel(suite, "sol")
    page = await desktop.page()
    await sign_in_as(page, "agent@sol.test")
    await expect(page).to_have_url(re.compile(r"/hotels/sol/inbox$"))
    answer = await page.goto(f"/hotels/plaza/conversations/{plaza.conversation.id}")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.get_by_text("Ana Lopez")).to_have_count(0)
    await accessible(page)
    await page.goto("/hotels/plaza/inbox")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    # The browser logs each 404 page it was shown: those two are this test's point.
    assert desktop.errors == [NOT_FOUND_LOG] * 2
    desktop.errors.clear()


async def test_a_phone_shows_one_pane_at_a_time(
    browser: Browser, suite: RunningSuite, plaza: SeededHotel
) -> None:
    session = await open_session(browser, suite, viewport=PHONE)
    page = await session.page()
    await sign_in_as(page, "agent@plaza.test")
    await expect(page.get_by_role("link", name=re.compile("Ana Lopez"))).to_be_visible()
    await expect(page.get_by_role("heading", name="Plaza")).to_be_hidden()
    await page.get_by_role("link", name=re.compile("Ana Lopez")).click()
    await expect(page.get_by_role("heading", name="Ana Lopez")).to_be_visible()
    await expect(page.get_by_role("link", name=re.compile("Ana Lopez"))).to_be_hidden()
    await expect(page.get_by_role("complementary")).to_be_hidden()
    for control in await page.get_by_role("button").all():
        if await control.is_visible():
            box = await control.bounding_box()
            assert box is not None
            assert box["height"] >= MIN_TAP, await control.inner_text()
    await accessible(page)
    await keep(page, "phone-conversation")
    await page.get_by_role("link", name="All conversations").click()
    await expect(page.get_by_role("link", name=re.compile("Ana Lopez"))).to_be_visible()
    errors = list(session.errors)
    await session.context.close()
    assert errors == []


async def test_a_channel_secret_is_saved_and_then_shown_only_as_set(
    desktop: Session, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.get_by_role("link", name="Channels").click()
    await expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
    await accessible(page)
    await keep(page, "channels")
    await page.get_by_role("link", name="Set up WhatsApp").click()
    await page.get_by_label("Phone number ID").fill("1234567890")
    await page.get_by_label("WABA ID").fill("555")
    token = page.get_by_role("group", name=re.compile("Access token"))
    await expect(token).to_contain_text("not set")
    await token.get_by_label("Set to").fill("EAAG-secret-access-token")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    token = page.get_by_role("group", name=re.compile("Access token"))
    await expect(token.locator("legend")).to_contain_text("set")
    await expect(token.locator("legend")).not_to_contain_text("not set")
    await expect(token.get_by_label("Replace with")).to_have_value("")
    assert "EAAG-secret-access-token" not in await page.content()
    await accessible(page)
    await keep(page, "channel-settings")


async def test_a_settings_error_is_shown_next_to_its_field(
    desktop: Session, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.goto("/hotels/plaza/channels/email")
    await page.get_by_label("IMAP port").fill("70000")
    await page.get_by_role("button", name="Save settings").click()
    port = page.locator(".field", has=page.get_by_label("IMAP port"))
    await expect(port).to_contain_text("Too large.")
    await expect(page.get_by_label("IMAP port")).to_have_value("70000")
    await expect(page.get_by_label("IMAP port")).to_have_accessible_description(
        re.compile("Too large.")
    )
    await accessible(page)
    # The browser logs the 422 page it was shown: that answer is this test's point.
    assert desktop.errors == [UNPROCESSABLE_LOG]
    desktop.errors.clear()


async def test_the_pairing_qr_shows_live_and_goes_once_paired(
    desktop: Session, suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.goto("/hotels/plaza/channels/whatsapp")
    await page.get_by_label("Transport").select_option("linked")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(page.get_by_text("Live", exact=True)).to_be_visible()
    await page.evaluate("window.loadedOnce = true")
    # What the linked transport does while it pairs: the QR in its key, then the state,
    # through the bot's event and the suite's consumer to the page's live socket.
    keys = ChannelKeys(suite.redis, suite.names, "plaza", "whatsapp")
    await keys.set("qr", "2@first-code,abc,XYZ==")
    await publish(suite, ChannelStateChanged(channel="whatsapp", state=ChannelState.PAIRING))
    qr = page.get_by_role("img", name=re.compile("Pairing QR code"))
    await expect(qr).to_be_visible()
    await expect(page.get_by_text("Waiting to be paired")).to_be_visible()
    assert await qr.evaluate("image => image.naturalWidth") > 200
    first = await qr.get_attribute("src")
    await accessible(page)
    await keep(page, "channel-pairing")
    await keys.set("qr", "2@second-code,def,XYZ==")  # the phone's code rotates: no notice
    await expect(qr).not_to_have_attribute("src", first or "")
    await keys.delete("qr")
    await publish(suite, ChannelStateChanged(channel="whatsapp", state=ChannelState.RUNNING))
    await expect(qr).to_have_count(0)
    await expect(page.get_by_text("Running", exact=True)).to_be_visible()
    assert await page.evaluate("window.loadedOnce") is True


async def test_the_faq_is_edited_in_two_languages(desktop: Session, plaza: SeededHotel) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.get_by_role("link", name="Assistant").click()
    await page.get_by_label("Add a language").fill("es")
    await page.get_by_role("button", name="Add language").click()
    new = page.get_by_role("article", name="New entry")
    await new.get_by_label("Intent").fill("parking")
    english = new.get_by_role("group", name="English")
    await english.get_by_label("Keywords").fill("parking, car park")
    await english.get_by_label("Answer").fill("Parking is free for guests.")
    spanish = new.get_by_role("group", name="Spanish")
    await spanish.get_by_label("Keywords").fill("aparcamiento")
    await spanish.get_by_label("Answer").fill("El aparcamiento es gratis.")
    await new.get_by_role("button", name="Add entry").click()
    saved = page.get_by_role("status").filter(has_text="The FAQ entry is saved")
    await expect(saved).to_be_visible()
    entry = page.get_by_role("article", name="parking")
    await expect(entry.get_by_role("group", name="Spanish").get_by_label("Answer")).to_have_value(
        "El aparcamiento es gratis."
    )
    await (
        entry.get_by_role("group", name="English")
        .get_by_label("Answer")
        .fill("Parking is free, in the garage.")
    )
    await entry.get_by_role("button", name="Save entry").click()
    entry = page.get_by_role("article", name="parking")
    await expect(entry.get_by_role("group", name="English").get_by_label("Answer")).to_have_value(
        "Parking is free, in the garage."
    )
    await accessible(page)
    await keep(page, "assistant")


async def test_a_bot_token_is_shown_once(desktop: Session, plaza: SeededHotel) -> None:
    page = await desktop.page()
    await sign_in_as(page, "owner@plaza.test")
    await page.get_by_role("link", name="Team").click()
    await page.get_by_label("Name of the new bot token").fill("front desk bot")
    await page.get_by_role("button", name="Create bot token").click()
    shown = page.get_by_label("Token", exact=True)
    await expect(shown).to_have_value(re.compile("^bgb_"))
    secret = await shown.input_value()
    await expect(page.get_by_text("it is shown this once")).to_be_visible()
    await accessible(page)
    await keep(page, "team-token")
    await page.get_by_role("link", name="Team").click()
    await expect(page.get_by_role("cell", name="front desk bot")).to_be_visible()
    assert secret not in await page.content()
    await accessible(page)


async def test_operations_shows_the_bot_and_failed_deliveries(
    desktop: Session, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "manager@plaza.test")
    await page.get_by_role("link", name="Operations").click()
    await expect(page.get_by_text("provider said no")).to_be_visible()
    await accessible(page)
    await keep(page, "operations")
    await page.get_by_role("button", name=re.compile("^Retry")).click()
    await expect(page.get_by_text("Nothing failed.")).to_be_visible()


async def test_an_owner_invites_a_receptionist_who_joins_once(
    desktop: Session, browser: Browser, suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = await desktop.page()
    await sign_in_as(page, "owner@plaza.test")
    await page.goto("/hotels/plaza/team")
    await page.get_by_label("Email of the person to invite").fill("rosa@plaza.test")
    await page.get_by_label("Role", exact=True).select_option("agent")
    await page.get_by_role("button", name="Create invitation link").click()
    link_box = page.get_by_label("Invitation link")
    await expect(link_box).to_have_value(re.compile(r"/invitations/bgi_"))
    link = await link_box.input_value()
    invitations = page.get_by_role("region", name="Invitations")
    pending = invitations.get_by_role("row", name=re.compile("rosa@plaza.test"))
    await expect(pending).to_contain_text("Agent: works the inbox")
    await accessible(page)
    await keep(page, "team-invitation")

    invitee = await open_session(browser, suite)
    try:
        joining = await invitee.page()
        await joining.goto(link)
        await expect(joining.get_by_role("heading", name="Join Plaza")).to_be_visible()
        await accessible(joining)
        await joining.get_by_label("Your name").fill("Rosa Diaz")
        await joining.get_by_label("Choose a password").fill("a long enough password")
        await joining.get_by_role("button", name="Create my account and join").click()
        await expect(joining).to_have_url(re.compile(r"/hotels/plaza/inbox$"))
        await expect(joining.get_by_role("link", name=re.compile("Ana Lopez"))).to_be_visible()

        await joining.goto(link)
        heading = joining.get_by_role("heading", name="This invitation link does not work")
        await expect(heading).to_be_visible()
        await expect(joining.get_by_role("alert")).to_contain_text("It was used already")
        await expect(joining.get_by_role("button")).not_to_have_count(0)  # the language switch
        await expect(joining.get_by_label("Choose a password")).to_have_count(0)
        assert [e for e in invitee.errors if "410" not in e] == []
    finally:
        await invitee.context.close()

    await page.goto("/hotels/plaza/team")
    await expect(page.get_by_role("rowheader", name="Rosa Diaz")).to_be_visible()
    await expect(invitations.get_by_role("row", name=re.compile("rosa@plaza.test"))).to_have_count(
        0
    )
