"""The Team page: the hotel's members and roles (owners change them), invitations to join
(managers), the person's own API tokens, and the hotel's bot tokens (owners).

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

from datetime import timedelta
from typing import Annotated, Any, Final

from begasist_core import utc_now
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from begasist_suite.api.auth import TokenBody
from begasist_suite.api.hotels import BotTokenBody
from begasist_suite.api.idempotency import Attempt
from begasist_suite.api.invitations import (
    InvitationBody,
    create_invitation,
    invitation_link,
)
from begasist_suite.api.token_issue import issue_token
from begasist_suite.auth.principal import HotelAccess, Principal
from begasist_suite.auth.token_lifetimes import TokenOutlivesCaller, check_token_lifetime
from begasist_suite.store.records import CredentialKind, Membership, Role
from begasist_suite.web.callers import form_caller, page_access, services_of
from begasist_suite.web.field_errors import field_errors
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of, load_chrome, render
from begasist_suite.web.security import new_form_token
from begasist_suite.web.team_forms import done_message, issue_once, redirect_done, role_choices
from begasist_suite.web.views import person_name

__all__ = ["TeamPages"]

Id = Annotated[str, PathParameter(max_length=64)]
EXPIRY_CHOICES: Final = ("30", "90", "365", "")
"""Days a new personal token lives ("" never expires)."""
DONE: Final = {
    "role": N_("The role is changed."),
    "removed": N_("The member is removed from this hotel."),
    "revoked": N_("The token is revoked: it no longer works."),
    "uninvited": N_("The invitation is revoked: its link no longer works."),
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
        return await _page(request, principal, access, done=done)

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
            return redirect_done(access, "team", "role")
        await services_of(request).store.set_membership(
            Membership(hotel=member.hotel, user_id=member.user_id, role=role)
        )
        return redirect_done(access, "team", "role")

    @post("/members/{user_id:str}/remove", status_code=303)
    async def remove(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], user_id: Id
    ) -> Redirect:
        """Remove another member from the hotel (owners)."""
        _, access, _ = await form_caller(request, hotel)
        member = await _other_member(request, access, user_id)
        await services_of(request).store.remove_membership(member.hotel, member.user_id)
        return redirect_done(access, "team", "removed")

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

        async def issue(attempt: Attempt) -> tuple[str, str]:
            credential, secret = await issue_token(
                services_of(request),
                attempt,
                CredentialKind.API_TOKEN,
                user_id=access.user.id,
                name=body.name,
                expires_at=expires,
            )
            return credential.name, secret

        shown = await issue_once(request, access, form, "personal", issue)
        return await _page(request, principal, access, new_token=shown)

    @post("/invitations", status_code=200)
    async def invite(self, request: Request[Any, Any, Any], hotel: FromPath[str]) -> Response[Any]:
        """Invite someone by email (managers, a role up to theirs): the link on this answer
        only, copy-ready."""
        principal, access, form = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        current = language_of(request)
        try:
            body = InvitationBody.model_validate(
                {"email": str(form.get("email", "")).strip(), "role": form.get("role", "agent")}
            )
        except ValidationError as invalid:
            errors = field_errors(invalid.errors(), ["email", "role"], current)
            return await _page(request, principal, access, invite_errors=errors, status=422)
        services = services_of(request)

        async def issue(attempt: Attempt) -> tuple[str, str]:
            invitation, secret = await create_invitation(services, access, body.email, body.role)
            return invitation.email, invitation_link(services, request, secret)

        try:
            shown = await issue_once(request, access, form, "invitation", issue)
        except HTTPException as refused:
            if refused.status_code != 409:
                raise
            errors = {"email": [current.gettext("That person is a member of this hotel already.")]}
            return await _page(request, principal, access, invite_errors=errors, status=409)
        return await _page(request, principal, access, new_token=shown)

    @post("/invitations/{invitation_id:str}/revoke", status_code=303)
    async def revoke_invitation(
        self, request: Request[Any, Any, Any], hotel: FromPath[str], invitation_id: Id
    ) -> Redirect:
        """Revoke a pending invitation (managers): its link stops working."""
        _, access, _ = await form_caller(request, hotel)
        access.require(Role.MANAGER)
        if not await services_of(request).store.revoke_invitation(access.hotel.slug, invitation_id):
            raise NotFoundException("not found")
        return redirect_done(access, "team", "uninvited")

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
        return redirect_done(access, "team", "revoked")

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

        async def issue(attempt: Attempt) -> tuple[str, str]:
            credential, secret = await issue_token(
                services_of(request),
                attempt,
                CredentialKind.BOT_TOKEN,
                hotel=access.hotel.slug,
                name=body.name,
            )
            return credential.name, secret

        shown = await issue_once(request, access, form, "bot", issue)
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
        return redirect_done(access, "team", "revoked")


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


async def _page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: HotelAccess,
    *,
    done: str | None = None,
    new_token: dict[str, str] | None = None,
    token_errors: dict[str, list[str]] | None = None,
    bot_errors: dict[str, list[str]] | None = None,
    invite_errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Template:
    services = services_of(request)
    current = language_of(request)
    slug = access.hotel.slug
    memberships = await services.store.list_memberships(hotel=slug)
    users = await services.store.get_users(m.user_id for m in memberships)
    members = [
        {"user": users[m.user_id], "name": person_name(users[m.user_id]), "role": m.role}
        for m in memberships
        if m.user_id in users
    ]
    owner = access.role.includes(Role.OWNER)
    manager = access.role.includes(Role.MANAGER)
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
        manager=manager,
        roles=role_choices(current),
        invite_roles=role_choices(current, access.role),
        invitations=await services.store.list_invitations(slug) if manager else [],
        invite_errors=invite_errors or {},
        tokens=await services.store.list_credentials(
            CredentialKind.API_TOKEN, user_id=access.user.id
        ),
        bot_tokens=bot_tokens,
        new_token=new_token,
        token_errors=token_errors or {},
        bot_errors=bot_errors or {},
        attempt=new_form_token(),
        expiry_choices=EXPIRY_CHOICES,
        done=done_message(DONE, done, current),
        here=f"/hotels/{slug}/team",
    )
