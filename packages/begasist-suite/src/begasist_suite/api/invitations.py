"""Invitations to join a hotel: an owner or manager invites by email, the invitee accepts.

The invitation's link carries a random secret (256 bits), stored only as its
digest; it works once, until ``BEGASIST_INVITATION_HOURS`` (72) after it was
made, and not after it is revoked. Whoever opens it sets a display name and
password (no account with the invited email yet) or signs in with that
account's password, and becomes a member with the invited role: a role never
above the inviter's. Accepting is rate-limited like the login (it is one).

The hotel's routes (``/api/v1/hotels/{hotel}/invitations``) are a manager's;
the link's routes (``/api/v1/invitations/{token}``) need no account, and the
web app's invitation page goes through the same functions.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any, Final

import anyio
from begasist_core import utc_now
from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.params import JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from begasist_suite.api.auth import LoginAnswer, client_address, login_limiter, sign_in
from begasist_suite.api.dependencies import AccessDep, ServicesDep
from begasist_suite.api.idempotency import IDEMPOTENT, REPLAY_HEADERS, Attempt, IdempotencyDep
from begasist_suite.auth.credentials import digest, hash_password, new_secret
from begasist_suite.auth.principal import HotelAccess
from begasist_suite.services import Services
from begasist_suite.store.base import Conflict
from begasist_suite.store.records import (
    EMAIL_PATTERN,
    Invitation,
    InvitationState,
    Membership,
    Page,
    Role,
    User,
)
from begasist_suite.store.store import Store

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "InvitationController",
    "InvitationLinkController",
    "InvitationUnusable",
    "accept_invitation",
    "create_invitation",
    "invitation_page",
    "usable_invitation",
]

MIN_PASSWORD_LENGTH: Final = 8
"""A new account's password, set on the invitation's page."""
logger = logging.getLogger(__name__)

_UNKNOWN_LINK: Final = "invitation"
"""The login limiter's account key for links that name no invitation (guessing them)."""
Token = Annotated[str, PathParameter(min_length=8, max_length=128)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    role: Role = Role.AGENT


class InvitationView(BaseModel):
    id: str
    email: str
    role: Role
    invited_by: str
    created_at: str
    expires_at: str


class NewInvitation(InvitationView):
    token: str
    """The link's secret: shown this once, never again."""
    link: str
    """The page where the invitee accepts (the suite's ``BEGASIST_PUBLIC_URL``, else the
    address this request reached)."""


class InvitationInfo(BaseModel):
    """What the invitee sees before accepting."""

    hotel: str
    hotel_name: str
    email: str
    role: Role
    expires_at: str
    has_account: bool
    """An account with this email exists: accept with its password (else set one)."""


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    display_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    """Needed when no account has the invited email (a new account is made)."""


class InvitationUnusable(HTTPException):
    """410: the link was used, revoked or has expired (:attr:`reason` says which)."""

    status_code = 410

    def __init__(self, reason: str) -> None:
        super().__init__(detail=f"this invitation was {reason}")
        self.reason = reason


def invitation_view(invitation: Invitation) -> InvitationView:
    return InvitationView(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        invited_by=invitation.invited_by,
        created_at=invitation.created_at.isoformat(),
        expires_at=invitation.expires_at.isoformat(),
    )


async def create_invitation(
    services: Services, access: HotelAccess, email: str, role: Role
) -> tuple[Invitation, str]:
    """A new invitation to *access*'s hotel, and its link's secret (403: not a manager, or a
    role above the caller's; 409: that email is a member already)."""
    access.require(Role.MANAGER)
    if not access.role.includes(role):
        raise PermissionDeniedException("an invitation's role cannot be above yours")
    user = await services.store.get_user_by_email(email)
    if user is not None and await services.store.get_membership(access.hotel.slug, user.id):
        raise HTTPException(status_code=409, detail="that person is a member already")
    secret = new_secret("invitation")
    invitation = Invitation(
        digest=digest(secret),
        hotel=access.hotel.slug,
        email=email.casefold(),
        role=role,
        invited_by=access.user.id,
        expires_at=utc_now() + timedelta(hours=services.settings.invitation_hours),
    )
    return await services.store.add_invitation(invitation), secret


def invitation_link(services: Services, request: Request[Any, Any, Any], secret: str) -> str:
    base = services.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/invitations/{secret}"


async def invitation_page(
    services: Services, hotel: str, *, limit: int, cursor: str | None
) -> Page[InvitationView]:
    """A page of *hotel*'s pending invitations, newest first (cursor: ``created|id``)."""
    pending = await services.store.list_invitations(hotel)
    if cursor is not None:
        pending = [i for i in pending if _position(i) < cursor]
    more = len(pending) > limit
    return Page[InvitationView](
        items=[invitation_view(i) for i in pending[:limit]],
        next_cursor=_position(pending[limit - 1]) if more else None,
    )


def _position(invitation: Invitation) -> str:
    return f"{invitation.created_at.isoformat()}|{invitation.id}"


async def usable_invitation(
    request: Request[Any, Any, Any], services: Services, secret: str
) -> Invitation:
    """The pending invitation of the link's *secret*: 404 for none (counted like a failed
    login, so links cannot be guessed at speed), 410 if used, revoked or expired."""
    invitation = await services.store.get_invitation(digest(secret))
    if invitation is None:
        await _throttle(request, services, _UNKNOWN_LINK)
        raise NotFoundException("no such invitation")
    if invitation.state is InvitationState.ACCEPTED:
        raise InvitationUnusable("used")
    if invitation.state is InvitationState.REVOKED:
        raise InvitationUnusable("revoked")
    if invitation.expires_at <= utc_now():
        raise InvitationUnusable("expired")
    return invitation


async def _throttle(request: Request[Any, Any, Any], services: Services, account: str) -> None:
    wait = await login_limiter(services).reserve(account, client_address(request))
    if wait is not None:
        raise TooManyRequestsException(
            "too many attempts; try again later", headers={"Retry-After": str(wait)}
        )


async def accept_invitation(
    request: Request[Any, Any, Any],
    services: Services,
    secret: str,
    password: str,
    display_name: str | None,
) -> tuple[Invitation, Response[LoginAnswer]]:
    """Accept: make the account (none has the email) or check its password, add the
    membership, and sign in. The invitation and the new session's answer (its cookie).

    400 for a new account without a display name or with a short password,
    401 for a wrong password, 429 past the login limit, 404 / 410 as
    :func:`usable_invitation`, 409 when an account with the email appeared meanwhile.
    """
    invitation = await usable_invitation(request, services, secret)
    store = services.store
    user = await store.get_user_by_email(invitation.email)
    if user is None:
        if not display_name or not display_name.strip():
            raise ValidationException("a new account needs a display name")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationException(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        await _throttle(request, services, invitation.email)
        password_hash = await anyio.to_thread.run_sync(hash_password, password)
        user = User(
            email=invitation.email,
            display_name=display_name.strip(),
            password_hash=password_hash,
        )
        taken = await store.take_invitation(invitation.digest, user.id)
        if taken is None:
            raise InvitationUnusable("used")
        async with _given_back_on_failure(store, invitation.digest):
            try:
                await store.create_user(user)
            except Conflict:
                raise HTTPException(
                    status_code=409, detail="an account has this email now: sign in to accept"
                ) from None
            await store.set_membership(
                Membership(hotel=invitation.hotel, user_id=user.id, role=invitation.role)
            )
        return taken, await sign_in(request, services, invitation.email, password)
    # The account's own password, rate-limited and checked as at login (401, 429).
    answer = await sign_in(request, services, invitation.email, password)
    taken = await store.take_invitation(invitation.digest, user.id)
    if taken is None:
        raise InvitationUnusable("used")
    async with _given_back_on_failure(store, invitation.digest):
        current = await store.get_membership(invitation.hotel, user.id)
        # Accepting never lowers a role the person already has in the hotel.
        role = current.role if current and current.role.includes(taken.role) else taken.role
        await store.set_membership(Membership(hotel=invitation.hotel, user_id=user.id, role=role))
    return taken, answer


@asynccontextmanager
async def _given_back_on_failure(store: Store, invitation_digest: str) -> AsyncIterator[None]:
    """The invitation taken for an acceptance goes back to pending when the acceptance
    fails after taking it (an email taken meanwhile, the store failing), so the link
    still works: an invitation is used only by an acceptance that made a member. A new
    account made before the failure stays; the retry signs in to it and finishes."""
    try:
        yield
    except BaseException:
        with anyio.CancelScope(shield=True):
            try:
                await store.give_back_invitation(invitation_digest)
            except Exception:
                logger.exception("an invitation could not be given back after a failed acceptance")
        raise


class InvitationController(Controller):
    path = "/api/v1/hotels/{hotel:str}/invitations"
    tags = ["hotels"]

    @get("/")
    async def list_invitations(
        self,
        access: AccessDep,
        services: ServicesDep,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=128)] = None,
    ) -> Page[InvitationView]:
        """The hotel's pending invitations, newest first (managers); pass ``next_cursor``."""
        access.require(Role.MANAGER)
        return await invitation_page(services, access.hotel.slug, limit=limit, cursor=cursor)

    @post("/", status_code=201, dependencies=IDEMPOTENT, response_headers=REPLAY_HEADERS)
    async def create_invitation(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[InvitationBody],
        access: AccessDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[NewInvitation]:
        """Invite someone by email with a role no higher than yours (managers): the answer's
        ``link`` works once, for ``BEGASIST_INVITATION_HOURS``; it is shown this once (and to
        a retry with the same ``Idempotency-Key``: that response is stored encrypted)."""

        async def create(attempt: Attempt) -> NewInvitation:
            invitation, secret = await create_invitation(services, access, data.email, data.role)
            return NewInvitation(
                token=secret,
                link=invitation_link(services, request, secret),
                **invitation_view(invitation).model_dump(),
            )

        return await idempotency.run(create, secret=True)

    @delete("/{invitation_id:str}", status_code=204)
    async def revoke_invitation(
        self,
        invitation_id: Annotated[str, PathParameter(max_length=64)],
        access: AccessDep,
        services: ServicesDep,
    ) -> None:
        """Revoke a pending invitation: its link stops working (managers)."""
        access.require(Role.MANAGER)
        if not await services.store.revoke_invitation(access.hotel.slug, invitation_id):
            raise NotFoundException("not found")


class InvitationLinkController(Controller):
    path = "/api/v1/invitations"
    tags = ["auth"]

    @get("/{token:str}")
    async def show(
        self, request: Request[Any, Any, Any], token: Token, services: ServicesDep
    ) -> InvitationInfo:
        """What an invitation link offers (no account needed): 404 none, 410 used, revoked
        or expired."""
        invitation = await usable_invitation(request, services, token)
        hotel = await services.store.get_hotel(invitation.hotel)
        if hotel is None:
            raise NotFoundException("no such invitation")
        user = await services.store.get_user_by_email(invitation.email)
        return InvitationInfo(
            hotel=hotel.slug,
            hotel_name=hotel.name,
            email=invitation.email,
            role=invitation.role,
            expires_at=invitation.expires_at.isoformat(),
            has_account=user is not None,
        )

    @post("/{token:str}/accept", status_code=200)
    async def accept(
        self,
        request: Request[Any, Any, Any],
        token: Token,
        data: JSONBody[AcceptBody],
        services: ServicesDep,
    ) -> Response[LoginAnswer]:
        """Accept: a new account (``display_name`` and ``password``) or the existing one's
        ``password``; answers as a login does (session cookie, CSRF token)."""
        _, answer = await accept_invitation(
            request, services, token, data.password, data.display_name
        )
        return answer
