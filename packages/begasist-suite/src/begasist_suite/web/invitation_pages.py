"""The invitation link's page: the invitee sets a name and password, or signs in, and joins.

Public (the link is the credential), so its form carries the double-submit
token of the sign-in form, and every answer goes through the API's own
``usable_invitation`` and ``accept_invitation``: the same rate limit as the
login, the same once-only take. A used, revoked, expired or unknown link
shows a page that says so and offers nothing to post.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from begasist_suite.api.invitations import (
    MIN_PASSWORD_LENGTH,
    InvitationUnusable,
    accept_invitation,
    usable_invitation,
)
from begasist_suite.store.records import Invitation
from begasist_suite.web.callers import FORM_TOKEN_FIELD, services_of
from begasist_suite.web.pages import language_of, render
from begasist_suite.web.security import FORM_COOKIE, same_token
from begasist_suite.web.team_forms import ROLE_LABELS

__all__ = ["InvitationPages"]

Token = Annotated[str, PathParameter(min_length=8, max_length=128)]
GONE: Final = {"used": 410, "revoked": 410, "expired": 410, "unknown": 404}


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


class InvitationPages(Controller):
    path = "/invitations"
    include_in_schema = False

    @get("/{token:str}")
    async def invitation(self, request: Request[Any, Any, Any], token: Token) -> Template:
        """The invitation and its form, or why the link no longer works."""
        try:
            invitation = await usable_invitation(request, services_of(request), token)
        except InvitationUnusable as unusable:
            return _gone(request, unusable.reason)
        except NotFoundException:
            return _gone(request, "unknown")
        except TooManyRequestsException as throttled:
            return _gone(request, "throttled", 429, throttled.headers)
        return await _page(request, invitation)

    @post("/{token:str}", status_code=303)
    async def accept(self, request: Request[Any, Any, Any], token: Token) -> Response[Any]:
        """Accept: the new account's name and password, or the existing one's password."""
        form = await request.form()
        services = services_of(request)
        try:
            invitation = await usable_invitation(request, services, token)
        except InvitationUnusable as unusable:
            return _gone(request, unusable.reason)
        except NotFoundException:
            return _gone(request, "unknown")
        except TooManyRequestsException as throttled:
            return _gone(request, "throttled", 429, throttled.headers)
        name = _text(form.get("display_name"), 200).strip()
        if not same_token(form.get(FORM_TOKEN_FIELD), request.cookies.get(FORM_COOKIE)):
            return await _page(request, invitation, error="expired", name=name, status=403)
        password = _text(form.get("password"), 1024)
        if not password:
            return await _page(request, invitation, error="password", name=name, status=400)
        try:
            taken, answer = await accept_invitation(
                request, services, token, password, name or None
            )
        except InvitationUnusable as unusable:
            return _gone(request, unusable.reason)
        except TooManyRequestsException as throttled:
            page = await _page(request, invitation, error="throttled", name=name, status=429)
            page.headers.update(throttled.headers or {})
            return page
        except NotAuthorizedException:
            return await _page(request, invitation, error="wrong", status=401)
        except ValidationException:
            error = "name" if not name else "short"
            return await _page(request, invitation, error=error, name=name, status=400)
        except HTTPException as refused:  # 409: an account with the email appeared meanwhile
            return await _page(request, invitation, error="exists", status=refused.status_code)
        return Redirect(f"/hotels/{taken.hotel}/inbox", status_code=303, cookies=answer.cookies)


def _gone(
    request: Request[Any, Any, Any],
    reason: str,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    page = render(
        request, "invitation.html", gone=reason, status_code=status or GONE.get(reason, 410)
    )
    page.headers.update(headers or {})
    return page


async def _page(
    request: Request[Any, Any, Any],
    invitation: Invitation,
    *,
    error: str | None = None,
    name: str = "",
    status: int = 200,
) -> Template:
    services = services_of(request)
    hotel = await services.store.get_hotel(invitation.hotel)
    if hotel is None:
        return _gone(request, "unknown")
    current = language_of(request)
    return render(
        request,
        "invitation.html",
        status_code=status,
        gone=None,
        invitation=invitation,
        hotel=hotel,
        role=current.gettext(ROLE_LABELS[invitation.role]),
        has_account=await services.store.get_user_by_email(invitation.email) is not None,
        error=error,
        name=name,
        min_length=MIN_PASSWORD_LENGTH,
    )
