"""The platform admin's pages over HTTP: hotels, users and channel apps, without JavaScript."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from begasist_suite.store.records import Hotel, Role

from tests.suite.api.seed import seed_hotel
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.web.conftest import form_token, post_form, sign_in

pytestmark = pytest.mark.anyio

ADMIN = "root@platform.test"


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    """A platform admin signed in (plaza exists: add_member made it)."""
    await add_member(suite.store, "plaza", ADMIN, None, platform_admin=True)
    async with suite.client() as client:
        assert (await sign_in(client, ADMIN)).status_code == 303
        yield client


async def test_the_top_bar_links_the_admin_pages_for_admins_only(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    await add_member(suite.store, "plaza", "owner@plaza.test", Role.OWNER)
    page = await admin.get("/hotels")
    # Twice: the desktop row and the phone's Menu.
    assert page.text.count('href="/admin/users"') == 2
    async with suite.client() as owner:
        await sign_in(owner, "owner@plaza.test")
        assert "/admin/" not in (await owner.get("/hotels/plaza/inbox")).text


async def test_an_admin_creates_a_hotel_with_its_language_and_zone(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    answer = await post_form(
        admin,
        "/admin/hotels",
        "/admin/hotels",
        slug="mar",
        name="Hotel Mar",
        default_language="es",
        timezone="Atlantic/Canary",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/hotels?done=created"
    hotel = await suite.store.get_hotel("mar")
    assert hotel is not None
    assert (hotel.name, hotel.default_language, hotel.timezone) == (
        "Hotel Mar",
        "es",
        "Atlantic/Canary",
    )
    listed = await admin.get("/admin/hotels")
    assert "Hotel Mar" in listed.text


async def test_a_hotel_form_with_errors_says_so_next_to_each_field(
    admin: httpx.AsyncClient,
) -> None:
    answer = await post_form(
        admin,
        "/admin/hotels",
        "/admin/hotels",
        slug="Not A Slug",
        name="",
        default_language="es",
        timezone="Mars/Olympus",
    )
    assert answer.status_code == 422
    for field in ("hotel-slug", "hotel-name", "hotel-timezone"):
        assert f'aria-describedby="{field}-errors"' in answer.text, field
    assert "hotel-language-errors" not in answer.text
    assert 'value="Not A Slug"' in answer.text  # what was typed is kept


async def test_a_taken_slug_is_a_field_error(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    answer = await post_form(
        admin,
        "/admin/hotels",
        "/admin/hotels",
        slug="plaza",
        name="Again",
        default_language="en",
        timezone="UTC",
    )
    assert answer.status_code == 409
    assert 'aria-describedby="hotel-slug-errors"' in answer.text


async def test_the_hotel_list_pages(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    for number in range(60):
        await suite.store.create_hotel(Hotel(slug=f"h{number:02d}", name=f"Hotel {number:02d}"))
    first = await admin.get("/admin/hotels")
    more = re.search(r'href="(/admin/hotels\?cursor=[^"]+)"', first.text)
    assert more is not None
    second = await admin.get(more[1].replace("&amp;", "&"))
    # The rows (the top bar's switcher lists every hotel on every page).
    assert "<code>h00</code>" in first.text
    assert "<code>h49</code>" in first.text
    assert "<code>h50</code>" not in first.text
    assert "<code>h00</code>" not in second.text
    assert "<code>h59</code>" in second.text
    assert "<code>plaza</code>" in second.text


async def test_deleting_a_hotel_needs_its_slug_typed(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    await seed_hotel(suite, "sol")
    confirm = "/admin/hotels/sol/delete"
    wrong = await post_form(admin, confirm, confirm, confirm="plaza")
    assert wrong.status_code == 422
    assert await suite.store.get_hotel("sol") is not None
    right = await post_form(admin, confirm, confirm, confirm="sol")
    assert right.status_code == 303
    assert await suite.store.get_hotel("sol") is None
    assert await suite.store.list_memberships(hotel="sol") == []


async def test_an_admin_creates_users_with_or_without_a_password(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    made = await post_form(
        admin,
        "/admin/users",
        "/admin/users",
        email="Ana@Plaza.test",
        display_name="Ana",
        password="long enough",
    )
    assert made.status_code == 303
    ana = await suite.store.get_user_by_email("ana@plaza.test")
    assert ana is not None
    assert ana.password_hash is not None
    assert made.headers["location"] == f"/admin/users/{ana.id}?done=created"
    async with suite.client() as client:
        assert (await sign_in(client, "ana@plaza.test", "long enough")).status_code == 303
    none = await post_form(admin, "/admin/users", "/admin/users", email="bot@plaza.test")
    assert none.status_code == 303
    robot = await suite.store.get_user_by_email("bot@plaza.test")
    assert robot is not None
    assert robot.password_hash is None
    short = await post_form(
        admin, "/admin/users", "/admin/users", email="not-an-email", password="short"
    )
    assert short.status_code == 422
    assert 'aria-describedby="user-email-errors"' in short.text
    assert 'aria-describedby="user-password-errors"' in short.text
    again = await post_form(admin, "/admin/users", "/admin/users", email="ana@plaza.test")
    assert again.status_code == 409


async def test_disabling_a_user_refuses_their_session_until_enabled(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    agent = await add_member(suite.store, "plaza", "agent@plaza.test", Role.AGENT)
    page = f"/admin/users/{agent.id}"
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        assert (await client.get("/hotels/plaza/inbox")).status_code == 200
        answer = await post_form(admin, page, f"{page}/disabled", disabled="true")
        assert answer.headers["location"] == f"{page}?done=disabled"
        refused = await client.get("/hotels/plaza/inbox")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/login")
        await post_form(admin, page, f"{page}/disabled", disabled="false")
        assert (await client.get("/hotels/plaza/inbox")).status_code == 200


async def test_admin_rights_are_granted_and_revoked_never_ones_own(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    agent = await add_member(suite.store, "plaza", "agent@plaza.test", Role.AGENT)
    page = f"/admin/users/{agent.id}"
    await post_form(admin, page, f"{page}/admin", platform_admin="true")
    granted = await suite.store.get_user(agent.id)
    assert granted is not None
    assert granted.platform_admin
    await post_form(admin, page, f"{page}/admin", platform_admin="false")
    revoked = await suite.store.get_user(agent.id)
    assert revoked is not None
    assert not revoked.platform_admin
    me = await suite.store.get_user_by_email(ADMIN)
    assert me is not None
    own = f"/admin/users/{me.id}"
    token = form_token(await admin.get(own))
    for target, fields in (
        (f"{own}/admin", {"platform_admin": "false"}),
        (f"{own}/disabled", {"disabled": "true"}),
    ):
        answer = await admin.post(target, data={"form_token": token, **fields})
        assert answer.status_code == 403, target
    still = await suite.store.get_user(me.id)
    assert still is not None
    assert still.platform_admin
    assert not still.disabled


async def test_an_admin_adds_a_user_to_a_hotel_with_a_role(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    await seed_hotel(suite, "sol")
    agent = await add_member(suite.store, "plaza", "agent@plaza.test", Role.AGENT)
    page = f"/admin/users/{agent.id}"
    answer = await post_form(admin, page, f"{page}/memberships", hotel="sol", role="manager")
    assert answer.status_code == 303
    membership = await suite.store.get_membership("sol", agent.id)
    assert membership is not None
    assert membership.role is Role.MANAGER
    nowhere = await post_form(admin, page, f"{page}/memberships", hotel="atlantis", role="agent")
    assert nowhere.status_code == 422


async def test_the_whatsapp_app_settings_keep_secrets_write_only(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    apps = await admin.get("/admin/channel-apps")
    assert 'href="/admin/channel-apps/whatsapp"' in apps.text
    page = "/admin/channel-apps/whatsapp"
    first = await admin.get(page)
    assert f'value="{suite.url}/webhooks/_app/whatsapp"' in first.text
    assert first.text.count("not set") >= 2
    saved = await post_form(
        admin, page, page, app_secret="the-app-secret-123", verify_token="the-verify-token-123"
    )
    assert saved.status_code == 303
    shown = await admin.get(page)
    assert "the-app-secret-123" not in shown.text
    assert "the-verify-token-123" not in shown.text
    assert 'class="set"' in shown.text
    assert 'class="unset"' not in shown.text
    stored = await suite.store.get_channel_app("whatsapp")
    assert stored is not None
    assert set(stored.secrets) == {"app_secret", "verify_token"}
    # A typed box replaces its secret, a blank one keeps the stored one.
    replaced = await post_form(admin, page, page, app_secret="a-new-app-secret")
    assert replaced.status_code == 303
    kept = await suite.store.get_channel_app("whatsapp")
    assert kept is not None
    assert set(kept.secrets) == {"app_secret", "verify_token"}
    assert kept.secrets["app_secret"] != stored.secrets["app_secret"]
    assert kept.secrets["verify_token"] == stored.secrets["verify_token"]
    # Clearing a required secret is refused next to its field, and nothing changes.
    cleared = await post_form(admin, page, page, **{"verify_token.clear": "on"})
    assert cleared.status_code == 422
    assert 'id="f-verify_token-errors"' in cleared.text
    assert await suite.store.get_channel_app("whatsapp") == kept


async def test_an_app_settings_error_is_shown_next_to_its_field(
    admin: httpx.AsyncClient,
) -> None:
    page = "/admin/channel-apps/whatsapp"
    answer = await post_form(admin, page, page, app_secret="only-the-secret")
    assert answer.status_code == 422
    assert 'id="f-verify_token-errors"' in answer.text
    assert 'id="f-app_secret-errors"' not in answer.text
    assert "only-the-secret" not in answer.text
    # A channel without a shared callback URL has no app page.
    assert (await admin.get("/admin/channel-apps/demo")).status_code == 404
