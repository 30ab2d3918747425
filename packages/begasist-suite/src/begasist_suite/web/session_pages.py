"""Signing in and out, the language switch, and ``/`` (to the inbox or the sign-in page)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from begasist_suite.api.auth import sign_in
from begasist_suite.auth.principal import SESSION_COOKIE, Principal, resolve_principal
from begasist_suite.web.callers import FORM_TOKEN_FIELD, page_principal, services_of
from begasist_suite.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from begasist_suite.web.pages import render
from begasist_suite.web.security import FORM_COOKIE, safe_next, same_token

__all__ = ["SessionPages"]

LANGUAGE_COOKIE_SECONDS: Final = 365 * 24 * 3600
Next = Annotated[str | None, QueryParameter(max_length=2000)]


def _form_text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


async def _signed_in(request: Request[Any, Any, Any]) -> Principal | None:
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return await page_principal(request)
    except NotAuthorizedException:
        return None


async def first_page(request: Request[Any, Any, Any], principal: Principal) -> str:
    """Where a signed-in person starts: their first hotel's inbox, else the hotel list."""
    services = services_of(request)
    user = principal.user
    if user is None:
        return "/login"
    if user.platform_admin:
        hotels = [hotel.slug for hotel in await services.store.list_hotels()]
    else:
        hotels = [m.hotel for m in await services.store.list_memberships(user_id=user.id)]
    return f"/hotels/{hotels[0]}/inbox" if hotels else "/hotels"


class SessionPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Redirect:
        """The inbox when signed in, else the sign-in page."""
        principal = await _signed_in(request)
        if principal is None:
            return Redirect("/login", status_code=303)
        return Redirect(await first_page(request, principal), status_code=303)

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any], next: Next = None) -> Response[Any]:
        principal = await _signed_in(request)
        if principal is not None:
            return Redirect(
                safe_next(next) or await first_page(request, principal), status_code=303
            )
        return render(request, "login.html", next=safe_next(next), error=None, email="")

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Check the form's token, then the password through the API's own sign-in."""
        form = await request.form()
        email = _form_text(form.get("email"), 320).strip()
        next_page = safe_next(form.get("next"))

        def again(error: str, status_code: int) -> Template:
            return render(
                request,
                "login.html",
                next=next_page,
                error=error,
                email=email,
                status_code=status_code,
            )

        if not same_token(form.get(FORM_TOKEN_FIELD), request.cookies.get(FORM_COOKIE)):
            return again("expired", 403)
        password = _form_text(form.get("password"), 1024)
        if len(email) < 3 or not password:
            return again("wrong", 401)
        try:
            answer = await sign_in(request, services_of(request), email, password)
        except TooManyRequestsException as throttled:
            page = again("throttled", 429)
            page.headers.update(throttled.headers or {})
            return page
        except NotAuthorizedException:
            return again("wrong", 401)
        return Redirect(next_page or "/", status_code=303, cookies=answer.cookies)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        """End the session (its token checked, so no other site can sign anyone out)."""
        form = await request.form()
        services = services_of(request)
        token = form.get(FORM_TOKEN_FIELD)
        try:
            principal = await resolve_principal(
                request, services, csrf_token=token if isinstance(token, str) else ""
            )
        except NotAuthorizedException:
            return Redirect("/login", status_code=303)
        await services.store.delete_credential(principal.credential.digest)
        return Redirect(
            "/login",
            status_code=303,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value="",
                    max_age=0,
                    path="/",
                    httponly=True,
                    samesite="strict",
                    secure=services.settings.cookie_secure,
                )
            ],
        )

    @post("/language", status_code=303)
    async def choose_language(self, request: Request[Any, Any, Any]) -> Redirect:
        """Remember the chosen language (a cookie) and go back to the page it was chosen on."""
        form = await request.form()
        token = form.get(FORM_TOKEN_FIELD)
        signed_in = True
        try:
            # Signed in: the session's token, checked as for every other form (403).
            await resolve_principal(
                request, services_of(request), csrf_token=token if isinstance(token, str) else ""
            )
        except NotAuthorizedException:
            signed_in = False
        if not signed_in and not same_token(token, request.cookies.get(FORM_COOKIE)):
            return Redirect(safe_next(form.get("next")) or "/", status_code=303)
        chosen = form.get("lang")
        cookies = []
        if chosen in LANGUAGES:
            cookies.append(
                Cookie(
                    key=LANGUAGE_COOKIE,
                    value=str(chosen),
                    max_age=LANGUAGE_COOKIE_SECONDS,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=services_of(request).settings.cookie_secure,
                )
            )
        return Redirect(safe_next(form.get("next")) or "/", status_code=303, cookies=cookies)
