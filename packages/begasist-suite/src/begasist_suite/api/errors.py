"""Mapping the store's and the settings' errors to HTTP answers."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from begasist_suite.asgi.request_id import current_request
from begasist_suite.channel_settings import InvalidSettings
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.store.store import Conflict, NotFound

__all__ = ["EXCEPTION_HANDLERS", "REDIS_DOWN", "redis_unavailable_response"]

log = logging.getLogger("begasist.requests")

REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
"""What a route that reads Redis (status, presence, dead letters) raises while Redis is
down or too slow: answered 503 with ``Retry-After``, never a 500."""


def _not_found(_: Request[Any, Any, Any], error: NotFound) -> Response[dict[str, Any]]:
    return Response({"status_code": 404, "detail": "not found"}, status_code=HTTP_404_NOT_FOUND)


def _conflict(_: Request[Any, Any, Any], error: Conflict) -> Response[dict[str, Any]]:
    return Response({"status_code": 409, "detail": str(error)}, status_code=HTTP_409_CONFLICT)


def _invalid_settings(
    _: Request[Any, Any, Any], error: InvalidSettings
) -> Response[dict[str, Any]]:
    return Response(
        {"status_code": 422, "detail": "invalid settings", "errors": error.errors},
        status_code=HTTP_422_UNPROCESSABLE_ENTITY,
    )


def _undecryptable(
    _: Request[Any, Any, Any], error: UndecryptableSecret
) -> Response[dict[str, Any]]:
    detail = "stored channel secrets do not decrypt with BEGASIST_SECRET_KEY; enter them again"
    return Response({"status_code": 409, "detail": detail}, status_code=HTTP_409_CONFLICT)


def redis_unavailable_response(request: Request[Any, Any, Any], error: Exception) -> None:
    """Log one line (no traceback: nothing is broken here) for a route Redis failed."""
    context = current_request()
    if context is not None:
        context.error_logged = True
    log.warning(
        "request %s: %s %s: Redis is unavailable (%s): answered 503",
        None if context is None else context.id,
        request.method,
        request.url.path,
        type(error).__name__,
    )


def _redis_unavailable(
    request: Request[Any, Any, Any], error: Exception
) -> Response[dict[str, Any]]:
    redis_unavailable_response(request, error)
    return Response(
        {"status_code": 503, "detail": "Redis is unavailable for a moment: retry"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    **dict.fromkeys(REDIS_DOWN, _redis_unavailable),
    UndecryptableSecret: _undecryptable,
    NotFound: _not_found,
    Conflict: _conflict,
    InvalidSettings: _invalid_settings,
}
