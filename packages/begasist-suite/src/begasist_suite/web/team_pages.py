"""The Team page: the hotel's members and roles (owners change them), the person's own API
tokens, and the hotel's bot tokens (owners).

The checks are the API's: members are listed to every member, roles and bot
tokens need the owner role, a token is revoked only by whoever it belongs to,
and a token never mints one that outlives it. A new token's secret is shown
once, on the page that answers its form, and stored only as a digest.

That page is the form's answer (no redirect: the secret has nowhere else to
live), so each token form carries a fresh ``attempt`` value, used as the API's
``Idempotency-Key``: the same form sent again (a reload of the answer, a
double click) makes no second token and says so, without the secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, Final

from begasist_core import utc_now
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from begasist_suite.api.auth import TokenBody
from begasist_suite.api.hotels import BotTokenBody
from begasist_suite.api.idempotency import (
    KEY_PATTERN,
    Attempt,
    Idempotency,
    request_fingerprint,
)
from begasist_suite.api.token_issue import issue_token
from begasist_suite.auth.principal import HotelAccess, Principal
from begasist_suite.auth.token_lifetimes import TokenOutlivesCaller, check_token_lifetime
from begasist_suite.store.records import Credential, CredentialKind, Membership, Role
from begasist_suite.web.callers import form_caller, page_access, services_of
from begasist_suite.web.field_errors import field_errors
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of, load_chrome, render
from begasist_suite.web.security import new_form_token
from begasist_suite.web.views import person_name

__all__ = ["TeamPages"]

Id = Annotated[str, PathParameter(max_length=64)]
ATTEMPT_FIELD: Final = "attempt"
"""A token form's hidden field: new on every page, the ``Idempotency-Key`` of its sending."""
EXPIRY_CHOICES: Final = ("30", "90", "365", "")
"""Days a new personal token lives ("" never expires)."""
DONE: Final = {
    "role": N_("The role is changed."),
    "removed": N_("The member is removed from this hotel."),
    "revoked": N_("The token is revoked: it no longer works."),
}
ROLE_LABELS: Final = {
    Role.AGENT: N_("Agent: works the inbox"),
    Role.MANAGER: N_("Manager: also channels, assistant, operations"),
    Role.OWNER: N_("Owner: also the team and bot tokens"),
}


