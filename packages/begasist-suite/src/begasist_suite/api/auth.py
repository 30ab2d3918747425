"""Logging in and out, the caller's own account and personal API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import anyio
from begasist_core import utc_now
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, NotFoundException, TooManyRequestsException
from litestar.params import JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from begasist_suite.api.dependencies import PrincipalDep, ServicesDep
from begasist_suite.api.idempotency import IDEMPOTENT, REPLAY_HEADERS, Attempt, IdempotencyDep
from begasist_suite.api.token_issue import issue_token
from begasist_suite.auth.credentials import digest, new_secret, verify_password
from begasist_suite.auth.principal import SESSION_COOKIE
from begasist_suite.auth.rate_limit import LoginLimiter
from begasist_suite.auth.token_lifetimes import check_token_lifetime
from begasist_suite.store.records import Credential, CredentialKind, Membership, Page, Role

__all__ = [
    "AuthController",
    "LoginAnswer",
    "MeController",
    "TokenCursor",
    "TokenLimit",
    "client_address",
    "login_limiter",
    "sign_in",
    "token_page",
]

TokenLimit = Annotated[int, QueryParameter(ge=1, le=200)]
TokenCursor = Annotated[str | None, QueryParameter(max_length=128)]


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class UserView(BaseModel):
    id: str
    email: str
    display_name: str
    platform_admin: bool


class MembershipView(BaseModel):
    hotel: str
    role: Role


class LoginAnswer(BaseModel):
    user: UserView
    csrf_token: str
    """Send it back in ``X-CSRF-Token`` on every POST, PUT, PATCH and DELETE."""


class MeAnswer(BaseModel):
    user: UserView
    memberships: list[MembershipView]
    csrf_token: str | None = None
    """A browser session's token for ``X-CSRF-Token`` (what the API viewer's "Try it
    out" sends); None for a bearer token, which needs none. Only pages of this
    origin can read it: the API answers no cross-origin reads."""


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class TokenView(BaseModel):
    id: str
    name: str
    created_at: str
    expires_at: str | None


class NewToken(TokenView):
    token: str
    """The secret: shown this once, never again."""


def user_view(principal: PrincipalDep) -> UserView:
    user = principal.user
    if user is None:
        raise NotFoundException("not found")
    return UserView(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        platform_admin=user.platform_admin,
    )


_PASSWORD_CHECKS = anyio.CapacityLimiter(2)
"""argon2 verifications at once (each ~50 ms of CPU): more only queue for the same cores."""


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _session_cookie(value: str, max_age: int, services: ServicesDep) -> Cookie:
    """The session cookie, or (empty, ``max_age=0``) its deletion: the same attributes both ways,
    so a browser never holds, or is told to drop, a session cookie without them."""
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        httponly=True,
        samesite="strict",
        secure=services.settings.cookie_secure,
        path="/",
        max_age=max_age,
    )


def login_limiter(services: ServicesDep) -> LoginLimiter:
    settings = services.settings
    return LoginLimiter(
        services.redis,
        services.names.key("auth"),
        attempts=settings.login_attempts,
        address_attempts=settings.login_address_attempts,
        account_attempts=settings.login_account_attempts,
        window_seconds=settings.login_window_seconds,
    )


async def sign_in(
    request: Request[Any, Any, Any], services: ServicesDep, email: str, password: str
) -> Response[LoginAnswer]:
    """Check the password (rate-limited) and open a session: its cookie and CSRF token.

    Raises 429 past the login limit and 401 for a wrong email or password. The
    API's login and the web app's sign-in form both come through here.
    """
    limiter = login_limiter(services)
    address = client_address(request)
    wait = await limiter.reserve(email, address)
    if wait is not None:
        raise TooManyRequestsException(
            "too many login attempts; try again later", headers={"Retry-After": str(wait)}
        )
    user = await services.store.get_user_by_email(email)
    # Always one argon2 verification (a dummy hash for an unknown user), so the
    # answer time does not tell which emails have accounts; in a worker thread,
    # so a flood of logins does not stall the event loop.
    right = await anyio.to_thread.run_sync(
        verify_password,
        None if user is None else user.password_hash,
        password,
        limiter=_PASSWORD_CHECKS,
    )
    if user is None or user.disabled or not right:
        raise NotAuthorizedException("wrong email or password")
    await limiter.succeeded(email, address)
    secret = new_secret("session")
    lifetime = timedelta(hours=services.settings.session_hours)
    credential = Credential(
        digest=digest(secret),
        kind=CredentialKind.SESSION,
        user_id=user.id,
        csrf_token=new_secret("session")[4:],
        expires_at=utc_now() + lifetime,
    )
    await services.store.add_credential(credential)
    assert credential.csrf_token is not None
    answer = LoginAnswer(
        user=UserView(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            platform_admin=user.platform_admin,
        ),
        csrf_token=credential.csrf_token,
    )
    cookie = _session_cookie(secret, int(lifetime.total_seconds()), services)
    return Response(answer, cookies=[cookie])


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginBody], services: ServicesDep
    ) -> Response[LoginAnswer]:
        """Start a browser session: sets the session cookie and returns the CSRF token."""
        return await sign_in(request, services, data.email, data.password)

    @post("/logout", status_code=204)
    async def logout(
        self, request: Request[Any, Any, Any], principal: PrincipalDep, services: ServicesDep
    ) -> Response[None]:
        """End the browser session (or, with a bearer token, do nothing to it)."""
        if principal.credential.kind is CredentialKind.SESSION:
            await services.store.delete_credential(principal.credential.digest)
        return Response(
            None,
            status_code=204,
            cookies=[_session_cookie("", 0, services)],
        )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/")
    async def me(self, principal: PrincipalDep, services: ServicesDep) -> MeAnswer:
        """The caller and the hotels they belong to."""
        view = user_view(principal)
        memberships: list[Membership] = await services.store.list_memberships(user_id=view.id)
        return MeAnswer(
            user=view,
            memberships=[MembershipView(hotel=m.hotel, role=m.role) for m in memberships],
            csrf_token=principal.credential.csrf_token,
        )

    @get("/tokens")
    async def list_tokens(
        self,
        principal: PrincipalDep,
        services: ServicesDep,
        limit: TokenLimit = 50,
        cursor: TokenCursor = None,
    ) -> Page[TokenView]:
        """The caller's personal API tokens (never their secrets), oldest first; pass
        ``next_cursor`` for more."""
        view = user_view(principal)
        tokens = await services.store.page_credentials(
            CredentialKind.API_TOKEN, user_id=view.id, limit=limit, cursor=cursor
        )
        return token_page(tokens)

    @post("/tokens", status_code=201, dependencies=IDEMPOTENT, response_headers=REPLAY_HEADERS)
    async def create_token(
        self,
        data: JSONBody[TokenBody],
        principal: PrincipalDep,
        services: ServicesDep,
        idempotency: IdempotencyDep,
    ) -> Response[NewToken]:
        """A new personal API token: use it as ``Authorization: Bearer <token>``.

        Asked for with a token that expires, the new one must expire no later
        (403 otherwise): a token never mints one that outlives it.
        """
        view = user_view(principal)
        expires = (
            None
            if data.expires_in_days is None
            else utc_now() + timedelta(days=data.expires_in_days)
        )
        check_token_lifetime(principal, expires)

        async def create(attempt: Attempt) -> NewToken:
            credential, secret = await issue_token(
                services,
                attempt,
                CredentialKind.API_TOKEN,
                user_id=view.id,
                name=data.name,
                expires_at=expires,
            )
            return NewToken(token=secret, **_token_view(credential).model_dump())

        return await idempotency.run(create, secret=True)

    @delete("/tokens/{token_id:str}", status_code=204)
    async def revoke_token(
        self,
        token_id: Annotated[str, PathParameter(max_length=64)],
        principal: PrincipalDep,
        services: ServicesDep,
    ) -> None:
        view = user_view(principal)
        if not await services.store.revoke_credential(
            CredentialKind.API_TOKEN, token_id, user_id=view.id
        ):
            raise NotFoundException("not found")


def token_page(tokens: Page[Credential]) -> Page[TokenView]:
    """The store's page of credentials as the API shows them (never their secrets)."""
    return Page[TokenView](
        items=[_token_view(t) for t in tokens.items], next_cursor=tokens.next_cursor
    )


def _token_view(credential: Credential) -> TokenView:
    return TokenView(
        id=credential.id,
        name=credential.name,
        created_at=credential.created_at.isoformat(),
        expires_at=None if credential.expires_at is None else credential.expires_at.isoformat(),
    )
