"""Hotels, their members and their bot tokens."""

from __future__ import annotations

from typing import Annotated, Any, Final

from begasist_core import FaqEntry, HotelSlug
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from begasist_suite.api.auth import (
    NewToken,
    TokenCursor,
    TokenLimit,
    TokenView,
    _token_view,
    token_page,
)
from begasist_suite.api.dependencies import AccessDep, PrincipalDep, ServicesDep
from begasist_suite.api.idempotency import IDEMPOTENT, REPLAY_HEADERS, Attempt, IdempotencyDep
from begasist_suite.api.token_issue import issue_token
from begasist_suite.auth.token_lifetimes import check_token_lifetime
from begasist_suite.channel_settings import InvalidSettings
from begasist_suite.store.records import (
    ZONE_NAME,
    CredentialKind,
    Hotel,
    Membership,
    Page,
    Role,
    is_known_zone,
)

__all__ = ["HotelController", "unknown_zone_error"]

Id = Annotated[str, PathParameter(max_length=64)]
Cursor = Annotated[str | None, QueryParameter(max_length=128)]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]

_IN_BATCH: Final = 100  # slugs in one $in (Astra's limit)


class HotelView(BaseModel):
    slug: str
    name: str
    config_version: int
    responder: str
    default_language: str
    timezone: str
    """The hotel's IANA time zone; the staff app shows every time in it."""
    faq: list[FaqEntry]
    fallback: dict[str, str]
    role: Role | None = None
    """The caller's role in it."""


class NewHotel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: HotelSlug
    name: Annotated[str, Field(min_length=1, max_length=200)]


class HotelChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    responder: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    default_language: Annotated[str | None, Field(pattern=r"^[a-z]{2,3}$")] = None
    timezone: Annotated[str | None, Field(min_length=1, max_length=64, pattern=ZONE_NAME)] = None
    """An IANA time zone name (``Europe/Madrid``); 422 for one this server's zone database
    lacks (which names exist depends on the server's ``tzdata``, not on the body's shape)."""
    faq: Annotated[list[FaqEntry] | None, Field(max_length=500)] = None
    fallback: (
        dict[
            Annotated[str, Field(pattern=r"^[a-z]{2,3}$")],
            Annotated[str, Field(min_length=1, max_length=4096)],
        ]
        | None
    ) = None


class MemberView(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: Role


class MemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class BotTokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] = "bot"


def unknown_zone_error(name: str) -> dict[str, Any]:
    """The field error of a time zone name the zone database does not have."""
    return {
        "loc": ["timezone"],
        "type": "unknown_time_zone",
        "msg": f"unknown time zone {name!r} (an IANA name, like Europe/Madrid)",
    }


def hotel_view(hotel: Hotel, role: Role | None) -> HotelView:
    return HotelView(
        slug=hotel.slug,
        name=hotel.name,
        config_version=hotel.config_version,
        responder=hotel.responder,
        default_language=hotel.default_language,
        timezone=hotel.timezone,
        faq=list(hotel.faq),
        fallback=dict(hotel.fallback),
        role=role,
    )