class TeamPages(Controller):
    path = "/hotels/{hotel:str}/team"
    include_in_schema = False

    @get("/")
    async def team(
        self,
        request: Request[Any, Any, Any],
        hotel: FromPath[str],
        done: Annotated[str | None, QueryParameter(max_length=16)] = None,
    ) -> Template:
        principal, access = await page_access(request, hotel)
        return await _page(request, principal, access, done=done if done in DONE else None)

    @post("/members/{user_id:str}/role", status_code=303)
    async def set_role(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], user_id: Id
    ) -> Redirect:
        """Change another member's role (owners)."""
        _, access, form = await form_caller(request, hotel)
        member = await _other_member(request, access, user_id)
        try:
            role = Role(str(form.get("role")))
        except ValueError:
            return _done(access, "role")
        await services_of(request).store.set_membership(
            Membership(hotel=member.hotel, user_id=member.user_id, role=role)
        )
        return _done(access, "role")

    @post("/members/{user_id:str}/remove", status_code=303)
    async def remove(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], user_id: Id
    ) -> Redirect:
        """Remove another member from the hotel (owners)."""
        _, access, _ = await form_caller(request, hotel)
        member = await _other_member(request, access, user_id)
        await services_of(request).store.remove_membership(member.hotel, member.user_id)
        return _done(access, "removed")

    @post("/tokens", status_code=200)
    async def create_token(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Response[Any]:
        """A personal API token for the signed-in person: its secret on this answer only."""
        principal, access, form = await form_caller(request, hotel)
        current = language_of(request)
        expiry = str(form.get("expires_in_days", ""))
        try:
            body = TokenBody(
                name=str(form.get("name", "")).strip(),
                expires_in_days=int(expiry) if expiry in EXPIRY_CHOICES and expiry else None,
            )
        except ValidationError as invalid:
            errors = field_errors(invalid.errors(), ["name"], current)
            return await _page(request, principal, access, token_errors=errors, status=422)
        expires = (
            None
            if body.expires_in_days is None
            else utc_now() + timedelta(days=body.expires_in_days)
        )
        try:
            check_token_lifetime(principal, expires)
        except TokenOutlivesCaller:
            errors = {"": [current.gettext("A token cannot create one that outlives it.")]}
            return await _page(request, principal, access, token_errors=errors, status=403)
        shown = await _issue_once(
            request,
            access,
            form,
            "personal",
            lambda attempt: issue_token(
                services_of(request),
                attempt,
                CredentialKind.API_TOKEN,
                user_id=access.user.id,
                name=body.name,
                expires_at=expires,
            ),
        )
        return await _page(request, principal, access, new_token=shown)

    @post("/tokens/{token_id:str}/revoke", status_code=303)
    async def revoke_token(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], token_id: Id
    ) -> Redirect:
        """Revoke one of the signed-in person's own tokens (anyone else's is not found)."""
        _, access, _ = await form_caller(request, hotel)
        if not await services_of(request).store.revoke_credential(
            CredentialKind.API_TOKEN, token_id, user_id=access.user.id
        ):
            raise NotFoundException("not found")
        return _done(access, "revoked")

    @post("/bot-tokens", status_code=200)
    async def create_bot_token(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Response[Any]:
        """A token for the hotel's channelbot (owners): its secret on this answer only."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.OWNER)
        current = language_of(request)
        try:
            body = BotTokenBody(name=str(form.get("name", "")).strip() or "bot")
        except ValidationError as invalid:
            errors = field_errors(invalid.errors(), ["name"], current)
            return await _page(request, principal, access, bot_errors=errors, status=422)
        try:
            check_token_lifetime(principal, None)
        except TokenOutlivesCaller:
            errors = {"": [current.gettext("A token cannot create one that outlives it.")]}
            return await _page(request, principal, access, bot_errors=errors, status=403)
        shown = await _issue_once(
            request,
            access,
            form,
            "bot",
            lambda attempt: issue_token(
                services_of(request),
                attempt,
                CredentialKind.BOT_TOKEN,
                hotel=access.hotel.slug,
                name=body.name,
            ),
        )
        return await _page(request, principal, access, new_token=shown)

    @post("/bot-tokens/{token_id:str}/revoke", status_code=303)
    async def revoke_bot_token(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], token_id: Id
    ) -> Redirect:
        _, access, _ = await form_caller(request, hotel)
        access.require(Role.OWNER)
        if not await services_of(request).store.revoke_credential(
            CredentialKind.BOT_TOKEN, token_id, hotel=access.hotel.slug
        ):
            raise NotFoundException("not found")
        return _done(access, "revoked")


async def _issue_once(
    request: Request[Any, Any, Any],
    access: HotelAccess,
    form: FormMultiDict,
    kind: str,
    issue: Callable[[Attempt], Awaitable[tuple[Credential, str]]],
) -> dict[str, str]:
    """Issue a token once per sending of its form: what the page shows of it.

    Through the API's ``Idempotency-Key`` handling, keyed by the form's
    ``attempt`` (a form without one makes its token each time, as a request
    without the header does). The answer recorded for a repeat holds the
    token's name, never its secret: the repeat shows that it was made, not the
    secret again.
    """
    key = form.get(ATTEMPT_FIELD)
    if key is not None and (not isinstance(key, str) or re.fullmatch(KEY_PATTERN, key) is None):
        raise ValidationException("malformed form")
    fields = sorted((name, value) for name, value in form.multi_items() if isinstance(value, str))
    once = Idempotency(
        request,
        services_of(request),
        caller=access.user.id,
        key=key,
        fingerprint=request_fingerprint(json.dumps(fields).encode(), ""),
    )
    secrets: list[str] = []

    async def make(attempt: Attempt) -> dict[str, str]:
        credential, secret = await issue(attempt)
        secrets.append(secret)
        return {"kind": kind, "name": credential.name}

    answer = await once.run(make)
    shown: dict[str, str] = json.loads(answer.content)
    shown["secret"] = secrets[0] if secrets else ""  # "": a repeat (the page says so)
    return shown


async def _other_member(
    request: Request[Any, Any, Any], access: HotelAccess, user_id: str
) -> Membership:
    """A member of this hotel other than the caller, for an owner to change (404, 403)."""
    access.require(Role.OWNER)
    member = await services_of(request).store.get_membership(access.hotel.slug, user_id)
    if member is None:
        raise NotFoundException("not found")
    if member.user_id == access.user.id:
        # The API allows it; a click here must not lock the last owner out of the hotel.
        raise PermissionDeniedException("ask another owner to change your own membership")
    return member


def _done(access: HotelAccess, what: str) -> Redirect:
    return Redirect(f"/hotels/{access.hotel.slug}/team?done={what}", status_code=303)


async def _page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: HotelAccess,
    *,
    done: str | None = None,
    new_token: dict[str, str] | None = None,
    token_errors: dict[str, list[str]] | None = None,
    bot_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Template:
    services = services_of(request)
    current = language_of(request)
    slug = access.hotel.slug
    members = []
    for membership in await services.store.list_memberships(hotel=slug):
        user = await services.store.get_user(membership.user_id)
        if user is not None:
            members.append({"user": user, "name": person_name(user), "role": membership.role})
    owner = access.role.includes(Role.OWNER)
    bot_tokens = (
        await services.store.list_credentials(CredentialKind.BOT_TOKEN, hotel=slug) if owner else []
    )
    return render(
        request,
        "team.html",
        chrome=await load_chrome(services, principal, access),
        status_code=status,
        hotel=access.hotel,
        members=members,
        me=access.user.id,
        owner=owner,
        roles=[(role.value, current.gettext(label)) for role, label in ROLE_LABELS.items()],
        tokens=await services.store.list_credentials(
            CredentialKind.API_TOKEN, user_id=access.user.id
        ),
        bot_tokens=bot_tokens,
        new_token=new_token,
        token_errors=token_errors or {},
        bot_errors=bot_errors or {},
        attempt=new_form_token(),
        expiry_choices=EXPIRY_CHOICES,
        done=None if done is None else current.gettext(DONE[done]),
        here=f"/hotels/{slug}/team",
    )
