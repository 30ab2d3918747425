"""The request id: a proxy's well-formed ``X-Request-ID``, or one made here; one per request."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Final

__all__ = [
    "REQUEST_ID_HEADER",
    "RequestContext",
    "bind_request",
    "current_request",
    "release_request",
    "request_id_from",
    "request_log_fields",
]

REQUEST_ID_HEADER: Final = b"x-request-id"

# What proxies send (nginx's $request_id, a UUID, AWS's Root=1-...): no spaces, no
# line breaks, nothing that could forge a log line or a header.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:;=+/-]{1,128}")


@dataclass(slots=True)
class RequestContext:
    """One request's id, and what has been said about it in the log."""

    id: str
    error_logged: bool = False
    """A traceback naming this id is in the log already (no second line needed)."""
    client_gone: bool = False
    """The body stopped before its end: the client left or missed its deadline."""


# The hotel (and channel) an API or webhook path names.
_HOTEL_PATH = re.compile(r"/(?:api/v1/hotels|webhooks)/([a-z0-9-]{1,64})(?:/([a-z0-9_-]{1,64}))?")

_current: ContextVar[RequestContext | None] = ContextVar("begasist_request", default=None)


def request_id_from(incoming: bytes | None) -> str:
    """*incoming* (a proxy's ``X-Request-ID``) when well formed, else a new random id."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming.decode("ascii")
    return secrets.token_hex(16)


def bind_request(context: RequestContext) -> Token[RequestContext | None]:
    """Make *context* the current request's, for this task and what it awaits."""
    return _current.set(context)


def release_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current_request() -> RequestContext | None:
    """The request being served by this task, or None outside one (lifespan, consumer)."""
    return _current.get()


def request_log_fields(path: str, request_id: str) -> dict[str, str]:
    """The log context of a request: its id, and the hotel (and webhook channel) it names."""
    fields = {"request_id": request_id}
    if (named := _HOTEL_PATH.match(path)) is not None and named[1] != "_app":
        fields["hotel"] = named[1]
        if path.startswith("/webhooks/") and named[2] is not None:
            fields["channel"] = named[2]
    return fields
