"""Mapping the store's and the settings' errors to HTTP answers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from litestar.types import ExceptionHandlersMap

from begasist_suite.channel_settings import InvalidSettings
from begasist_suite.secret_box import UndecryptableSecret
from begasist_suite.store.store import Conflict, NotFound

__all__ = ["EXCEPTION_HANDLERS"]


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


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    UndecryptableSecret: _undecryptable,
    NotFound: _not_found,
    Conflict: _conflict,
    InvalidSettings: _invalid_settings,
}
