"""Tenant isolation: over every route, two hotels and each role, another hotel's objects answer 404.

The routes come from the app itself, so a route added later is in the matrix
without anyone remembering to add it; a path parameter or a request body the
matrix does not know how to fill fails the run instead of being skipped.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from begasist_core import DeadLetters, new_id
from begasist_suite.store.records import CredentialKind, Role
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.suite.api.seed import DEMO, SeededHotel, bearer, personal_token, seed_hotel
from tests.suite.conftest import RunningSuite, add_member, outbox_drained

pytestmark = pytest.mark.anyio

API = "/api/v1"
HOTEL_PREFIX = f"{API}/hotels/{{hotel:str}}"
BOT_PREFIX = f"{HOTEL_PREFIX}/bot/"
LOGIN = f"{API}/auth/login"
GHOST_HOTEL = "ghost"
UNCHECKED_METHODS = frozenset({"OPTIONS", "HEAD"})
"""Litestar's automatic OPTIONS answer is the same for every path and carries no data."""

OBJECT_PARAMETERS = (
    "conversation_id",
    "draft_id",
    "guest_id",
    "user_id",
    "token_id",
    "dead_id",
    "media_key",
    "invitation_id",
)
"""Path parameters naming one hotel's object: filled with the other hotel's ids."""

NAME_PARAMETERS = {"channel": DEMO, "token": "bgi_a-link-nobody-was-given"}
"""Path parameters naming something every hotel has its own of (or, ``token``, an
invitation link's secret: the public routes outside any hotel)."""
PUBLIC = {LOGIN, f"{API}/invitations/{{token:str}}", f"{API}/invitations/{{token:str}}/accept"}
"""Routes that answer without an account (an invitation link is its own credential)."""

GHOST_IDS = {
    "conversation_id": new_id(),
    "draft_id": f"{new_id()}-draft",
    "guest_id": new_id(),
    "user_id": new_id(),
    "token_id": new_id(),
    "dead_id": "1-1",
    "media_key": "0" * 64,
    "invitation_id": new_id(),
}
"""Ids nothing has: what a caller sees for them is what "does not exist" looks like."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    # Each reaches as deep as the lowest role may go, so the hotel check is what stops it.
    ("POST", LOGIN): {"email": "nobody@nowhere.test", "password": "wrong"},
    ("POST", f"{API}/hotels"): {"slug": "newhotel", "name": "New hotel"},
    ("POST", f"{API}/me/tokens"): {"name": "matrix"},
    ("POST", f"{API}/invitations/{{token:str}}/accept"): {"password": "matrix password"},
    ("POST", f"{HOTEL_PREFIX}/invitations"): {"email": "intruder@elsewhere.test"},
    ("PUT", f"{API}/channel-apps/{{channel:str}}"): {"app_secret": "x", "verify_token": "y"},
    ("PATCH", HOTEL_PREFIX): {"name": "Renamed by another hotel"},
    ("PUT", f"{HOTEL_PREFIX}/members/{{user_id:str}}"): {"role": "owner"},
    ("POST", f"{HOTEL_PREFIX}/bot-tokens"): {"name": "intruder"},
    ("PUT", f"{HOTEL_PREFIX}/channels/{{channel:str}}"): {"webhook_secret": "intruder-secret"},
    ("PATCH", f"{HOTEL_PREFIX}/channels/{{channel:str}}"): {"webhook_secret": "intruder-secret"},
    ("POST", f"{HOTEL_PREFIX}/channels/{{channel:str}}/commands"): {"command": "logout"},
    ("PATCH", f"{HOTEL_PREFIX}/conversations/{{conversation_id:str}}"): {
        "status": "resolved",
        "assignee": "intruder",
    },
    ("POST", f"{HOTEL_PREFIX}/conversations/{{conversation_id:str}}/messages"): {
        "text": "a reply from another hotel"
    },
    ("POST", f"{HOTEL_PREFIX}/drafts/{{draft_id:str}}/approve"): {"text": "edited elsewhere"},
    ("PATCH", f"{HOTEL_PREFIX}/guests/{{guest_id:str}}"): {"display_name": "Renamed"},
    ("POST", f"{HOTEL_PREFIX}/guests/{{guest_id:str}}/identities"): {
        "channel": DEMO,
        "address": "+15550000000",
    },
}

_PARAMETER = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """Litestar's template: ``/api/v1/hotels/{hotel:str}/guests/{guest_id:str}``."""
    parameters: frozenset[str]
    body: dict[str, Any] | None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def in_hotel(self) -> bool:
        return self.path == HOTEL_PREFIX or self.path.startswith(HOTEL_PREFIX + "/")

    @property
    def for_bots(self) -> bool:
        return self.path.startswith(BOT_PREFIX)

    @property
    def names_objects(self) -> bool:
        return bool(self.parameters & set(OBJECT_PARAMETERS))

    def url(self, values: dict[str, str]) -> str:
        return _PARAMETER.sub(lambda match: quote(values[match[1]], safe=""), self.path)


