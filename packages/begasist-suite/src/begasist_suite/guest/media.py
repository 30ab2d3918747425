"""``GET /guest/{hotel}/{channel}/media/{key}?e=..&s=..``: a guest's own file, by signed URL.

The suite issues these URLs (:mod:`begasist_suite.guest.signing`) only for
files in the guest's own conversation (with the history) or just uploaded by
them (kept, or still pending: :mod:`begasist_suite.guest.pending`), so the
route needs no session: a URL opens exactly one file of one
hotel's channel until it expires. Every miss (no such hotel or channel, a bad
or expired signature, no such file, a type guests never upload) is the same
404. Only the raster images and PDF guests may upload are ever served, never
SVG or HTML, with the type they were stored with (sniffed at upload), never
sniffed by the browser, sandboxed, and PDF as a download.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

from begasist_core import GUEST_UPLOAD_TYPES, FileMediaStore, MediaNotFound
from begasist_core.models.names import InvalidName, validate_channel_name, validate_hotel_slug
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Stream

from begasist_suite.guest.pending import GuestFiles
from begasist_suite.guest.signing import GuestFileSigner
from begasist_suite.ingress.settings_cache import WebhookSettingsCache

__all__ = ["guest_media"]

_NOT_FOUND: Final = Response(
    content=b"not found",
    status_code=404,
    media_type="text/plain",
    headers={"x-content-type-options": "nosniff", "cache-control": "no-store"},
)


async def _chunks(store: FileMediaStore, hotel: str, key: str) -> AsyncIterator[bytes]:
    async with store.open(hotel, key) as chunks:
        async for chunk in chunks:
            yield chunk


@get("/guest/{hotel:str}/{channel:str}/media/{key:str}", include_in_schema=False, cache=False)
async def guest_media(
    request: Request[Any, Any, Any],
    hotel: FromPath[str],
    channel: FromPath[str],
    key: FromPath[str],
) -> Response[bytes] | Stream:
    """A file a guest may see (module docstring)."""
    signer: GuestFileSigner = request.app.state.guest_file_signer
    expires = request.query_params.get("e", "")
    signature = request.query_params.get("s", "")
    if not signer.check_media_url(hotel, channel, key, expires, signature):
        return _NOT_FOUND
    try:
        validate_hotel_slug(hotel)
        validate_channel_name(channel)
        cache: WebhookSettingsCache = request.app.state.guest_settings
        target = await cache.target(hotel, channel)
    except (InvalidName, ValueError):
        return _NOT_FOUND
    if target.channel_class is None or target.settings is None:
        return _NOT_FOUND
    try:
        # A file just uploaded is still pending until a message names it.
        store, stored = await GuestFiles(request.app.state.services.settings.media_dir).find(
            hotel, key
        )
    except MediaNotFound:
        return _NOT_FOUND
    if stored.mime_type not in GUEST_UPLOAD_TYPES:
        return _NOT_FOUND
    # No file name: the stored one is the first uploader's, who may be another guest
    # (same bytes are stored once); the widget names the download itself.
    disposition = "inline" if stored.mime_type.startswith("image/") else "attachment"
    return Stream(
        _chunks(store, hotel, stored.key),
        headers={
            "content-type": stored.mime_type,
            "content-length": str(stored.size_bytes),
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
            "content-security-policy": "sandbox; default-src 'none'",
            "cross-origin-resource-policy": "same-origin",
            "referrer-policy": "no-referrer",
            "cache-control": "private, max-age=3600",
        },
    )
