"""Who is asking for a page or posting a form, checked exactly as the API checks callers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict

from begasist_suite.auth.principal import HotelAccess, Principal, hotel_access, resolve_principal
from begasist_suite.services import Services

__all__ = [
    "FORM_TOKEN_FIELD",
    "form_access",
    "form_caller",
    "page_access",
    "page_principal",
    "services_of",
]

FORM_TOKEN_FIELD = "form_token"
"""The hidden field of every form: the session's CSRF token (the API's ``X-CSRF-Token``)."""


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


async def page_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in person (401, which the pages turn into the sign-in page, if none)."""
    return await resolve_principal(request, services_of(request))


async def page_access(request: Request[Any, Any, Any], hotel: str) -> tuple[Principal, HotelAccess]:
    """Who, and their access to *hotel*: 404 for a hotel they are not in, as for one that
    does not exist."""
    principal = await page_principal(request)
    return principal, await hotel_access(hotel, principal, services_of(request))


async def form_access(
    request: Request[Any, Any, Any], hotel: str
) -> tuple[HotelAccess, FormMultiDict]:
    """A posted form's sender and fields, its token checked against their session (403)."""
    _, access, form = await form_caller(request, hotel)
    return access, form


async def form_caller(
    request: Request[Any, Any, Any], hotel: str
) -> tuple[Principal, HotelAccess, FormMultiDict]:
    """As :func:`form_access`, with the principal too (for a form answered with a page)."""
    form = await request.form()
    services = services_of(request)
    token = form.get(FORM_TOKEN_FIELD)
    principal = await resolve_principal(
        request, services, csrf_token=token if isinstance(token, str) else ""
    )
    return principal, await hotel_access(hotel, principal, services), form