def api_endpoints(app: Litestar) -> tuple[list[Endpoint], list[Endpoint]]:
    """Every HTTP method of every ``/api/v1`` route, and the WebSocket routes; fails on unknowns."""
    known = {"hotel", *OBJECT_PARAMETERS, *NAME_PARAMETERS}
    endpoints: list[Endpoint] = []
    sockets: list[Endpoint] = []
    for route in app.routes:
        if not route.path.startswith(API + "/"):
            continue
        if route.path.startswith(f"{API}/hotels/") and not route.path.startswith(HOTEL_PREFIX):
            pytest.fail(f"{route.path}: a hotel route must start with {HOTEL_PREFIX}")
        unknown = set(route.path_parameters) - known
        if unknown:
            pytest.fail(
                f"{route.path}: the isolation matrix cannot fill {sorted(unknown)}; "
                "add them to OBJECT_PARAMETERS (and GHOST_IDS) or NAME_PARAMETERS"
            )
        parameters = frozenset(route.path_parameters)
        if isinstance(route, WebSocketRoute):
            sockets.append(Endpoint("WEBSOCKET", route.path, parameters, None))
            continue
        if not isinstance(route, HTTPRoute):
            pytest.fail(f"{route.path}: a {type(route).__name__} the matrix cannot call")
        for handler in route.route_handlers:
            takes_body = "data" in handler.parsed_fn_signature.parameters
            for method in sorted(handler.http_methods - UNCHECKED_METHODS):
                body = BODIES.get((method, route.path))
                if takes_body and body is None:
                    pytest.fail(f"{method} {route.path}: add a valid request body to BODIES")
                endpoints.append(Endpoint(method, route.path, parameters, body))
    return endpoints, sockets


def values_of(hotel: str, objects: SeededHotel | None) -> dict[str, str]:
    """Path values: *hotel*, and the ids of *objects* (ids nothing has when None)."""
    ids = GHOST_IDS if objects is None else object_ids(objects)
    return {"hotel": hotel, **NAME_PARAMETERS, **ids}


def object_ids(hotel: SeededHotel) -> dict[str, str]:
    return {
        "conversation_id": hotel.conversation.id,
        "draft_id": hotel.draft.id,
        "guest_id": hotel.guest.id,
        "user_id": hotel.members[Role.AGENT].id,
        "token_id": hotel.bot_token_id,
        "dead_id": hotel.dead_id,
        "media_key": hotel.media_key,
        "invitation_id": hotel.invitation_id,
    }


async def call(client: httpx.AsyncClient, endpoint: Endpoint, values: dict[str, str]) -> Any:
    return await client.request(endpoint.method, endpoint.url(values), json=endpoint.body)


def judged(
    label: str, answer: httpx.Response, unknown: httpx.Response, allowed: Iterable[int]
) -> list[str]:
    """Problems with *answer*: a status outside *allowed*, or not what a missing object gets."""
    if answer.status_code not in set(allowed):
        return [f"{label}: {answer.status_code} {answer.text[:200]}"]
    if (answer.status_code, answer.content) != (unknown.status_code, unknown.content):
        return [
            f"{label}: {answer.status_code} {answer.text[:120]} differs from what a missing "
            f"object gets ({unknown.status_code} {unknown.text[:120]})"
        ]
    return []


