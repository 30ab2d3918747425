"""Which browser origins may open the suite's WebSockets: its own and an allow-list.

A browser sends ``Origin`` with every WebSocket handshake and scripts need
not; the session cookie's SameSite=Strict already keeps other sites' pages
from riding a staff session, and checking the origin as well refuses them
even where a browser or proxy gets SameSite wrong.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

from begasist_suite.config import SuiteSettings

__all__ = ["normalise_origin", "origin_allowed"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_BROWSER_SCHEMES = {"ws": "http", "wss": "https"}


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port; None if it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


def origin_allowed(connection: ASGIConnection, settings: SuiteSettings) -> bool:  # type: ignore[type-arg]
    """Whether *connection* may proceed: no ``Origin`` (not a browser), or an allowed one.

    Allowed: the suite's own origin (the scheme and ``Host`` the request came
    with, so it holds behind a proxy that forwards both), ``BEGASIST_PUBLIC_URL``'s,
    and each of ``BEGASIST_LIVE_ALLOWED_ORIGINS``.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    wanted = normalise_origin(origin)
    if wanted is None:
        return False  # "null" (sandboxed frames, file: pages) or garbage
    scheme = connection.scope.get("scheme", "http")
    own = normalise_origin(
        f"{_BROWSER_SCHEMES.get(scheme, scheme)}://{connection.headers.get('host', '')}"
    )
    allowed = {own, *(normalise_origin(extra) for extra in settings.live_allowed_origins)}
    if settings.public_url:
        allowed.add(normalise_origin(settings.public_url))
    return wanted in allowed
