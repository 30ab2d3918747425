"""The invitation link's page and the Team page's invitation forms, without JavaScript."""

from __future__ import annotations

import re

import pytest
from begasist_suite.store.records import Role

from tests.suite.api.seed import seed_hotel
from tests.suite.conftest import PASSWORD, RunningSuite, add_member
from tests.suite.web.conftest import form_token, post_form, sign_in

pytestmark = pytest.mark.anyio

TEAM = "/hotels/plaza/team"
LINK = re.compile(r'id="new-token" class="code" value="[^"]*(/invitations/[^"]+)"')


async def invite(suite: RunningSuite, email: str, role: str = "agent", by: str = "owner") -> str:
    """The path of a new invitation's link, made on the Team page by plaza's *by*."""
    async with suite.client() as client:
        await sign_in(client, f"{by}@plaza.test")
        answer = await post_form(client, TEAM, f"{TEAM}/invitations", email=email, role=role)
    assert answer.status_code == 200, answer.text[:300]
    found = LINK.search(answer.text)
    assert found is not None
    return found[1]


async def test_the_link_works_once_and_then_says_why_not(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    link = await invite(suite, "rosa@plaza.test")
    async with suite.client() as invitee:
        page = await invitee.get(link)
        assert page.status_code == 200
        assert "Join Plaza" in page.text
        forged = await invitee.post(link, data={"display_name": "R", "password": "x" * 12})
        assert forged.status_code == 403  # no form token: nothing made
        assert await suite.store.get_user_by_email("rosa@plaza.test") is None
        fields = {"display_name": "Rosa", "password": "x" * 12, "form_token": form_token(page)}
        joined = await invitee.post(link, data=fields)
        assert (joined.status_code, joined.headers["location"]) == (303, "/hotels/plaza/inbox")
        assert (await invitee.get("/hotels/plaza/inbox")).status_code == 200
        used = await invitee.get(link)
        again = await invitee.post(link, data=fields)
    for answer in (used, again):
        assert answer.status_code == 410
        assert "It was used already" in answer.text
        assert 'name="password"' not in answer.text


async def test_revoked_and_unknown_links_show_a_page_and_do_nothing(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    link = await invite(suite, "late@plaza.test", by="manager")
    (pending,) = [i for i in await suite.store.list_invitations("plaza") if i.email.startswith("l")]
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        revoked = await post_form(client, TEAM, f"{TEAM}/invitations/{pending.id}/revoke")
        assert revoked.status_code == 303
    async with suite.client() as invitee:
        page = await invitee.get(link)
        assert page.status_code == 410
        assert "It was revoked by the hotel" in page.text
        unknown = await invitee.get("/invitations/bgi_not-a-real-link")
        assert unknown.status_code == 404
        assert "There is no invitation at this address" in unknown.text


async def test_an_existing_account_signs_in_to_join(suite: RunningSuite) -> None:
    await seed_hotel(suite, "plaza")
    pablo = await add_member(suite.store, "sol", "pablo@sol.test", Role.OWNER)
    link = await invite(suite, "pablo@sol.test", role="manager")
    async with suite.client() as invitee:
        page = await invitee.get(link)
        assert "sign in to accept" in page.text
        assert 'name="display_name"' not in page.text
        wrong = await invitee.post(link, data={"password": "nope", "form_token": form_token(page)})
        assert wrong.status_code == 401
        assert await suite.store.get_membership("plaza", pablo.id) is None
        right = await invitee.post(
            link, data={"password": PASSWORD, "form_token": form_token(page)}
        )
        assert right.status_code == 303
    membership = await suite.store.get_membership("plaza", pablo.id)
    assert membership is not None
    assert membership.role is Role.MANAGER


async def test_a_manager_cannot_invite_above_their_role_and_an_agent_not_at_all(
    suite: RunningSuite,
) -> None:
    await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        await sign_in(client, "manager@plaza.test")
        page = await client.get(TEAM)
        assert (
            'value="owner">Owner' not in page.text.split('id="invite-role"')[1].split("</select")[0]
        )
        above = await post_form(client, TEAM, f"{TEAM}/invitations", email="a@b.test", role="owner")
        assert above.status_code == 403
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        page = await client.get(TEAM)
        assert "Create invitation link" not in page.text
        refused = await post_form(client, TEAM, f"{TEAM}/invitations", email="a@b.test")
        assert refused.status_code == 403
    assert {i.email for i in await suite.store.list_invitations("plaza")} == {"invited@plaza.test"}


async def test_guessing_links_on_the_page_is_throttled(suite: RunningSuite) -> None:
    async with suite.client() as client:
        statuses = [
            (await client.get(f"/invitations/bgi_guess-{n:04d}")).status_code
            for n in range(suite.settings.login_attempts + 1)
        ]
    assert statuses == [404] * suite.settings.login_attempts + [429]
