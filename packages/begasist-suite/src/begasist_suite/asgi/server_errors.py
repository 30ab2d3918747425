"""Litestar's answer to an unhandled exception: logged with its traceback and request id.

Litestar logs exceptions only in debug mode, so without this a handler that
raised answered 500 and left no line in the log. Registered under status 500,
it takes every exception no other handler claims (and ``InternalServerException``).
A WebSocket handler's exception never reaches exception handlers (Litestar
closes the socket with 4500): :func:`log_websocket_error` is an
``after_exception`` hook for those.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, WebSocketException
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap, Scope

from begasist_suite.asgi.request_id import current_request

__all__ = ["SERVER_ERROR_HANDLERS", "internal_server_error", "log_websocket_error"]

log = logging.getLogger("begasist.requests")


def internal_server_error(
    request: Request[Any, Any, Any], error: Exception
) -> Response[dict[str, Any]]:
    """Log *error* with the request id and answer 500 with the id in the body."""
    context = current_request()
    request_id = context.id if context is not None else None
    if context is not None:
        context.error_logged = True
        if context.client_gone:
            # Litestar raises on a body cut short; the guard answered it (408) or nobody listens.
            log.info("request %s: the body ended early (%s)", request_id, request.url.path)
            return Response(
                {"status_code": 400, "detail": "incomplete request body"},
                status_code=HTTP_400_BAD_REQUEST,
            )
    log.error(
        "request %s: %s %s failed",
        request_id,
        request.method,
        request.url.path,
        exc_info=error,
    )
    return Response(
        {"status_code": 500, "detail": "Internal Server Error", "request_id": request_id},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


SERVER_ERROR_HANDLERS: ExceptionHandlersMap = {
    HTTP_500_INTERNAL_SERVER_ERROR: internal_server_error,
}


def log_websocket_error(error: Exception, scope: Scope) -> None:
    """Log what broke a WebSocket handler (not a refusal or a client leaving) with the id."""
    if scope["type"] != ScopeType.WEBSOCKET:
        return
    if isinstance(error, HTTPException | WebSocketException):
        return
    context = current_request()
    if context is not None:
        context.error_logged = True
    log.error(
        "request %s: WebSocket %s failed",
        None if context is None else context.id,
        scope["path"],
        exc_info=error,
    )