async def snapshot(suite: RunningSuite, hotel: SeededHotel) -> dict[str, Any]:
    """Everything of *hotel*'s that another hotel's caller could change."""
    store = suite.store
    slug = hotel.slug
    people = [user.id for user in hotel.members.values()]
    conversations = (await store.list_conversations(slug, limit=200)).items
    streams = (suite.names.control(slug), suite.names.outbound(slug), suite.names.ingress(slug))
    await outbox_drained(suite)
    dead = await DeadLetters(suite.redis, suite.names).list(hotel=slug, count=1000)
    return {
        "hotel": await store.get_hotel(slug),
        "memberships": await store.list_memberships(hotel=slug),
        "people": [await store.get_user(user_id) for user_id in people],
        "their memberships": [await store.list_memberships(user_id=u) for u in people],
        "bot tokens": await store.list_credentials(CredentialKind.BOT_TOKEN, hotel=slug),
        "invitations": await store.list_invitations(slug),
        "their tokens": [
            await store.list_credentials(kind, user_id=user_id)
            for kind in CredentialKind
            for user_id in people
        ],
        "channels": await store.list_channel_configs(slug),
        "channel states": await store.list_channel_states(slug),
        "guests": await store.list_guests(slug, limit=200),
        "conversations": conversations,
        "messages": [await store.list_messages(slug, c.id, limit=200) for c in conversations],
        "drafts": await store.list_drafts(slug, status=None),
        "outbox": (await store.outbox_backlog(slug)).pending,
        "streams": [await suite.redis.xrange(stream) for stream in streams],
        "dead letters": dead,
    }


async def socket_answer(url: str, headers: dict[str, str]) -> int:
    """101 when the socket opens and answers a ping; else the refusal's status or close code."""
    try:
        async with connect(url, additional_headers=headers, open_timeout=5) as socket:
            await socket.send("ping")
            await socket.recv()
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006


@dataclass(frozen=True)
class Caller:
    client: httpx.AsyncClient
    socket_headers: dict[str, str]


@pytest.fixture
async def hotels(suite: RunningSuite) -> tuple[SeededHotel, SeededHotel]:
    return await seed_hotel(suite, "plaza"), await seed_hotel(suite, "sol")


@asynccontextmanager
async def open_caller(suite: RunningSuite, email: str, auth: str) -> AsyncIterator[Caller]:
    if auth == "token":
        token = await personal_token(suite, email)
        async with suite.client(headers=bearer(token)) as client:
            yield Caller(client, bearer(token))
        return
    async with suite.client() as client:
        await suite.login(client, email)
        cookie = f"begasist_session={client.cookies['begasist_session']}"
        yield Caller(client, {"cookie": cookie})


@pytest.mark.parametrize("auth", ["session", "token"])
@pytest.mark.parametrize("role", list(Role))
async def test_no_cross_tenant_read_or_write(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel], role: Role, auth: str
) -> None:
    plaza, sol = hotels
    endpoints, sockets = api_endpoints(suite.app)
    in_hotel = [e for e in endpoints if e.in_hotel]
    problems: list[str] = []
    before = await snapshot(suite, sol)
    async with open_caller(suite, f"{role.value}@plaza.test", auth) as caller:
        for endpoint in in_hotel:
            refusals = {401, 404} if endpoint.for_bots else {404}
            problems += judged(
                f"{endpoint.name} with hotel=sol",
                await call(caller.client, endpoint, values_of("sol", sol)),
                await call(caller.client, endpoint, values_of(GHOST_HOTEL, None)),
                refusals,
            )
            if endpoint.names_objects:
                # 403 passes only when a missing id gets the same 403: plaza's rule, no leak.
                problems += judged(
                    f"{endpoint.name} with hotel=plaza and sol's ids",
                    await call(caller.client, endpoint, values_of("plaza", sol)),
                    await call(caller.client, endpoint, values_of("plaza", None)),
                    {403, 404},
                )
            after = await snapshot(suite, sol)
            if after != before:
                changed = sorted(key for key in before if before[key] != after[key])
                problems.append(f"{endpoint.name} changed sol's {changed}")
                before = after
        for socket in sockets:
            ws = suite.url.replace("http", "ws", 1)
            to_sol = await socket_answer(
                ws + socket.url(values_of("sol", sol)), caller.socket_headers
            )
            to_ghost = await socket_answer(
                ws + socket.url(values_of(GHOST_HOTEL, None)), caller.socket_headers
            )
            own = await socket_answer(
                ws + socket.url(values_of("plaza", plaza)), caller.socket_headers
            )
            if to_sol == 101 or to_sol != to_ghost or own != 101:
                problems.append(f"{socket.name}: sol {to_sol}, ghost {to_ghost}, plaza {own}")
    assert not problems, "\n".join(problems)


