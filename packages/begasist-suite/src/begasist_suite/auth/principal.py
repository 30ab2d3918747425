"""Resolving the caller of a request and checking what they may reach."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException

from begasist_suite.auth.credentials import digest
from begasist_suite.services import Services
from begasist_suite.store.records import Credential, CredentialKind, Hotel, Role, User

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "HotelAccess",
    "Principal",
    "hotel_access",
    "resolve_principal",
]

SESSION_COOKIE = "begasist_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (by session or personal token), a hotel's bot or a fleet bot."""

    credential: Credential
    user: User | None

    @property
    def bot_hotel(self) -> str | None:
        kind = self.credential.kind
        return self.credential.hotel if kind is CredentialKind.BOT_TOKEN else None

    @property
    def fleet_bot(self) -> bool:
        """A sharded bot's fleet token: lists hotels and reads any hotel's bot settings."""
        return self.credential.kind is CredentialKind.FLEET_TOKEN


@dataclass(frozen=True)
class HotelAccess:
    """A user's access to one hotel: the hotel and their role in it."""

    hotel: Hotel
    role: Role
    user: User

    def require(self, role: Role) -> None:
        """Raise 403 unless the caller's role includes *role*."""
        if not self.role.includes(role):
            raise PermissionDeniedException(
                f"this needs the {role.value} role in {self.hotel.slug}"
            )


async def resolve_principal(
    connection: ASGIConnection,  # type: ignore[type-arg]
    services: Services,
    *,
    csrf_token: str | None = None,
) -> Principal:
    """The caller, from ``Authorization: Bearer`` or the session cookie; 401 if neither is valid.

    A browser session must send its CSRF token in ``X-CSRF-Token`` on every
    unsafe method (or, for an HTML form, in a field the caller passes as
    *csrf_token*); bearer tokens need none (a browser never sends them by itself).
    """
    header = connection.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthorizedException("use Authorization: Bearer <token>")
        credential = await services.store.get_credential(digest(secret.strip()))
        if credential is None or credential.kind is CredentialKind.SESSION:
            raise NotAuthorizedException("invalid or expired token")
    else:
        cookie = connection.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthorizedException("log in first")
        credential = await services.store.get_credential(digest(cookie))
        if credential is None or credential.kind is not CredentialKind.SESSION:
            raise NotAuthorizedException("the session expired; log in again")
        method = connection.scope.get("method", "GET")
        sent = csrf_token if csrf_token is not None else connection.headers.get(CSRF_HEADER)
        if method not in _SAFE_METHODS and sent != credential.csrf_token:
            raise PermissionDeniedException("missing or wrong X-CSRF-Token")
    user = None
    if credential.user_id is not None:
        user = await services.store.get_user(credential.user_id)
        if user is None or user.disabled:
            raise NotAuthorizedException("the account is disabled")
    return Principal(credential=credential, user=user)


async def hotel_access(hotel: str, principal: Principal, services: Services) -> HotelAccess:
    """The user's access to *hotel*; 404 when it does not exist or they are not a member.

    404 rather than 403, so nobody learns which hotels exist. Bot tokens reach
    no user route at all.
    """
    user = principal.user
    if user is None:
        raise NotFoundException("not found")
    found = await services.store.get_hotel(hotel)
    if found is None:
        raise NotFoundException("not found")
    if user.platform_admin:
        return HotelAccess(hotel=found, role=Role.OWNER, user=user)
    membership = await services.store.get_membership(hotel, user.id)
    if membership is None:
        raise NotFoundException("not found")
    return HotelAccess(hotel=found, role=membership.role, user=user)
