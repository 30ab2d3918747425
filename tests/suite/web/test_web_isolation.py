"""Tenant isolation of the web app's pages and forms: the API's matrix, for HTML.

The routes come from the app itself (every route outside ``/api``, the static
files, the schema and the webhooks), so a page added later is in the matrix
without anyone remembering to add it; a path parameter or a form the matrix
does not know how to fill fails the run instead of being skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from begasist_suite.store.records import Role
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.suite.api.seed import SeededHotel, seed_hotel
from tests.suite.api.test_tenant_isolation import GHOST_HOTEL, GHOST_IDS, snapshot
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.web.conftest import form_token, sign_in

pytestmark = pytest.mark.anyio

# /guest/: guests' sockets, no staff page; a visitor token opens one hotel's channel only
# (tests/suite/guest/test_socket.py checks it across hotels).
NOT_PAGES = ("/api/", "/schema", "/static", "/health", "/ready", "/webhooks/", "/guest/")
HOTEL_PREFIX = "/hotels/{hotel:str}/"
INVITATION_LINK = "/invitations/{token:str}"
OUTSIDE_HOTELS = {"/", "/login", "/logout", "/language", "/hotels", INVITATION_LINK}
"""Pages and forms that belong to no hotel (reviewed: none shows a hotel's data; the
invitation link's page shows its own invitation, to whoever holds its secret)."""
ADMIN_PREFIX = "/admin/"
"""The platform admin's pages: every hotel's, so nobody else reaches any of them."""
ADMIN_FORMS = {
    "/admin/hotels": {
        "slug": "intruder",
        "name": "Intruder",
        "default_language": "en",
        "timezone": "UTC",
    },
    "/admin/hotels/{hotel:str}/delete": {"confirm": "sol"},
    "/admin/users": {"email": "intruder@elsewhere.test", "password": "intruder-password"},
    "/admin/users/{user_id:str}/disabled": {"disabled": "true"},
    "/admin/users/{user_id:str}/admin": {"platform_admin": "true"},
    "/admin/users/{user_id:str}/memberships": {"hotel": "sol", "role": "owner"},
    "/admin/channel-apps/{channel:str}": {"app_secret": "intruder", "verify_token": "intruder"},
}
"""Each admin form's fields, valid enough that a platform admin's would succeed."""
FORMS = {
    "/hotels/{hotel:str}/channels/{channel:str}": {"mode": "manual", "webhook_secret": "intruder"},
    "/hotels/{hotel:str}/channels/{channel:str}/enabled": {"enabled": "false"},
    "/hotels/{hotel:str}/channels/{channel:str}/commands": {"command": "logout"},
    "/hotels/{hotel:str}/assistant": {"responder": "faq", "default_language": "es"},
    "/hotels/{hotel:str}/assistant/faq": {
        "intent": "intruder",
        "original": "",
        "answer.en": "from another hotel",
    },
    "/hotels/{hotel:str}/assistant/faq/remove": {"intent": "breakfast"},
    "/hotels/{hotel:str}/assistant/mode": {"channel": "demo", "mode": "automatic"},
    "/hotels/{hotel:str}/team/members/{user_id:str}/role": {"role": "owner"},
    "/hotels/{hotel:str}/team/members/{user_id:str}/remove": {},
    "/hotels/{hotel:str}/team/tokens": {"name": "intruder"},
    "/hotels/{hotel:str}/team/tokens/{token_id:str}/revoke": {},
    "/hotels/{hotel:str}/team/bot-tokens": {"name": "intruder"},
    "/hotels/{hotel:str}/team/bot-tokens/{token_id:str}/revoke": {},
    "/hotels/{hotel:str}/team/invitations": {"email": "intruder@elsewhere.test", "role": "agent"},
    "/hotels/{hotel:str}/team/invitations/{invitation_id:str}/revoke": {},
    "/hotels/{hotel:str}/operations/dead-letters/{dead_id:str}/retry": {},
    "/hotels/{hotel:str}/conversations/{conversation_id:str}/reply": {"text": "from elsewhere"},
    "/hotels/{hotel:str}/conversations/{conversation_id:str}/assign": {"to": "me"},
    "/hotels/{hotel:str}/conversations/{conversation_id:str}/status": {"status": "resolved"},
    "/hotels/{hotel:str}/drafts/{draft_id:str}/approve": {"action": "edit", "text": "intruder"},
    "/hotels/{hotel:str}/drafts/{draft_id:str}/reject": {},
    "/hotels/{hotel:str}/conversations/{conversation_id:str}/mode": {"mode": "manual"},
    "/hotels/{hotel:str}/conversations/{conversation_id:str}/template": {
        "template": "booking_follow_up:es",
        "parameter": "intruder",
    },
    "/hotels/{hotel:str}/guests/{guest_id:str}/mode": {"mode": "manual"},
    "/hotels/{hotel:str}/guests/{guest_id:str}/name": {"display_name": "intruder"},
    "/hotels/{hotel:str}/guests/{guest_id:str}/identities": {
        "channel": "email",
        "address": "intruder@elsewhere.test",
    },
}
"""Each form's fields, valid enough that only the hotel check can stop them."""
OBJECT_PARAMETERS = (
    "conversation_id",
    "draft_id",
    "guest_id",
    "user_id",
    "token_id",
    "dead_id",
    "invitation_id",
)
"""Path parameters naming one hotel's object: filled with the other hotel's ids too."""
NO_LINK = "bgi_a-link-nobody-was-given"
_PARAMETER = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Page:
    method: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, str]) -> str:
        return _PARAMETER.sub(lambda match: values[match[1]], self.path)


