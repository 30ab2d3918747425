"""What every page of the web app is served with: security headers and form tokens."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any, Final

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "FORM_COOKIE",
    "SECURITY_HEADERS",
    "STATIC_HEADERS",
    "SecurityHeadersMiddleware",
    "new_form_token",
    "safe_next",
    "same_token",
]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
"""No inline script or style, nothing from another host: the pages' only code is ours."""

SECURITY_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
"""Set on every answer of the web app's routes, error pages and redirects included."""

STATIC_HEADERS: Final = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
"""Our CSS and script: never sniffed, revalidated (ETag) so a new release shows at once."""

FORM_COOKIE: Final = "begasist_form"
"""Before signing in there is no session to bind a form to: the sign-in and language
forms carry this cookie's value instead (a double-submit token)."""


class SecurityHeadersMiddleware:
    """Adds *headers* (:data:`SECURITY_HEADERS`) to every response of the routes it wraps."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(sent: Any, expected: str | None) -> bool:
    """Whether a form's token is the expected one (constant time); never for a missing one."""
    if not isinstance(sent, str) or not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def safe_next(target: Any) -> str | None:
    """*target* if it is a path on this site (``/...``, not ``//host`` or ``/\\host``), else None.

    The sign-in page sends people back where they were going; only a relative
    path may be that place, so a link cannot bounce them to another site.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return None
    if target.startswith(("//", "/\\")) or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    return target
