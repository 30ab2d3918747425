"""The platform admin's Users pages: every user (paged), create one, and per user: disable /
enable, grant / revoke platform admin (never one's own), add to a hotel with a role.

Through the store's own calls, as ``begasist users ...`` (cli_admin.py) and the
API's ``PUT /api/v1/hotels/{hotel}/members/{user_id}`` do. A disabled user is
refused by every check at once, and their open live sockets close (api/live.py
re-checks access when it changes).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from begasist_suite.api.invitations import MIN_PASSWORD_LENGTH, Email
from begasist_suite.auth.credentials import hash_password
from begasist_suite.auth.principal import Principal
from begasist_suite.store.records import Membership, Role, User
from begasist_suite.store.store import Conflict
from begasist_suite.web.admin_pages import PAGE_SIZE, admin_form, admin_page, render_admin
from begasist_suite.web.callers import services_of
from begasist_suite.web.field_errors import FieldErrors, field_errors
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of
from begasist_suite.web.team_forms import done_message, role_choices

__all__ = ["AdminUserPages"]

UserId = Annotated[str, PathParameter(max_length=64)]
Cursor = Annotated[str | None, QueryParameter(max_length=320)]
Done = Annotated[str | None, QueryParameter(max_length=16)]
USER_FIELDS: Final = ("email", "display_name", "password")
DONE: Final = {
    "created": N_("The user is created."),
    "disabled": N_(
        "The user is disabled: their sessions and tokens are refused until they are enabled again."
    ),
    "enabled": N_("The user is enabled: they can sign in again."),
    "admin": N_("The user is a platform admin now."),
    "unadmin": N_("The user is no longer a platform admin."),
    "member": N_("The user's role in the hotel is saved."),
}


class NewUserForm(BaseModel):
    """The create form; no password makes a user who cannot sign in with one."""

    model_config = ConfigDict(extra="forbid")
    email: Email
    display_name: Annotated[str, Field(max_length=200)] = ""
    password: Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)] | None = None


class AdminUserPages(Controller):
    path = "/admin/users"
    include_in_schema = False

    @get("/")
    async def users(
        self, request: Request[Any, Any, Any], cursor: Cursor = None, done: Done = None
    ) -> Template:
        """Every user by email, a page at a time (``cursor``: the last email shown)."""
        principal = await admin_page(request)
        return await _users_page(request, principal, cursor=cursor, done=done)

    @post("/", status_code=303)
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Create a user; 422 with the errors next to their fields, 409 for a taken email."""
        principal, form = await admin_form(request)
        current = language_of(request)
        typed = {name: str(form.get(name, "")).strip() for name in USER_FIELDS}
        password = str(form.get("password", ""))  # as typed: spaces may be part of it
        try:
            body = NewUserForm.model_validate({**typed, "password": password or None})
        except ValidationError as invalid:
            errors = field_errors(invalid.errors(), USER_FIELDS, current)
            return await _users_page(request, principal, typed=typed, errors=errors, status=422)
        user = User(
            email=body.email,
            display_name=body.display_name,
            password_hash=None if body.password is None else hash_password(body.password),
        )
        try:
            created = await services_of(request).store.create_user(user)
        except Conflict:
            errors = {"email": [current.gettext("A user with this email exists already.")]}
            return await _users_page(request, principal, typed=typed, errors=errors, status=409)
        return Redirect(f"/admin/users/{created.id}?done=created", status_code=303)

    @get("/{user_id:str}")
    async def user(
        self, request: Request[Any, Any, Any], user_id: UserId, done: Done = None
    ) -> Template:
        """One user: their state, their hotels and roles, and what can change."""
        principal = await admin_page(request)
        return await _user_page(request, principal, user_id, done=done)

    @post("/{user_id:str}/disabled", status_code=303)
    async def set_disabled(self, request: Request[Any, Any, Any], user_id: UserId) -> Redirect:
        """``disabled=true`` or ``false`` (never one's own account)."""
        principal, form = await admin_form(request)
        user = await _other_user(request, principal, user_id)
        disabled = form.get("disabled") == "true"
        await services_of(request).store.update_user(user.model_copy(update={"disabled": disabled}))
        return _done(user, "disabled" if disabled else "enabled")

    @post("/{user_id:str}/admin", status_code=303)
    async def set_admin(self, request: Request[Any, Any, Any], user_id: UserId) -> Redirect:
        """``platform_admin=true`` or ``false`` (never one's own)."""
        principal, form = await admin_form(request)
        user = await _other_user(request, principal, user_id)
        admin = form.get("platform_admin") == "true"
        changed = user.model_copy(update={"platform_admin": admin})
        await services_of(request).store.update_user(changed)
        return _done(user, "admin" if admin else "unadmin")

    @post("/{user_id:str}/memberships", status_code=303)
    async def add_membership(
        self, request: Request[Any, Any, Any], user_id: UserId
    ) -> Response[Any]:
        """Add the user to ``hotel`` with ``role`` (or change their role there)."""
        principal, form = await admin_form(request)
        services = services_of(request)
        user = await services.store.get_user(user_id)
        if user is None:
            raise NotFoundException("not found")
        current = language_of(request)
        errors: FieldErrors = {}
        hotel = await services.store.get_hotel(str(form.get("hotel", "")))
        if hotel is None:
            errors["hotel"] = [current.gettext("Choose one of the options.")]
        try:
            role = Role(str(form.get("role", "")))
        except ValueError:
            errors["role"] = [current.gettext("Choose one of the options.")]
        if errors or hotel is None:
            return await _user_page(request, principal, user_id, errors=errors, status=422)
        await services.store.set_membership(
            Membership(hotel=hotel.slug, user_id=user.id, role=role)
        )
        return _done(user, "member")


