"""Every HTTP request and WebSocket passes :class:`RequestGuard` before any route sees it.

In order, at O(number of headers) with small constants (the webhook ingress
is benchmarked):

1. Header limits: more than ``BEGASIST_MAX_REQUEST_HEADERS`` headers, or
   names and values over ``BEGASIST_MAX_HEADER_BYTES`` in all, answer 431
   (a WebSocket is refused) before any code reads them: nothing downstream
   walks an unbounded header list before authentication.
2. A request id (a proxy's well-formed ``X-Request-ID``, else a new one),
   sent back in ``X-Request-ID`` on every response and current for the
   request's task (:func:`~begasist_suite.asgi.request_id.current_request`).
3. A deadline for the body (:class:`~begasist_suite.asgi.exchange.Exchange`):
   ``BEGASIST_REQUEST_READ_TIMEOUT_SECONDS`` after the headers, 408.
4. Server errors: an exception that escapes the app is logged with its
   traceback and the request id and answered 500 with the id in the JSON
   body; any other 5xx answer is logged with the id (method and path, never
   the query, which may hold a provider's token).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from begasist_core.log_format import log_context

from begasist_suite.asgi.exchange import Exchange, Receive, Scope, Send
from begasist_suite.asgi.request_id import (
    REQUEST_ID_HEADER,
    RequestContext,
    bind_request,
    release_request,
    request_id_from,
    request_log_fields,
)
from begasist_suite.config import SuiteSettings

__all__ = ["ASGIApp", "RequestGuard"]

log = logging.getLogger("begasist.requests")

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_TOO_LARGE = b'{"status_code":431,"detail":"request header fields too large"}'


class RequestGuard:
    """Wraps one request's call of the app (module docstring)."""

    def __init__(self, *, max_headers: int, max_header_bytes: int, body_timeout: float) -> None:
        self.max_headers = max_headers
        self.max_header_bytes = max_header_bytes
        self.body_timeout = body_timeout

    @classmethod
    def from_settings(cls, settings: SuiteSettings) -> RequestGuard:
        return cls(
            max_headers=settings.max_request_headers,
            max_header_bytes=settings.max_header_bytes,
            body_timeout=settings.request_read_timeout_seconds,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        headers = scope["headers"]
        count = len(headers)
        incoming: bytes | None = None
        size = 0
        if count <= self.max_headers:  # the count first: a flood is refused without a walk
            for name, value in headers:
                size += len(name) + len(value)
                if name == REQUEST_ID_HEADER:
                    incoming = value
        if count > self.max_headers or size > self.max_header_bytes:
            await _refuse_headers(scope, send, count=count)
            return
        context = RequestContext(request_id_from(incoming))
        exchange = Exchange(scope, receive, send, context, body_timeout=self.body_timeout)
        token = bind_request(context)
        try:
            with log_context(**request_log_fields(scope["path"], context.id)):
                await app(scope, exchange.receive, exchange.send)
        except Exception:
            context.error_logged = True
            log.exception(
                "request %s: %s %s failed",
                context.id,
                scope.get("method", "WEBSOCKET"),
                scope["path"],
                extra=request_log_fields(scope["path"], context.id),
            )
            await exchange.answer(500, "Internal Server Error")
        finally:
            release_request(token)
        if exchange.status is not None and exchange.status >= 500 and not context.error_logged:
            log.warning(
                "request %s: %s %s answered %d",
                context.id,
                scope.get("method", "WEBSOCKET"),
                scope["path"],
                exchange.status,
            )


async def _refuse_headers(scope: Scope, send: Send, *, count: int) -> None:
    log.info("%s: refused %d request headers over the limits", scope["path"], count)
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": ""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE, "more_body": False})