def web_routes(app: Litestar) -> list[Page]:
    """Every method of every page route; fails on what the matrix cannot fill."""
    pages = []
    for route in app.routes:
        if route.path.startswith(NOT_PAGES) or route.path in ("/schema",):
            continue
        if not isinstance(route, HTTPRoute):
            pytest.fail(f"{route.path}: a {type(route).__name__} page the matrix cannot call")
        unknown = set(route.path_parameters) - {"hotel", "channel", "token", *OBJECT_PARAMETERS}
        if unknown:
            pytest.fail(f"{route.path}: the matrix cannot fill {sorted(unknown)}")
        admin = route.path.startswith(ADMIN_PREFIX)
        outside = not route.path.startswith(HOTEL_PREFIX) and route.path not in OUTSIDE_HOTELS
        if outside and not admin:
            pytest.fail(f"{route.path}: a page outside /hotels/{{hotel}}/ must be reviewed")
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                in_hotel = route.path.startswith(HOTEL_PREFIX)
                if method == "POST" and in_hotel and route.path not in FORMS:
                    pytest.fail(f"POST {route.path}: add its fields to FORMS")
                if method == "POST" and admin and route.path not in ADMIN_FORMS:
                    pytest.fail(f"POST {route.path}: add its fields to ADMIN_FORMS")
                pages.append(Page(method, route.path))
    return pages


def values(hotel: str, objects: SeededHotel | None) -> dict[str, str]:
    if objects is None:
        return {"hotel": hotel, "channel": "demo", "token": NO_LINK, **GHOST_IDS}
    return {
        "hotel": hotel,
        "channel": "demo",
        "token": NO_LINK,
        "invitation_id": objects.invitation_id,
        "conversation_id": objects.conversation.id,
        "draft_id": objects.draft.id,
        "guest_id": objects.guest.id,
        "user_id": objects.members[Role.AGENT].id,
        "token_id": objects.bot_token_id,
        "dead_id": objects.dead_id,
    }


async def ask(client: httpx.AsyncClient, page: Page, url: str, token: str) -> tuple[int, str]:
    """The status and the page, the URL asked for masked (the sign-in form echoes it)."""
    if page.method == "GET":
        answer = await client.get(url)
    else:
        fields = {"form_token": token, **{**FORMS, **ADMIN_FORMS}[page.path]}
        answer = await client.post(url, data=fields)
    return answer.status_code, answer.text.replace(url, "<url>")


@pytest.mark.parametrize("role", list(Role))
async def test_no_page_or_form_reaches_another_hotel(suite: RunningSuite, role: Role) -> None:
    plaza, sol = await seed_hotel(suite, "plaza"), await seed_hotel(suite, "sol")
    in_hotels = [p for p in web_routes(suite.app) if p.path.startswith(HOTEL_PREFIX)]
    problems: list[str] = []
    before = await snapshot(suite, sol)
    async with suite.client() as client:
        await sign_in(client, f"{role.value}@plaza.test")
        token = form_token(await client.get("/hotels/plaza/inbox"))
        for page in in_hotels:
            cases = [("hotel=sol", values("sol", sol), values(GHOST_HOTEL, None), {404})]
            if any("{" + name in page.path for name in OBJECT_PARAMETERS):
                # 403 passes only when a missing id gets the same 403: plaza's rule, no leak.
                theirs, nothing = values("plaza", sol), values("plaza", None)
                cases.append(("plaza with sol's ids", theirs, nothing, {403, 404}))
            for label, theirs, nothing, refusals in cases:
                answer = await ask(client, page, page.url(theirs), token)
                missing = await ask(client, page, page.url(nothing), token)
                if answer[0] not in refusals or answer != missing:
                    problems.append(f"{page.name} {label}: {answer[0]} vs {missing[0]}")
            after = await snapshot(suite, sol)
            if after != before:
                problems.append(
                    f"{page.name} changed sol's {[k for k in before if before[k] != after[k]]}"
                )
                before = after
        own = await client.get(f"/hotels/plaza/conversations/{plaza.conversation.id}")
    assert own.status_code == 200
    assert not problems, "\n".join(problems)


