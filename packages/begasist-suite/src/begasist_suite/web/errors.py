"""Error pages of the web app: sign-in for an expired session, 404 for anything not yours,
and a page for a server error, logged with its request id as the API's are."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from begasist_suite.api.errors import REDIS_DOWN, redis_unavailable_response
from begasist_suite.asgi.server_errors import internal_server_error
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


def _server_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Logged with its traceback and request id by the suite's own handler, then the page."""
    logged = internal_server_error(request, error)
    if logged.status_code != HTTP_500_INTERNAL_SERVER_ERROR:
        return logged  # the body ended early: nobody reads a page
    return render(request, "error.html", status=500, status_code=500)


def _redis_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    redis_unavailable_response(request, error)
    page = render(request, "error.html", status=503, status_code=503)
    page.headers["Retry-After"] = "1"
    return page


WEB_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    **dict.fromkeys(REDIS_DOWN, _redis_unavailable),
    HTTP_500_INTERNAL_SERVER_ERROR: _server_error,
    NotAuthorizedException: _sign_in_again,
    HTTPException: _http_error,
    NotFound: _not_found,
    Conflict: _conflict,
}