def _done(user: User, what: str) -> Redirect:
    return Redirect(f"/admin/users/{user.id}?done={what}", status_code=303)


async def _other_user(request: Request[Any, Any, Any], principal: Principal, user_id: str) -> User:
    """A user other than the caller (404, 403): an admin cannot lock themselves out."""
    user = await services_of(request).store.get_user(user_id)
    if user is None:
        raise NotFoundException("not found")
    assert principal.user is not None  # admin_form checked it
    if user.id == principal.user.id:
        raise PermissionDeniedException("ask another platform admin to change your own account")
    return user


async def _users_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    *,
    cursor: str | None = None,
    done: str | None = None,
    typed: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Template:
    # The store lists users whole (as the CLI does); the page shows PAGE_SIZE by email.
    everyone = await services_of(request).store.list_users()
    after = [u for u in everyone if cursor is None or u.email > cursor]
    shown = after[:PAGE_SIZE]
    return await render_admin(
        request,
        principal,
        "admin_users.html",
        status=status,
        users=shown,
        next_cursor=shown[-1].email if len(after) > PAGE_SIZE else None,
        first_page=cursor is None,
        me=principal.user.id if principal.user else "",
        typed={k: v for k, v in (typed or {}).items() if k != "password"},
        errors=errors or {},
        done=done_message(DONE, done, language_of(request)),
    )


async def _user_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    user_id: str,
    *,
    done: str | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Template:
    services = services_of(request)
    user = await services.store.get_user(user_id)
    if user is None:
        raise NotFoundException("not found")
    memberships = await services.store.list_memberships(user_id=user.id)
    names = {
        h.slug: h.name for h in await services.store.list_hotels({m.hotel for m in memberships})
    }
    current = language_of(request)
    return await render_admin(
        request,
        principal,
        "admin_user.html",
        status=status,
        user=user,
        me=principal.user.id if principal.user else "",
        memberships=[(m, names.get(m.hotel, m.hotel)) for m in memberships],
        roles=role_choices(current),
        errors=errors or {},
        done=done_message(DONE, done, current),
    )
