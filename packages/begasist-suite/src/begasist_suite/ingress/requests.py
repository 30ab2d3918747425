"""Reading a webhook request off ASGI: the body within its limit, headers a stream may hold."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl

from begasist_core import WebhookRequest
from litestar.types import Receive

__all__ = ["BodyTooLarge", "ClientDisconnected", "read_webhook_request"]

_DROPPED_HEADERS: Final = frozenset(
    {"cookie", "authorization", "proxy-authorization", "x-csrf-token", "x-api-key"}
)
"""Never written to the stream: credentials a provider does not send and a browser or
proxy might (the stream, and the dead letters made of it, are readable by managers)."""


class BodyTooLarge(Exception):
    """The body is over the limit, or its declared length is unreadable (answer 413)."""


class ClientDisconnected(Exception):
    """The client went away before the whole body arrived: there is no request to take."""


async def read_webhook_request(scope: Any, receive: Receive, limit: int) -> WebhookRequest:
    """The request of *scope*: method, headers (credentials dropped), query and whole body."""
    body = await _read_body(scope, receive, limit)
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name not in _DROPPED_HEADERS:
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    query = dict(
        parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    )
    return WebhookRequest(method=scope["method"], headers=headers, query=query, body=body)


async def _read_body(scope: Any, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                if int(value) > limit:
                    raise BodyTooLarge
            except ValueError:
                raise BodyTooLarge from None  # unreadable length: refuse rather than guess
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