class HotelController(Controller):
    path = "/api/v1/hotels"
    tags = ["hotels"]

    @get("/")
    async def list_hotels(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[HotelView]:
        """The hotels the caller belongs to (every hotel, for a platform admin), by slug;
        pass ``next_cursor`` for more."""
        user = principal.user
        if user is None:
            return Page[HotelView](items=[])
        if user.platform_admin:
            every = await services.store.page_hotels(limit=limit, cursor=cursor)
            return Page[HotelView](
                items=[hotel_view(h, Role.OWNER) for h in every.items],
                next_cursor=every.next_cursor,
            )
        memberships = await services.store.page_memberships(
            user_id=user.id, limit=limit, cursor=cursor
        )
        roles = {m.hotel: m.role for m in memberships.items}
        hotels: list[Hotel] = []
        slugs = sorted(roles)
        for start in range(0, len(slugs), _IN_BATCH):  # one query per 100 slugs
            hotels += await services.store.list_hotels(slugs[start : start + _IN_BATCH])
        return Page[HotelView](
            items=[hotel_view(h, roles[h.slug]) for h in sorted(hotels, key=lambda h: h.slug)],
            next_cursor=memberships.next_cursor,
        )

    @post("/", status_code=201, dependencies=IDEMPOTENT, response_headers=REPLAY_HEADERS)
    async def create_hotel(
        self,
        data: JSONBody[NewHotel],
        principal: PrincipalDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[HotelView]:
        """Create a hotel (platform admins only)."""
        if principal.user is None or not principal.user.platform_admin:
            raise PermissionDeniedException("only a platform admin creates hotels")

        async def create(attempt: Attempt) -> HotelView:
            hotel = await services.store.create_hotel(Hotel(slug=data.slug, name=data.name))
            return hotel_view(hotel, Role.OWNER)

        return await idempotency.run(create)

    @get("/{hotel:str}")
    async def get_hotel(self, access: AccessDep) -> HotelView:
        return hotel_view(access.hotel, access.role)

    @patch("/{hotel:str}")
    async def update_hotel(
        self, data: JSONBody[HotelChanges], access: AccessDep, services: ServicesDep
    ) -> HotelView:
        """Change the name, the time zone, the responder, its FAQ and fallback texts
        (managers)."""
        access.require(Role.MANAGER)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "timezone" in changes and not is_known_zone(changes["timezone"]):
            raise InvalidSettings([unknown_zone_error(changes["timezone"])])
        if "responder" in changes and changes["responder"] not in services.plugins.responders:
            raise NotFoundException(f"no responder {changes['responder']!r} is installed")
        if not changes:
            return hotel_view(access.hotel, access.role)
        hotel = await services.store.update_hotel(access.hotel.slug, **changes)
        return hotel_view(hotel, access.role)

    @delete("/{hotel:str}", status_code=204)
    async def delete_hotel(self, access: AccessDep, services: ServicesDep) -> None:
        """Delete a hotel and everything in it (platform admins only)."""
        if not access.user.platform_admin:
            raise PermissionDeniedException("only a platform admin deletes hotels")
        await services.store.delete_hotel(access.hotel.slug)

    @get("/{hotel:str}/members")
    async def list_members(
        self, access: AccessDep, services: ServicesDep, limit: Limit = 50, cursor: Cursor = None
    ) -> Page[MemberView]:
        """The hotel's members by user id; pass ``next_cursor`` for more."""
        memberships = await services.store.page_memberships(
            hotel=access.hotel.slug, limit=limit, cursor=cursor
        )
        users = await services.store.get_users(m.user_id for m in memberships.items)
        members = [
            MemberView(
                user_id=user.id,
                email=user.email,
                display_name=user.display_name,
                role=membership.role,
            )
            for membership in memberships.items
            if (user := users.get(membership.user_id)) is not None
        ]
        return Page[MemberView](items=members, next_cursor=memberships.next_cursor)

    @put("/{hotel:str}/members/{user_id:str}")
    async def set_member(
        self, user_id: Id, data: JSONBody[MemberBody], access: AccessDep, services: ServicesDep
    ) -> MemberView:
        """Change a member's role (owners); add a user to the hotel (platform admins).

        An owner reaches only their own hotel's members: anyone else's id answers
        404, like an id nobody has, so no hotel learns another's people.
        """
        access.require(Role.OWNER)
        user = await services.store.get_user(user_id)
        if user is None or (
            not access.user.platform_admin
            and await services.store.get_membership(access.hotel.slug, user_id) is None
        ):
            raise NotFoundException("not found")
        await services.store.set_membership(
            Membership(hotel=access.hotel.slug, user_id=user.id, role=data.role)
        )
        return MemberView(
            user_id=user.id, email=user.email, display_name=user.display_name, role=data.role
        )

    @delete("/{hotel:str}/members/{user_id:str}", status_code=204)
    async def remove_member(self, user_id: Id, access: AccessDep, services: ServicesDep) -> None:
        access.require(Role.OWNER)
        if not await services.store.remove_membership(access.hotel.slug, user_id):
            raise NotFoundException("not found")

    @get("/{hotel:str}/bot-tokens")
    async def list_bot_tokens(
        self,
        access: AccessDep,
        services: ServicesDep,
        limit: TokenLimit = 50,
        cursor: TokenCursor = None,
    ) -> Page[TokenView]:
        """The hotel's bot tokens (owners; never their secrets), oldest first; pass
        ``next_cursor`` for more."""
        access.require(Role.OWNER)
        tokens = await services.store.page_credentials(
            CredentialKind.BOT_TOKEN, hotel=access.hotel.slug, limit=limit, cursor=cursor
        )
        return token_page(tokens)

    @post(
        "/{hotel:str}/bot-tokens",
        status_code=201,
        dependencies=IDEMPOTENT,
        response_headers=REPLAY_HEADERS,
    )
    async def create_bot_token(
        self,
        data: JSONBody[BotTokenBody],
        access: AccessDep,
        principal: PrincipalDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[NewToken]:
        """A token for the hotel's channelbot (``BEGASIST_BOT_TOKEN``); shown once (and to
        a retry with the same ``Idempotency-Key``: that response is stored encrypted).

        Bot tokens never expire, so a personal token that expires cannot make one (403).
        """
        access.require(Role.OWNER)
        check_token_lifetime(principal, None)

        async def create(attempt: Attempt) -> NewToken:
            credential, secret = await issue_token(
                services,
                attempt,
                CredentialKind.BOT_TOKEN,
                hotel=access.hotel.slug,
                name=data.name,
            )
            return NewToken(token=secret, **_token_view(credential).model_dump())

        return await idempotency.run(create, secret=True)

    @delete("/{hotel:str}/bot-tokens/{token_id:str}", status_code=204)
    async def revoke_bot_token(
        self, token_id: Id, access: AccessDep, services: ServicesDep
    ) -> None:
        access.require(Role.OWNER)
        if not await services.store.revoke_credential(
            CredentialKind.BOT_TOKEN, token_id, hotel=access.hotel.slug
        ):
            raise NotFoundException("not found")
