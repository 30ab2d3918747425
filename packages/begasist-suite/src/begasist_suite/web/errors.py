"""Error pages of the web app: sign-in for an expired session, 404 for anything not yours."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from begasist_suite.store.store import Conflict, NotFound
from begasist_suite.web.pages import render

__all__ = ["WEB_EXCEPTION_HANDLERS"]


def _sign_in_again(request: Request[Any, Any, Any], _: NotAuthorizedException) -> Response[Any]:
    """To the sign-in page, remembering the page (only a GET's: a form is posted again by hand)."""
    target = "/login"
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(here, safe="")
    return Redirect(target, status_code=303)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    # One page per status, never the exception's text: a hotel that exists but is
    # not yours and one that does not exist must look the same.
    return render(request, "error.html", status=error.status_code, status_code=error.status_code)


def _not_found(request: Request[Any, Any, Any], _: NotFound) -> Response[Any]:
    return render(request, "error.html", status=404, status_code=404)


def _conflict(request: Request[Any, Any, Any], _: Conflict) -> Response[Any]:
    return render(request, "error.html", status=409, status_code=409)


WEB_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotAuthorizedException: _sign_in_again,
    HTTPException: _http_error,
    NotFound: _not_found,
    Conflict: _conflict,
}
