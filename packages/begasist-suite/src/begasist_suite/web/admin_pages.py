"""The platform admin's Hotels pages: every hotel (paged), create one, delete one behind a
confirm step; and the check every admin page and form makes.

Only a platform admin (``User.platform_admin``) reaches ``/admin/...``: anyone else,
the owners of hotels included, gets 403, as the API answers them. Creating and
deleting go through the same store calls as ``POST`` and ``DELETE /api/v1/hotels``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from begasist_core import HotelSlug
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from begasist_suite.auth.principal import Principal, resolve_principal
from begasist_suite.store.records import Hotel, TimeZoneName
from begasist_suite.store.store import Conflict
from begasist_suite.web.callers import FORM_TOKEN_FIELD, page_principal, services_of
from begasist_suite.web.field_errors import FieldErrors, field_errors
from begasist_suite.web.i18n import N_
from begasist_suite.web.pages import language_of, load_chrome, render, time_zone_names
from begasist_suite.web.team_forms import done_message

__all__ = ["PAGE_SIZE", "AdminHotelPages", "admin_form", "admin_page", "render_admin"]

PAGE_SIZE: Final = 50
"""Rows of an admin list per page, as the API's lists default to."""
Cursor = Annotated[str | None, QueryParameter(max_length=320)]
Done = Annotated[str | None, QueryParameter(max_length=16)]
HOTEL_FIELDS: Final = ("slug", "name", "default_language", "timezone")
DONE: Final = {
    "created": N_("The hotel is created. Add its people on the Users page."),
    "deleted": N_("The hotel and everything in it are deleted."),
}


class NewHotelForm(BaseModel):
    """The create form: the API's ``NewHotel`` plus the language and zone the page asks."""

    model_config = ConfigDict(extra="forbid")
    slug: HotelSlug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    default_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "en"
    timezone: TimeZoneName = "UTC"


def _require_admin(principal: Principal) -> Principal:
    if principal.user is None or not principal.user.platform_admin:
        raise PermissionDeniedException("only a platform admin")
    return principal


async def admin_page(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in platform admin (401 signed out: the sign-in page; 403 anyone else)."""
    return _require_admin(await page_principal(request))


async def admin_form(request: Request[Any, Any, Any]) -> tuple[Principal, FormMultiDict]:
    """A posted admin form's sender (its CSRF token checked: 403) and its fields."""
    form = await request.form()
    token = form.get(FORM_TOKEN_FIELD)
    principal = await resolve_principal(
        request, services_of(request), csrf_token=token if isinstance(token, str) else ""
    )
    return _require_admin(principal), form


async def render_admin(
    request: Request[Any, Any, Any],
    principal: Principal,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> Template:
    """An admin page: the top bar of no hotel (times in UTC)."""
    chrome = await load_chrome(services_of(request), principal, None)
    return render(request, template, chrome=chrome, status_code=status, **context)


class AdminHotelPages(Controller):
    path = "/admin/hotels"
    include_in_schema = False

    @get("/")
    async def hotels(
        self, request: Request[Any, Any, Any], cursor: Cursor = None, done: Done = None
    ) -> Template:
        """Every hotel by slug, a page at a time, and the create form."""
        principal = await admin_page(request)
        return await _hotels_page(request, principal, cursor=cursor, done=done)

    @post("/", status_code=303)
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Create a hotel; 422 with the errors next to their fields, 409 for a taken slug."""
        principal, form = await admin_form(request)
        current = language_of(request)
        typed = {name: str(form.get(name, "")).strip() for name in HOTEL_FIELDS}
        try:
            body = NewHotelForm.model_validate(typed)
        except ValidationError as invalid:
            errors = field_errors(invalid.errors(), HOTEL_FIELDS, current)
            return await _hotels_page(request, principal, typed=typed, errors=errors, status=422)
        try:
            await services_of(request).store.create_hotel(_new_hotel(body))
        except Conflict:
            errors = {"slug": [current.gettext("A hotel with this slug exists already.")]}
            return await _hotels_page(request, principal, typed=typed, errors=errors, status=409)
        return Redirect("/admin/hotels?done=created", status_code=303)

    @get("/{hotel:str}/delete")
    async def confirm_delete(
        self, request: Request[Any, Any, Any], hotel: FromPath[str]
    ) -> Template:
        """The confirm step: what goes, and a box to type the slug in."""
        principal = await admin_page(request)
        return await _delete_page(request, principal, hotel)

    @post("/{hotel:str}/delete", status_code=303)
    async def delete(self, request: Request[Any, Any, Any], hotel: FromPath[str]) -> Response[Any]:
        """Delete the hotel and everything in it, once its slug is typed (else 422)."""
        principal, form = await admin_form(request)
        services = services_of(request)
        found = await services.store.get_hotel(hotel)
        if found is None:
            raise NotFoundException("not found")
        if str(form.get("confirm", "")).strip() != found.slug:
            message = language_of(request).gettext("Type the hotel's slug exactly to delete it.")
            return await _delete_page(request, principal, hotel, error=message)
        await services.store.delete_hotel(found.slug)
        return Redirect("/admin/hotels?done=deleted", status_code=303)


def _new_hotel(body: NewHotelForm) -> Hotel:
    return Hotel(
        slug=body.slug,
        name=body.name,
        default_language=body.default_language,
        timezone=body.timezone,
    )


async def _hotels_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    *,
    cursor: str | None = None,
    done: str | None = None,
    typed: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Template:
    page = await services_of(request).store.page_hotels(limit=PAGE_SIZE, cursor=cursor)
    return await render_admin(
        request,
        principal,
        "admin_hotels.html",
        status=status,
        hotels=page.items,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
        typed=typed or {"default_language": "en", "timezone": "UTC"},
        errors=errors or {},
        time_zones=time_zone_names(),
        done=done_message(DONE, done, language_of(request)),
    )


async def _delete_page(
    request: Request[Any, Any, Any], principal: Principal, slug: str, *, error: str = ""
) -> Template:
    found = await services_of(request).store.get_hotel(slug)
    if found is None:
        raise NotFoundException("not found")
    return await render_admin(
        request,
        principal,
        "admin_hotel_delete.html",
        status=422 if error else 200,
        hotel=found,
        error=error,
    )