async def test_the_matrix_sees_every_page(suite: RunningSuite) -> None:
    """Guards the enumeration: were it to find nothing, the matrix would pass on nothing."""
    names = {page.name for page in web_routes(suite.app)}
    assert {
        "GET /hotels/{hotel:str}/inbox",
        "GET /hotels/{hotel:str}/conversations/{conversation_id:str}",
        "GET /hotels/{hotel:str}/channels",
        "GET /hotels/{hotel:str}/channels/{channel:str}",
        "GET /hotels/{hotel:str}/channels/{channel:str}/qr.svg",
        "GET /hotels/{hotel:str}/assistant",
        "GET /hotels/{hotel:str}/team",
        "GET /hotels/{hotel:str}/operations",
        *(f"POST {path}" for path in FORMS),
        "GET /login",
        "POST /login",
        f"GET {INVITATION_LINK}",
        f"POST {INVITATION_LINK}",
        "POST /logout",
        "POST /language",
        "GET /",
        "GET /hotels",
        "GET /admin/hotels",
        "GET /admin/hotels/{hotel:str}/delete",
        "GET /admin/users",
        "GET /admin/users/{user_id:str}",
        "GET /admin/channel-apps",
        "GET /admin/channel-apps/{channel:str}",
        *(f"POST {path}" for path in ADMIN_FORMS),
    } == names


async def test_signed_out_every_hotel_page_goes_to_sign_in(suite: RunningSuite) -> None:
    plaza = await seed_hotel(suite, "plaza")
    async with suite.client() as client:
        for page in web_routes(suite.app):
            if not page.path.startswith((HOTEL_PREFIX, ADMIN_PREFIX)):
                continue
            status, _ = await ask(client, page, page.url(values("plaza", plaza)), "")
            assert status == 303, page.name


async def test_a_platform_admin_sees_both_hotels(suite: RunningSuite) -> None:
    plaza, sol = await seed_hotel(suite, "plaza"), await seed_hotel(suite, "sol")
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    async with suite.client() as client:
        await sign_in(client, "root@platform.test")
        for hotel in (plaza, sol):
            page = await client.get(f"/hotels/{hotel.slug}/conversations/{hotel.conversation.id}")
            assert page.status_code == 200
            assert hotel.draft.text in page.text


async def admin_snapshot(suite: RunningSuite) -> dict[str, object]:
    """What an admin page or form could change: hotels, people, memberships, provider apps."""
    store = suite.store
    return {
        "hotels": await store.list_hotels(),
        "users": await store.list_users(),
        "memberships": await store.list_memberships(),
        "whatsapp app": await store.get_channel_app("whatsapp"),
    }


@pytest.mark.parametrize("role", list(Role))
async def test_only_a_platform_admin_reaches_the_admin_pages(
    suite: RunningSuite, role: Role
) -> None:
    """Every admin page and form answers 403 to the members of a hotel, its owners too,
    and changes nothing; the same requests by a platform admin work (so the values
    used are ones that would succeed)."""
    await seed_hotel(suite, "plaza")
    sol = await seed_hotel(suite, "sol")
    # Another person's id and a channel with an app: what a missing check would let through.
    filled = {**values("sol", sol), "channel": "whatsapp"}
    admin_pages = [p for p in web_routes(suite.app) if p.path.startswith(ADMIN_PREFIX)]
    assert admin_pages, "no admin page found: the check would pass on nothing"
    before = await admin_snapshot(suite)
    problems = []
    async with suite.client() as client:
        await sign_in(client, f"{role.value}@plaza.test")
        token = form_token(await client.get("/hotels/plaza/inbox"))
        for page in admin_pages:
            status, _ = await ask(client, page, page.url(filled), token)
            if status != 403:
                problems.append(f"{page.name}: {status}")
        inbox = await client.get("/hotels/plaza/inbox")
    assert "/admin/" not in inbox.text  # no link to them either
    assert await admin_snapshot(suite) == before
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    async with suite.client() as client:
        await sign_in(client, "root@platform.test")
        for page in admin_pages:
            if page.method == "GET":
                answer = await client.get(page.url(filled))
                if answer.status_code != 200:
                    problems.append(f"{page.name} as a platform admin: {answer.status_code}")
    assert not problems, "\n".join(problems)
