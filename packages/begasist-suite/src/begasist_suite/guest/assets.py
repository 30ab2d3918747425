"""A guest-socket channel's own files (its widget) and public config, served per hotel.

``GET /guest/{hotel}/{channel}/{file}`` answers a file of the channel's
``guest_assets`` directory and ``GET /guest/{hotel}/{channel}/config.json`` its
``guest_config``, only for a hotel where the channel is enabled (404 alike for
every other hotel, as the socket's handshake does). Which pages may use them is
the channel's ``guest_embedders``:

- an HTML file is served with a strict Content-Security-Policy (only this
  suite's own script, style and socket; no inline code) whose
  ``frame-ancestors`` lists those origins, so no other site can frame it;
- ``config.json`` answers a cross-origin request (the widget's script on the
  hotel's page) only from those origins (CORS), 403 from any other, which is
  how the widget learns at once that its page may not open the chat;
- scripts may be loaded from any page (``Cross-Origin-Resource-Policy``): the
  script tag is public, the socket behind it is not.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Final
from urllib.parse import urlsplit

from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import Request, Response, get
from litestar.params import FromPath

from begasist_suite.ingress.settings_cache import VerifyTarget, WebhookSettingsCache
from begasist_suite.services import Services

__all__ = [
    "configured_origin",
    "guest_asset",
    "guest_config",
    "guest_page_policy",
    "own_origin",
    "page_origin",
]

log = logging.getLogger(__name__)

_ASSET_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|html|svg|png)$")
_MEDIA_TYPES: Final = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}
_COMMON: Final = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
_NOT_FOUND: Final = Response(
    content=b"not found", status_code=404, media_type="text/plain", headers=_COMMON
)


def guest_page_policy(embedders: list[str]) -> str:
    """The CSP of a channel's guest page: our code only, framed only by *embedders*."""
    ancestors = " ".join(embedders) if embedders else "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-ancestors {ancestors}; form-action 'none'; "
        "base-uri 'none'; object-src 'none'"
    )


def own_origin(request_url: str, host: str | None, public_url: str | None) -> str:
    """This suite's origin as a browser names it: ``public_url``'s, else the request's
    (good enough to tell a same-origin request, never to trust: the ``Host`` header is the
    client's word, and a DNS-rebinding page sends its own)."""
    configured = configured_origin(public_url)
    if configured is not None:
        return configured
    scheme = urlsplit(request_url).scheme
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host or ''}".lower()


def configured_origin(public_url: str | None) -> str | None:
    """This suite's origin from its configuration (``BEGASIST_PUBLIC_URL``), None without."""
    if not public_url:
        return None
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def page_origin(origin: str | None, public_url: str | None, embedder: str | None) -> str | None:
    """The origin a channel admits: the request's, or its framing page's for our own page.

    A request from this suite's own origin comes from a channel's guest page
    (``guest_assets``), which browsers let only the channel's
    ``guest_embedders`` frame (``frame-ancestors``): there *embedder* (the
    guest page's word) names the hotel page around it. A page of any other
    origin cannot send this suite's origin, so it cannot claim an embedder.

    The suite's own origin is taken from *public_url* only, never from the
    request's ``Host``: a page on a host name the attacker points at this suite
    (DNS rebinding) sends an ``Origin`` equal to ``http://<that Host>`` and would
    claim any embedder. Without *public_url*, *embedder* is never heeded (and a
    warning says so once), so the framed page is refused.
    """
    own = configured_origin(public_url)
    if own is None:
        if embedder is not None:
            _warn_no_public_url()
        return origin
    if origin is not None and origin.lower() == own:
        return embedder
    return origin


@functools.cache
def _warn_no_public_url() -> None:
    log.warning(
        "a guest page framed by another site asked to be admitted for it, which needs "
        "BEGASIST_PUBLIC_URL (this suite's own origin): set it, or the web chat is refused"
    )


async def _target(request: Request[Any, Any, Any], hotel: str, channel: str) -> VerifyTarget:
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
    except (InvalidName, ValueError):
        return VerifyTarget(None, None)
    cache: WebhookSettingsCache = request.app.state.guest_settings
    return await cache.target(hotel, channel)


@get("/guest/{hotel:str}/{channel:str}/config.json", include_in_schema=False, cache=False)
async def guest_config(
    request: Request[Any, Any, Any], hotel: FromPath[str], channel: FromPath[str]
) -> Response[Any]:
    """The channel's public config for its widget (module docstring: who may read it)."""
    target = await _target(request, hotel, channel)
    if target.channel_class is None or target.settings is None:
        return _NOT_FOUND
    embedders = list(target.channel_class.guest_embedders(target.settings))
    origin = request.headers.get("origin")
    services: Services = request.app.state.services
    headers = {**_COMMON, "vary": "Origin"}
    if origin is not None and origin != own_origin(
        str(request.url), request.headers.get("host"), services.settings.public_url
    ):
        if origin not in embedders:
            return Response(
                content={"error": "origin not allowed"}, status_code=403, headers=headers
            )
        headers["access-control-allow-origin"] = origin
    config = dict(target.channel_class.guest_config(target.settings))
    return Response(content=config, status_code=200, headers=headers)


@get("/guest/{hotel:str}/{channel:str}/{name:str}", include_in_schema=False, cache=False)
async def guest_asset(
    request: Request[Any, Any, Any],
    hotel: FromPath[str],
    channel: FromPath[str],
    name: FromPath[str],
) -> Response[bytes]:
    """A file of the channel's ``guest_assets`` (module docstring: the headers it gets)."""
    found = _ASSET_NAME.match(name)
    if found is None:
        return _NOT_FOUND
    target = await _target(request, hotel, channel)
    if target.channel_class is None or target.settings is None:
        return _NOT_FOUND
    assets = target.channel_class.guest_assets
    if assets is None:
        return _NOT_FOUND
    asset = assets / name
    if not asset.is_file():
        return _NOT_FOUND
    suffix = found[1]
    headers = dict(_COMMON)
    if suffix == "html":
        embedders = list(target.channel_class.guest_embedders(target.settings))
        headers["content-security-policy"] = guest_page_policy(embedders)
        headers["referrer-policy"] = "no-referrer"
    else:
        headers["cross-origin-resource-policy"] = "cross-origin"
    return Response(content=asset.read_bytes(), media_type=_MEDIA_TYPES[suffix], headers=headers)
