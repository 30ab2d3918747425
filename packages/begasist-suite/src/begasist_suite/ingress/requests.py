"""Reading a webhook request off ASGI: the body within its limit, headers a stream may hold."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl

from begasist_core import WebhookRequest
from litestar.types import Receive

__all__ = ["BodyTooLarge", "ClientDisconnected", "HeadersTooLarge", "read_webhook_request"]

_DROPPED_HEADERS: Final = frozenset(
    {"cookie", "authorization", "proxy-authorization", "x-csrf-token", "x-api-key"}
)
"""Never written to the stream: credentials a provider does not send and a browser or
proxy might (the stream, and the dead letters made of it, are readable by managers)."""


class BodyTooLarge(Exception):
    """The body is over the limit, or its declared length is unreadable (answer 413)."""


class HeadersTooLarge(Exception):
    """The headers and query alone are over the limit (answer 431)."""


class ClientDisconnected(Exception):
    """The client went away before the whole body arrived: there is no request to take."""


async def read_webhook_request(scope: Any, receive: Receive, limit: int) -> WebhookRequest:
    """The request of *scope*: method, headers (credentials dropped), query and whole body.

    *limit* bounds what the request puts in the stream: header names and values,
    query string and body together (HeadersTooLarge when the first two alone are
    over it, else BodyTooLarge). Repeated headers are joined with ``", "``
    (RFC 9110), in one pass linear in the header block.
    """
    values: dict[str, list[str]] = {}
    query_string: bytes = scope.get("query_string", b"")
    header_bytes = len(query_string)
    declared_length: bytes | None = None
    for raw_name, raw_value in scope["headers"]:
        header_bytes += len(raw_name) + len(raw_value)
        if raw_name == b"content-length":
            declared_length = raw_value
        name = raw_name.decode("latin-1").lower()
        if name not in _DROPPED_HEADERS:
            values.setdefault(name, []).append(raw_value.decode("latin-1"))
    if header_bytes > limit:
        raise HeadersTooLarge
    body = await _read_body(receive, limit - header_bytes, declared_length)
    headers = {name: ", ".join(parts) for name, parts in values.items()}
    query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return WebhookRequest(method=scope["method"], headers=headers, query=query, body=body)


async def _read_body(receive: Receive, limit: int, declared_length: bytes | None) -> bytes:
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
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