async def test_the_matrix_sees_every_kind_of_route(suite: RunningSuite) -> None:
    """Guards the enumeration itself: were it to find nothing, the matrix would pass on nothing."""
    endpoints, sockets = api_endpoints(suite.app)
    names = {e.name for e in endpoints if e.in_hotel}
    assert len(names) >= 30
    assert {
        f"GET {HOTEL_PREFIX}",
        f"DELETE {HOTEL_PREFIX}/members/{{user_id:str}}",
        f"PUT {HOTEL_PREFIX}/channels/{{channel:str}}",
        f"PATCH {HOTEL_PREFIX}/channels/{{channel:str}}",
        f"GET {BOT_PREFIX}settings",
        f"POST {HOTEL_PREFIX}/drafts/{{draft_id:str}}/approve",
        f"POST {HOTEL_PREFIX}/dead-letters/{{dead_id:str}}/retry",
    } <= names
    assert [s.path for s in sockets] == [f"{HOTEL_PREFIX}/live"]


async def test_a_bot_token_reads_its_own_hotels_settings_only(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, sol = hotels
    async with suite.client(headers=bearer(sol.bot_token)) as client:
        for path in ("/bot/settings", "/bot/settings/version"):
            for hotel in ("plaza", GHOST_HOTEL):
                answer = await client.get(f"{API}/hotels/{hotel}{path}")
                assert answer.status_code == 404, (hotel, path, answer.text)
                assert plaza.webhook_secret not in answer.text
        own = await client.get(f"{API}/hotels/sol/bot/settings")
    assert own.status_code == 200
    assert own.json()["channels"][DEMO]["webhook_secret"] == sol.webhook_secret
    assert plaza.webhook_secret not in own.text


def _shows_nothing(answer: httpx.Response) -> bool:
    """No body, an empty list, or an empty page of one."""
    if answer.content in (b"", b"[]"):
        return True
    return answer.json() == {"items": [], "next_cursor": None}


async def test_a_bot_token_reaches_no_user_route(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, sol = hotels
    endpoints, _ = api_endpoints(suite.app)
    before = await snapshot(suite, plaza)
    problems = []
    async with suite.client(headers=bearer(plaza.bot_token)) as client:
        for endpoint in endpoints:
            if endpoint.for_bots or endpoint.path in PUBLIC:
                continue
            for objects in (plaza, sol):
                answer = await call(client, endpoint, values_of(objects.slug, objects))
                refused = answer.status_code in (401, 404)
                # Outside a hotel: a 403, or a 2xx with nothing in it, also shows no data.
                empty = not endpoint.in_hotel and (
                    answer.status_code == 403 or (answer.is_success and _shows_nothing(answer))
                )
                if not (refused or empty):
                    problems.append(f"{endpoint.name} for {objects.slug}: {answer.status_code}")
    assert not problems, "\n".join(problems)
    assert await snapshot(suite, plaza) == before


async def test_an_unauthenticated_call_answers_401(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    plaza, _ = hotels
    endpoints, sockets = api_endpoints(suite.app)
    async with suite.client() as client:
        answers = {
            e.name: (await call(client, e, values_of("plaza", plaza))).status_code
            for e in endpoints
            if e.path not in PUBLIC
        }
    assert {name: status for name, status in answers.items() if status != 401} == {}
    ws = suite.url.replace("http", "ws", 1)
    for socket in sockets:
        assert await socket_answer(ws + socket.url(values_of("plaza", plaza)), {}) != 101


async def test_a_platform_admin_reaches_both_hotels(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "root@platform.test")
        listed = (await client.get(f"{API}/hotels")).json()["items"]
        assert [(h["slug"], h["role"]) for h in listed] == [("plaza", "owner"), ("sol", "owner")]
        for hotel in hotels:
            answer = await client.get(
                f"{API}/hotels/{hotel.slug}/conversations/{hotel.conversation.id}"
            )
            assert answer.status_code == 200
            assert answer.json()["hotel"] == hotel.slug


async def test_a_member_lists_only_their_hotels(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        listed = (await client.get(f"{API}/hotels")).json()["items"]
    assert [h["slug"] for h in listed] == ["plaza"]


async def test_a_personal_token_is_revoked_only_by_its_owner(
    suite: RunningSuite, hotels: tuple[SeededHotel, SeededHotel]
) -> None:
    sol_token = await personal_token(suite, "owner@sol.test")
    sol_owner = hotels[1].members[Role.OWNER]
    (listed,) = await suite.store.list_credentials(CredentialKind.API_TOKEN, user_id=sol_owner.id)
    async with suite.client() as client:
        await suite.login(client, "owner@plaza.test")
        assert (await client.delete(f"{API}/me/tokens/{listed.id}")).status_code == 404
    async with suite.client(headers=bearer(sol_token)) as client:
        assert (await client.get(f"{API}/me")).status_code == 200
