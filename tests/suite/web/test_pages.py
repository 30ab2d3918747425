"""The web app over HTTP, as a browser without JavaScript uses it: forms, redirects, headers."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from begasist_core import GuestIdentity
from begasist_suite.auth.credentials import digest
from begasist_suite.store.records import DraftStatus, Role
from begasist_suite.web.security import CONTENT_SECURITY_POLICY

from tests.suite.api.seed import SeededHotel, inbound_message, seed_hotel
from tests.suite.conftest import RunningSuite, outbox_drained
from tests.suite.web.conftest import form_token, post_form, sign_in

pytestmark = pytest.mark.anyio

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


def conversation_page(hotel: SeededHotel) -> str:
    return f"/hotels/{hotel.slug}/conversations/{hotel.conversation.id}"


async def test_pages_carry_the_security_headers_and_no_inline_code(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        pages = [await client.get("/login"), await client.get("/")]
        await sign_in(client, "agent@plaza.test")
        pages += [
            await client.get("/hotels/plaza/inbox"),
            await client.get(conversation_page(plaza)),
            await client.get("/hotels/ghost/inbox"),
            await client.get("/hotels"),
        ]
        script = await client.get("/static/live.js")
        style = await client.get("/static/app.css")
    for page in pages:
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, page.url
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert not INLINE_SCRIPT.search(page.text), page.url
        assert not INLINE_STYLE.search(page.text), page.url
        assert "http://" not in page.text, page.url
        assert "https://" not in page.text, page.url
    assert script.status_code == style.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["x-content-type-options"] == "nosniff"


async def test_home_sends_to_sign_in_then_to_the_inbox(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        assert (await client.get("/")).headers["location"] == "/login"
        signed = await sign_in(client, "agent@plaza.test")
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        home = await client.get("/")
        assert home.headers["location"] == "/hotels/plaza/inbox"
        inbox = await client.get("/hotels/plaza/inbox")
    assert inbox.status_code == 200
    assert "Ana Lopez" in inbox.text
    assert "Is breakfast included?" in inbox.text
    assert "Draft to approve" in inbox.text


async def test_a_wrong_password_is_shown_and_the_login_limit_holds(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        wrong = await sign_in(client, "agent@plaza.test", "not the password")
        assert wrong.status_code == 401
        assert "Wrong email or password." in wrong.text
        assert 'value="agent@plaza.test"' in wrong.text
        for _ in range(suite.settings.login_attempts):
            answer = await sign_in(client, "agent@plaza.test", "still wrong")
        assert answer.status_code == 429
        assert int(answer.headers["retry-after"]) > 0
        assert "Too many attempts" in answer.text
        # Even the right password waits out the window, as with the API.
        assert (await sign_in(client, "agent@plaza.test")).status_code == 429
        # The API's throttle counts the (email, address) pair: someone guessing one account
        # does not lock the others out of this address.
        assert (await sign_in(client, "manager@plaza.test")).status_code == 303


async def test_the_sign_in_form_needs_its_own_token(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client() as client:
        forged = await client.post(
            "/login",
            data={"email": "agent@plaza.test", "password": "x", "form_token": "forged"},
        )
    assert forged.status_code == 403
    assert "begasist_session" not in forged.headers.get("set-cookie", "")


async def test_an_expired_session_returns_to_the_page_it_wanted(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    wanted = conversation_page(plaza) + "?view=mine&status=open"
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        session = client.cookies["begasist_session"]
        await suite.store.delete_credential(digest(session))
        bounced = await client.get(wanted)
        assert bounced.status_code == 303
        location = bounced.headers["location"]
        assert urlsplit(location).path == "/login"
        assert parse_qs(urlsplit(location).query)["next"] == [wanted]
        login_page = await client.get(location)
        assert f'name="next" value="{wanted.replace("&", "&amp;")}"' in login_page.text
        again = await sign_in(client, "agent@plaza.test", next_page=wanted)
    assert again.headers["location"] == wanted


@pytest.mark.parametrize(
    "target", ["//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)", "x"]
)
async def test_sign_in_never_sends_to_another_site(
    suite: RunningSuite, plaza: SeededHotel, target: str
) -> None:
    async with suite.client() as client:
        answer = await sign_in(client, "agent@plaza.test", next_page=target)
        page = await client.get(f"/login?next={target}")
    assert answer.headers["location"] == "/"
    assert page.headers["location"] == "/hotels/plaza/inbox"


async def test_sign_out_ends_the_session(suite: RunningSuite, plaza: SeededHotel) -> None:
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        session = client.cookies["begasist_session"]
        out = await post_form(client, "/hotels/plaza/inbox", "/logout")
        assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert await suite.store.get_credential(digest(session)) is None


async def test_forms_without_the_session_token_change_nothing(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = conversation_page(plaza)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        for token in ("", "wrong"):
            answer = await client.post(
                f"{page}/reply", data={"form_token": token, "text": "forged reply"}
            )
            assert answer.status_code == 403
            assert "Not allowed" in answer.text
        other_site = await client.post(f"{page}/reply", data={"text": "no token at all"})
        assert other_site.status_code == 403
        logout = await client.post("/logout", data={"form_token": "wrong"})
        assert logout.status_code == 403
    messages = await suite.store.list_messages("plaza", plaza.conversation.id)
    assert [m.text for m in messages.items] == ["Is breakfast included?"]
    assert await suite.store.get_credential(digest(client.cookies["begasist_session"]))


async def test_a_staff_reply_is_stored_queued_and_shown(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    page = conversation_page(plaza)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        sent = await post_form(client, page, f"{page}/reply", text="We open at 7", back=page)
        assert (sent.status_code, sent.headers["location"]) == (303, page)
        shown = await client.get(page)
    messages = (await suite.store.list_messages("plaza", plaza.conversation.id)).items
    assert messages[-1].text == "We open at 7"
    await outbox_drained(suite)
    outbound = await suite.redis.xrange(suite.names.outbound("plaza"))
    assert len(outbound) == 1
    assert "We open at 7" in shown.text
    assert "Queued" in shown.text


async def test_draft_approve_edit_and_reject(suite: RunningSuite, plaza: SeededHotel) -> None:
    page = conversation_page(plaza)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        approved = await post_form(
            client,
            page,
            f"/hotels/plaza/drafts/{plaza.draft.id}/approve",
            action="approve",
            text="ignored: approve sends the draft as it is",
        )
        assert approved.headers["location"] == page
        again = await post_form(
            client, page, f"/hotels/plaza/drafts/{plaza.draft.id}/approve", action="approve"
        )
        shown = await client.get(page)
    assert again.status_code == 409
    draft = await suite.store.get_draft("plaza", plaza.draft.id)
    assert draft is not None
    assert draft.status is DraftStatus.SENT
    assert draft.text == plaza.draft.text
    assert "Assistant, approved by agent@plaza.test" in shown.text
    assert "The assistant proposes" not in shown.text

    second = await suite.store.record_inbound(inbound_message("plaza", "plaza-p2", text="Pets?"))
    third = await suite.store.record_inbound(inbound_message("plaza", "plaza-p3", text="Gym?"))
    for recorded in (second, third):
        await suite.store.add_draft(
            plaza.draft.model_copy(
                update={"id": f"{recorded.message.id}-draft", "message_id": recorded.message.id}
            )
        )
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        await post_form(
            client,
            page,
            f"/hotels/plaza/drafts/{second.message.id}-draft/approve",
            action="edit",
            text="Pets are welcome.",
        )
        await post_form(client, page, f"/hotels/plaza/drafts/{third.message.id}-draft/reject")
    edited = await suite.store.get_draft("plaza", f"{second.message.id}-draft")
    rejected = await suite.store.get_draft("plaza", f"{third.message.id}-draft")
    assert edited is not None
    assert edited.text == "Pets are welcome."
    assert rejected is not None
    assert rejected.status is DraftStatus.REJECTED
    sent = (await suite.store.list_messages("plaza", plaza.conversation.id)).items
    assert [m.text for m in sent if m.direction.value == "outbound"] == [
        plaza.draft.text,
        "Pets are welcome.",
    ]


async def test_assign_resolve_and_the_tabs(suite: RunningSuite, plaza: SeededHotel) -> None:
    page = conversation_page(plaza)
    agent = plaza.members[Role.AGENT]
    async with suite.client() as client:
        await sign_in(client, agent.email)
        assert (
            "Nothing is assigned to you" in (await client.get("/hotels/plaza/inbox?view=mine")).text
        )
        await post_form(client, page, f"{page}/assign", to="me")
        mine = await client.get("/hotels/plaza/inbox?view=mine")
        unassigned = await client.get("/hotels/plaza/inbox?view=unassigned")
        assert "Ana Lopez" in mine.text
        assert "Ana Lopez" not in unassigned.text
        assert "Unassign" in (await client.get(page)).text
        await post_form(client, page, f"{page}/status", status="resolved")
        assert "Ana Lopez" not in (await client.get("/hotels/plaza/inbox")).text
        assert "Ana Lopez" in (await client.get("/hotels/plaza/inbox?status=resolved")).text
        await post_form(client, page, f"{page}/status", status="open")
        await post_form(client, page, f"{page}/assign", to="nobody")
    stored = await suite.store.get_conversation("plaza", plaza.conversation.id)
    assert stored is not None
    assert (stored.assignee, stored.status.value) == (None, "open")


async def test_the_inbox_pages_with_a_cursor_and_filters_by_channel(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    for n in range(60):
        await suite.store.record_inbound(
            inbound_message("plaza", f"bulk-{n}", address=f"+3470000{n:04d}", text=f"msg {n}")
        )
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        first = await client.get("/hotels/plaza/inbox")
        older = re.search(r'href="([^"]*cursor=[^"]*)"', first.text)
        assert older is not None
        second = await client.get(older[1].replace("&amp;", "&"))
        other_channel = await client.get("/hotels/plaza/inbox?channel=email")
    rows = re.compile(r'class="guest"')
    assert len(rows.findall(first.text)) == 50
    assert len(rows.findall(second.text)) == 11
    assert "No conversations here." in other_channel.text


async def test_what_guests_write_is_escaped(suite: RunningSuite, plaza: SeededHotel) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    message = inbound_message("plaza", "evil-1", address="+34999", text=evil)
    message = message.model_copy(
        update={"guest": GuestIdentity(channel="demo", address="+34999", display_name=evil)}
    )
    recorded = await suite.store.record_inbound(message)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        pages = [
            await client.get("/hotels/plaza/inbox"),
            await client.get(f"/hotels/plaza/conversations/{recorded.conversation.id}"),
        ]
    for page in pages:
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_language_from_the_browser_then_chosen_and_remembered(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    async with suite.client(headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"}) as client:
        login = await client.get("/login")
        assert "Iniciar sesión" in login.text
        assert '<html lang="es">' in login.text
        chosen = await client.post(
            "/language", data={"lang": "en", "next": "/login", "form_token": form_token(login)}
        )
        assert chosen.headers["location"] == "/login"
        assert "Sign in" in (await client.get("/login")).text
        await sign_in(client, "agent@plaza.test")
        switched = await post_form(
            client, "/hotels/plaza/inbox", "/language", lang="es", next="/hotels/plaza/inbox"
        )
        assert switched.headers["location"] == "/hotels/plaza/inbox"
        inbox = await client.get("/hotels/plaza/inbox")
    assert "Borrador por aprobar" in inbox.text
    assert "Sin asignar" in inbox.text


async def test_a_hotel_that_is_not_yours_looks_like_one_that_does_not_exist(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    sol = await seed_hotel(suite, "sol")
    async with suite.client() as client:
        await sign_in(client, "owner@plaza.test")
        not_mine = await client.get("/hotels/sol/inbox")
        ghost = await client.get("/hotels/ghost/inbox")
        sol_conversation = await client.get(f"/hotels/plaza/conversations/{sol.conversation.id}")
        hotels = await client.get("/hotels")
    assert not_mine.status_code == ghost.status_code == sol_conversation.status_code == 404
    assert not_mine.text.replace("/hotels/sol/", "/hotels/ghost/") == ghost.text
    assert ">Sol<" not in hotels.text
    assert "/hotels/sol/" not in hotels.text
